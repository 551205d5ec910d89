import { adam } from '../optim.js';
import { matchingBytes } from '../memory.js';
import { runMatchingAttack } from './matching-attack.js';
import type { Attack } from './types.js';

/**
 * Inverting Gradients (Geiping et al. 2020): minimise Σ over parameter tensors of
 * 1 − cos(candidate's gradient, shared gradient) + tv·TV(x) with Adam, the step size divided by 10
 * at 3/8, 5/8 and 7/8 of the run, the image kept inside its valid range.
 */
export const ig: Attack = {
  name: 'ig',
  description: 'Inverting Gradients: 1 − cosine per tensor + total variation, Adam',
  run: (input, options) => runMatchingAttack({
    method: 'ig', distance: 'cosine', defaultIterations: 4800, defaultTv: 1e-2,
    optimise: (f, x0, limits, o) => adam(f, x0, { lr: o.lr ?? 0.1, decayAt: [3 / 8, 5 / 8, 7 / 8], box: o.box ?? [-0.5, 0.5] }, limits),
  }, input, options),
  memory: (model) => [matchingBytes(model, 0, 'adam')],
};
