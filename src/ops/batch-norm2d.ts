import { add, mul, scale } from '../autodiff/prims/arith.js';
import { broadcastTo, reshape, sumTo } from '../autodiff/prims/shape.js';
import { unary } from '../autodiff/prims/unary.js';
import type { Engine, Var } from '../autodiff/engine.js';
import { fail } from '../core/errors.js';
import { describe } from '../model/chain-spec.js';
import { expectRank } from './attrs.js';
import type { Op } from './op.js';

/**
 * Batch normalisation over channels (PyTorch's BatchNorm2d, affine): y = γ·(x − μ)/√(σ² + ε) + β.
 * In eval mode μ, σ² are the running statistics (buffers, no gradient): an affine map per channel.
 * In train mode they are the batch's own over N, H, W (σ² biased, as PyTorch normalises), and the
 * gradient flows through them; which mode the client used is part of what the attacker knows.
 */
export interface BatchNormAttrs { eps: number }

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
    // eval: y = k·x + c per channel, invertible where γ ≠ 0 (folded into the layer before it)
    knownInputs: (_a, { bnMode, inShape, params }, known) => {
      if (bnMode === 'train') {
        return {
          reason: 'batch norm in train mode divides by the batch\'s own statistics, '
            + 'two more unknowns per channel that the layer systems do not model yet '
            + '(audit with --bn-mode eval)',
        };
      }
      const plane = inShape[1] * inShape[2];
      return Uint8Array.from(known, (k, i) => (k && params.weight[Math.floor(i / plane)] !== 0 ? 1 : 0));
    },
  },
};
