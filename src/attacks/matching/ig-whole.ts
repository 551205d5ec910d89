import { matchingBytes } from '../../core/memory.js';
import type { Attack } from '../types.js';
import { adamOptimiser, runMatchingAttack } from './run.js';

/**
 * Inverting Gradients with the cosine as its paper writes it (Geiping et al. 2020, Eq. 4): one
 * cosine between the whole gradients, every tensor concatenated, where `ig` sums one cosine per
 * tensor. Neither wins everywhere (docs/DESIGN.md, "ig's cosine"): per tensor weighs a small tensor
 * (a bias, a batch norm's scale) like a large one; whole, the largest tensors dominate.
 */
export const igWhole: Attack = {
  name: 'ig-whole',
  description: 'Inverting Gradients, one cosine over the whole gradient + total variation, Adam',
  run: (payload, update, options) => runMatchingAttack({
    method: 'ig-whole', distance: 'cosine-whole', defaultIterations: 4800, defaultTv: 1e-2,
    optimise: adamOptimiser(0.1),
  }, payload, update, options),
  memory: (model, batch) => [matchingBytes(model, batch, 'adam')],
};
