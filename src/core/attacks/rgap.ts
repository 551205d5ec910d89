import { solveBytes } from '../memory.js';
import { layerwise } from './layerwise.js';
import type { Attack } from './types.js';

/**
 * R-GAP-style analytic reconstruction: the layer-wise recursion with nothing but least squares.
 * Its per-layer reports are the audit of the attacked gradients.
 */
export const rgap: Attack = {
  name: 'rgap',
  description: 'analytic layer-wise reconstruction (weight, gradient and padding constraints, least squares)',
  run: (input, options) => layerwise('rgap', input, options),
  memory: (model) => solveBytes(model),
};
