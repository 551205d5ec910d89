import { add, mul, scale } from '../autodiff/prims/arith.js';
import { broadcastTo, reshape, sumTo } from '../autodiff/prims/shape.js';
import { unary } from '../autodiff/prims/unary.js';
import type { Engine, Var } from '../autodiff/engine.js';
import { fail } from '../core/errors.js';
import { describe } from '../model/chain-spec.js';
import { expectRank } from './attrs.js';
import type { Op } from './op.js';
import { scaleSums, sumsOf, type Knowledge } from './knowledge.js';
import type { Shape } from '../tensor/tensor.js';

/**
 * Batch normalisation over channels (PyTorch's BatchNorm2d, affine): y = γ·(x − μ)/√(σ² + ε) + β.
 * In eval mode μ, σ² are the running statistics (buffers, no gradient): an affine map per channel.
 * In train mode they are the batch's own over N, H, W (σ² biased, as PyTorch normalises), and the
 * gradient flows through them; which mode the client used is part of what the attacker knows.
 * Its layer-wise rule: eval is one to one per channel (γ ≠ 0); train eliminates the statistics.
 */
export interface BatchNormAttrs { eps: number }

/**
 * Eval batch norm as the per-channel affine map y = k·x + shift, k = γ/√(σ² + ε) and shift = β − μ·k
 * from the running statistics; `get` reads the node's tensors by suffix. The layer-wise analyses fold
 * it with this (the forward pass builds the same map from primitives, for its derivatives).
 */
export function evalAffine(
  get: (suffix: string) => Float64Array, eps: number,
): { k: Float64Array; shift: Float64Array } {
  const variance = get('running_var'), mean = get('running_mean');
  const k = get('weight').map((g, c) => g / Math.sqrt(variance[c] + eps));
  return { k, shift: get('bias').map((b, c) => b - mean[c] * k[c]) };
}

/** v [C] as [N, C, H, W]. */
const perChannel = (e: Engine, v: Var, shape: readonly number[]) =>
  broadcastTo(e, reshape(e, v, [1, shape[1], 1, 1]), shape);

export const BATCH_NORM2D: Op<BatchNormAttrs> = {
  name: 'batch_norm2d',
  arity: 1,
  fields: ['eps'],
  attrs: (raw, where) => {
    const eps = raw.eps ?? 1e-5;
    if (typeof eps !== 'number' || !(eps > 0 && eps <= 1)) fail(where(
      `"eps" must be a number in (0, 1], got ${describe(eps)}`));
    return { eps };
  },
  shape: (_a, [x], where) => {
    expectRank(x, 3, 'an image [C, H, W]', where);
    return x;
  },
  params: (_a, [x]) => [
    { suffix: 'weight', shape: [x[0]], trainable: true, init: () => 1 },
    { suffix: 'bias', shape: [x[0]], trainable: true, init: () => 0 },
    { suffix: 'running_mean', shape: [x[0]], trainable: false, init: () => 0 },
    { suffix: 'running_var', shape: [x[0]], trainable: false, init: () => 1 },
  ],
  apply: ({ e, bnMode }, [x], p, a) => {
    const s = x.shape;
    const eps = e.constant({ shape: [s[1]], data: new Float64Array(s[1]).fill(a.eps) });
    if (bnMode === 'eval') {
      // a per-channel affine map: x·k + (β − μ·k) with k = γ/√(σ² + ε)
      const k = mul(e, p.weight, unary(e, add(e, p.running_var, eps), 'rsqrt'));
      const shift = add(e, p.bias, scale(e, mul(e, p.running_mean, k), -1));
      return add(e, mul(e, x, perChannel(e, k, s)), perChannel(e, shift, s));
    }
    const count = s[0] * s[2] * s[3];
    const mean = scale(e, reshape(e, sumTo(e, x, [1, s[1], 1, 1]), [s[1]]), 1 / count);
    const centred = add(e, x, scale(e, perChannel(e, mean, s), -1));
    const variance = scale(
      e, reshape(e, sumTo(e, mul(e, centred, centred), [1, s[1], 1, 1]), [s[1]]), 1 / count);
    const k = mul(e, p.weight, unary(e, add(e, variance, eps), 'rsqrt'));
    return add(e, mul(e, centred, perChannel(e, k, s)), perChannel(e, p.bias, s));
  },
  layerwise: {
    knownInputs: (a, { bnMode, inShape, input, params }, known) => {
      const plane = inShape[1] * inShape[2];
      const channel = (i: number) => Math.floor(i / plane);
      if (bnMode === 'eval') {
        // y = k·x + c per channel: one to one where γ ≠ 0 (folded into the layer before it)
        const { k } = evalAffine((s) => params[s], a.eps);
        return {
          values: Uint8Array.from(known.values, (v, i) => (v && k[channel(i)] !== 0 ? 1 : 0)),
          sums: scaleSums(known.sums, (i) => k[channel(i)], input.length),
        };
      }
      return {
        values: new Uint8Array(input.length), sums: statisticsEliminated(known, inShape, input),
        deltaUpToScale: true,
      };
    },
  },
};

/**
 * Train mode: y = γ·(x − μ)/σ + β with μ, σ the sample's own (one image, batch 1 in the what-if), so a
 * known y gives x only up to x = σ·x̂ + μ with two unknowns per channel. Any c with Σ c = 0 and
 * Σ c·x̂ = 0 over a channel's known positions eliminates them: Σ c·x is known (zero). Consecutive
 * triples of known positions give such rows, c = (x̂₂ − x̂₃, x̂₃ − x̂₁, x̂₁ − x̂₂) (orthogonal to (1,1,1)
 * and x̂; x may stand for x̂, which is affine in it): K − 2 independent rows for K known positions, all
 * that the values say linearly. Sums known above are dropped (they mix in σ).
 */
function statisticsEliminated(known: Knowledge, [c, h, w]: Shape, x: Float64Array): Knowledge['sums'] {
  const plane = h * w;
  const rows: [number, number][][] = [];
  for (let ch = 0; ch < c; ch++) {
    const at: number[] = [];
    for (let p = 0; p < plane; p++) if (known.values[ch * plane + p]) at.push(ch * plane + p);
    for (let t = 0; t + 2 < at.length; t++) {
      const [i, j, k] = [at[t], at[t + 1], at[t + 2]];
      rows.push([[i, x[j] - x[k]], [j, x[k] - x[i]], [k, x[i] - x[j]]]);
    }
  }
  return sumsOf(rows, x.length);
}
