import { adam, lbfgs, type Objective } from '../../optim/optimisers.js';
import { totalVariation } from '../../optim/regularisers.js';
import type { Attack, AttackOptions, AttackResult } from '../types.js';
import { box as imageBox } from '../labels.js';
import { chainOrNull } from '../../model/chain.js';
import { fail } from '../../core/errors.js';
import {
  activationBox, chainInput, refineUndetermined, type LayerContext, type LayerwiseInput, withRunOptions,
} from './recursion.js';
import { pullBack } from './pullback.js';
import { squaredNorm } from '../../linalg/vec.js';
import { matchingBytes, solveBytes } from '../../core/memory.js';
import { residualBlocks } from './residual.js';

/**
 * COPA, the seed paper's combined per-layer objective (METHOD.md §8). For layer i and its candidate
 * input x, starting from the least-squares estimate:
 *
 *   E_i(x) = ‖W_i x̄ + b_i − z_i‖²/‖z_i − b_i‖²      weight constraints: agree with the layer above
 *          + ‖G_i(δ_i) x̄ − ∂L/∂W_i‖²/‖∂L/∂W_i‖²    gradient constraints
 *          + μ · P_i(x)/P_scale                     pull-back from layer i−1 (pullback.ts)
 *          + τ · TV(x)                              on the image only
 *
 * minimised inside the activation's range with L-BFGS (the default; Adam on request). Layers whose
 * input and everything above are exactly determined keep their least-squares solution.
 */
export interface CopaSettings {
  pullback: number;
  iterations: number;
  lr: number;
  tv: number;
  /**
   * Optimiser for the layers below the output: Adam moves flat (undetermined) directions as far as
   * informative ones; L-BFGS respects scale.
   */
  optimiser: 'adam' | 'lbfgs';
}

export const COPA_DEFAULTS: CopaSettings = {
  pullback: 1, iterations: 4000, lr: 0.01, tv: 1e-2, optimiser: 'lbfgs',
};

export function runCopa(
  method: string, input: LayerwiseInput, options: AttackOptions, s: CopaSettings,
): AttackResult {
  return refineUndetermined(method, input, options, s.iterations, (ctx, _aboveExact, limits) => {
    const f = objective(input, ctx, s, options);
    const box = ctx.layer === 0 ? imageBox(input.net.payload) : activationBox(input, ctx.layer - 1);
    return s.optimiser === 'lbfgs'
      ? lbfgs(f, ctx.estimate, limits, 10, box)
      : adam(f, ctx.estimate, { lr: s.lr, decayAt: [3 / 8, 5 / 8, 7 / 8], box }, limits);
  });
}

function objective(
  input: LayerwiseInput, ctx: LayerContext, s: CopaSettings, options: AttackOptions,
): Objective {
  const sys = ctx.system;
  const sw = squaredNorm(sys.sRhs) || 1, sg = squaredNorm(sys.gradRhs) || 1;
  const shape = [sys.g.inC, sys.g.inH, sys.g.inW] as const;
  const tv = ctx.layer === 0 ? options.tv ?? s.tv : 0;
  const pb = ctx.layer > 0 && s.pullback > 0
    ? pullBack(
      input.net.kernels, input.model, input.params, input.gradients, ctx.layer, ctx.dz, ctx.solve)
    : null;
  // the pull-back residual is measured against the size of the lower layer's right-hand side
  const pbScale = pb
    ? squaredNorm(ctx.estimate.map((v) => input.model.layers[ctx.layer - 1].activation.inverse(v)))
      + squaredNorm(input.gradients[ctx.layer - 1].weight) || 1
    : 1;
  return (x) => {
    const r = residualBlocks(sys, x);
    let value = r.weight.value / sw + r.gradient.value / sg;
    const grad = new Float64Array(x.length);
    for (let k = 0; k < x.length; k++) grad[k] = r.weight.grad[k] / sw + r.gradient.grad[k] / sg;
    if (pb) {
      const p = pb(x);
      value += (s.pullback * p.value) / pbScale;
      for (let k = 0; k < x.length; k++) grad[k] += (s.pullback * p.grad[k]) / pbScale;
    }
    if (tv > 0) {
      const t = totalVariation(x, shape);
      value += tv * t.value;
      for (let k = 0; k < x.length; k++) grad[k] += tv * t.grad[k];
    }
    return { value, grad };
  };
}

export const copa: Attack = {
  name: 'copa',
  description: 'combined per-layer objective: weight and gradient constraints '
    + '+ pull-back from the layer below + TV (L-BFGS)',
  run: (payload, update, options) => {
    const input = chainInput('copa', payload, update, options);
    const relu = input.model.layers.slice(0, -1).find((g) => g.activation.partial);
    if (relu) fail(`copa's pull-back divides by the activation's derivative, which ${relu.activation.name} `
      + `(layer ${relu.index}) makes zero on inactive units; use hybrid`);
    const block = input.model.layers.find((g) => g.block);
    if (block) fail(`copa's pull-back solves one convolution below each layer; layer ${block.index} is a `
      + 'residual block (two paths below it); use hybrid');
    const pooled = input.model.layers.find((g) => g.pool);
    if (pooled) fail(`copa's pull-back takes layer ${pooled.index + 1}'s input as layer ${pooled.index}'s `
      + 'output, which the pooling between them hides; use hybrid');
    return runCopa('copa', input, options, withRunOptions(COPA_DEFAULTS, options));
  },
  // the pull-back solves the layer below on every evaluation: a second set of systems and work
  memory: (model) => {
    const v = chainOrNull(model);
    return v ? [...solveBytes(v.model), ...solveBytes(v.model), matchingBytes(model, 1, 'lbfgs')] : [];
  },
};
