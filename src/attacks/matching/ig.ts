import { matchingBytes } from '../../core/memory.js';
import type { Attack } from '../types.js';
import { adamOptimiser, runMatchingAttack } from './run.js';

/**
 * Inverting Gradients (Geiping et al. 2020): minimise Σ over parameter tensors of
 * 1 − cos(candidate's gradient, shared gradient) + tv·TV(x) with Adam, the step size divided by 10
 * at 3/8, 5/8 and 7/8 of the run, the images kept inside their valid range.
 */
export const ig: Attack = {
  name: 'ig',
  description: 'Inverting Gradients: 1 − cosine per tensor + total variation, Adam',
  run: (payload, update, options) => runMatchingAttack({
    method: 'ig', distance: 'cosine', defaultIterations: 4800, defaultTv: 1e-2, optimise: adamOptimiser(0.1),
  }, payload, update, options),
  memory: (model, batch) => [matchingBytes(model, batch, 'adam')],
};
