import type { Attack } from '../types.js';
import { chainOrNull } from '../../model/chain.js';
import { solveBytes } from '../../core/memory.js';
import { chainInput, layerwise, toAttackResult } from './recursion.js';

/**
 * R-GAP-style analytic reconstruction: the layer-wise recursion with nothing but least squares.
 * Its per-layer reports are the audit of the attacked gradients.
 */
export const rgap: Attack = {
  name: 'rgap',
  description: 'analytic layer-wise reconstruction (weight, gradient and padding constraints, least squares)',
  run: (payload, update, options) => {
    const input = chainInput('rgap', payload, update, options);
    return toAttackResult('rgap', layerwise('rgap', input, options), input);
  },
  memory: (model) => { const v = chainOrNull(model); return v ? solveBytes(v.model) : []; },
};
