import { withRidge, type LayerSystem } from '../../solve/system.js';
import type { LayerwiseInput } from './recursion.js';

/**
 * The layer's system with a Gaussian prior on its input, for gradients received with noise of std σ
 * per entry: with the rows' errors taken as N(0, σ²) and the input as N(x̄, s²·I), the most probable
 * input minimises ‖U x − v‖² + (σ²/s²)·‖x − x̄‖², a ridge of λ = σ/s per unknown (Tikhonov). Where
 * the system is well conditioned it changes little; along its weak directions, which amplify the
 * noise by 1/singular value, it pulls towards x̄ instead.
 */
export function withNoisePrior(sys: LayerSystem, prior: Moments, sigma: number): LayerSystem {
  if (!(prior.variance > 0)) return sys;
  return withRidge(sys, sigma / Math.sqrt(prior.variance), new Float64Array(sys.n).fill(prior.mean));
}

export interface Moments { mean: number; variance: number }

/**
 * The prior's mean and variance for layer i's input: those of a uniform value over the range the
 * input is known to lie in (the image's pixel range for the first layer, the activation's range of
 * the layer below for the others); where that range is unbounded (ReLU, identity), the moments of
 * the plain least-squares solution.
 */
export function priorMoments(input: LayerwiseInput, i: number, plain: Float64Array): Moments {
  const { scale, offset } = input.net.payload.normalisation;
  const [lo, hi] = i === 0
    ? [Math.min(offset, offset + scale), Math.max(offset, offset + scale)]
    : input.model.layers[i - 1].activation.range;
  if (Number.isFinite(lo) && Number.isFinite(hi)) {
    return { mean: (lo + hi) / 2, variance: (hi - lo) ** 2 / 12 };
  }
  const mean = plain.reduce((a, v) => a + v, 0) / plain.length;
  return { mean, variance: plain.reduce((a, v) => a + (v - mean) ** 2, 0) / plain.length };
}
