import { activation } from './activation.js';
import { scaleSums } from './knowledge.js';
import type { LayerwiseRule } from './op.js';

/**
 * ReLU is invertible only where it is active: a zero output says no more than that its input was ≤ 0.
 * A known sum of outputs is the sum of the active inputs (the inactive terms are zero whatever the
 * input).
 */
const ACTIVE_SET: LayerwiseRule<unknown> = {
  knownInputs: (_a, { input }, known) => ({
    values: Uint8Array.from(known.values, (k, i) => (k && input[i] > 0 ? 1 : 0)),
    sums: scaleSums(known.sums, (i) => (input[i] > 0 ? 1 : 0), input.length),
  }),
};

export const RELU = activation('relu', ACTIVE_SET);
