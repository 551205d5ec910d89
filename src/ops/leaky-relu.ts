import { activation, type SlopeAttrs } from './activation.js';
import { scaleSums } from './knowledge.js';
import type { LayerwiseRule } from './op.js';

/**
 * Strictly monotonic, so each value gives its input; and linear on either side of zero, so a known sum
 * of outputs is a known sum of inputs weighted by the slope each input's sign selects (the what-if
 * knows the signs).
 */
const PIECEWISE_LINEAR: LayerwiseRule<SlopeAttrs> = {
  knownInputs: (a, { input }, known) => ({
    values: known.values,
    sums: scaleSums(known.sums, (i) => (input[i] >= 0 ? 1 : a.slope), input.length),
  }),
};

export const LEAKY_RELU = activation('leaky_relu', PIECEWISE_LINEAR);
