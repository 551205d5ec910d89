import { withRidge, type LayerSystem } from '../../solve/system.js';

/**
 * The layer's system with a Gaussian prior on its input, for gradients received with noise of std σ
 * per entry: with the rows' errors taken as N(0, σ²) and the input as N(x̄, s²·I), the most probable
 * input minimises ‖U x − v‖² + (σ²/s²)·‖x − x̄‖², a ridge of λ = σ/s per unknown (Tikhonov). Where
 * the system is well conditioned it changes little; along its weak directions, which amplify the
 * noise by 1/singular value, it pulls towards x̄ instead. x̄ and s² are the mean and variance of the
 * plain least-squares solution: the prior's scale is the layer's own.
 */
export function withNoisePrior(sys: LayerSystem, plain: Float64Array, sigma: number): LayerSystem {
  const n = plain.length;
  const mean = plain.reduce((a, v) => a + v, 0) / n;
  const variance = plain.reduce((a, v) => a + (v - mean) ** 2, 0) / n;
  if (!(variance > 0)) return sys;
  return withRidge(sys, sigma / Math.sqrt(variance), new Float64Array(n).fill(mean));
}
