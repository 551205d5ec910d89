import { matchingBytes } from '../../core/memory.js';
import type { Attack } from '../types.js';
import { lbfgsOptimiser, runMatchingAttack } from './run.js';

/** Deep Leakage from Gradients (Zhu et al. 2019): squared L2 distance between gradients, L-BFGS. */
export const dlg: Attack = {
  name: 'dlg',
  description: 'Deep Leakage from Gradients: L2 gradient distance, L-BFGS',
  run: (payload, update, options) => runMatchingAttack({
    method: 'dlg', distance: 'l2', defaultIterations: 300, defaultTv: 0, optimise: lbfgsOptimiser,
  }, payload, update, options),
  memory: (model, batch) => [matchingBytes(model, batch, 'lbfgs')],
};
