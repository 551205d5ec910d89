import { lbfgs } from '../optim.js';
import { matchingBytes } from '../memory.js';
import { runMatchingAttack } from './matching-attack.js';
import type { Attack } from './types.js';

/** Deep Leakage from Gradients (Zhu et al. 2019): squared L2 distance between gradients, L-BFGS. */
export const dlg: Attack = {
  name: 'dlg',
  description: 'Deep Leakage from Gradients: L2 gradient distance, L-BFGS',
  run: (input, options) => runMatchingAttack({
    method: 'dlg', distance: 'l2', defaultIterations: 300, defaultTv: 0,
    optimise: (f, x0, limits) => lbfgs(f, x0, limits),
  }, input, options),
  memory: (model) => [matchingBytes(model, 0, 'lbfgs')],
};
