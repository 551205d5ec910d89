import { activation } from './activation.js';
import type { LayerwiseRule } from './op.js';

/** ReLU is invertible only where it is active: a zero output says no more than that its input was ≤ 0. */
const ACTIVE_SET: LayerwiseRule<unknown> = {
  knownInputs: (_a, { input }, known) => Uint8Array.from(known, (k, i) => (k && input[i] > 0 ? 1 : 0)),
};

export const RELU = activation('relu', ACTIVE_SET);
