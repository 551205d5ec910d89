import { signRule } from '../labels.js';
import type { LayerTensors } from '../../model/chain-tensors.js';
import type { LayerGeometry } from '../../model/chain-spec.js';

/**
 * Infers the label from the last layer's shared gradients. With cross-entropy, dL/dlogits =
 * softmax − onehot is negative at the label only, and every supported output activation is
 * non-decreasing, so dL/dz keeps that sign. How much of it the shared gradients show depends on the
 * logits' layout in the last layer:
 *  - one bias entry per logit (a linear layer, or a convolution with a 1×1 output): dL/db = dL/dz,
 *    the label is its one negative entry;
 *  - a convolution with P > 1 positions per channel: dL/db[o] sums dL/dz over the channel's
 *    positions and is negative only for the label's channel; the position within it is not shown;
 *  - no bias, one position: each row of dL/dW is dL/dz_j times the same input, so the label's row
 *    points opposite to all others; with two classes the two rows are opposite either way and which
 *    one is the label's depends on the sign of the unknown input;
 *  - no bias, several positions: the rows mix positions and single out nothing.
 */
export interface LabelGuess {
  label: number;
  /** True when the gradients do not single out one class; `reason` says why. */
  ambiguous: boolean;
  reason?: string;
}

export function inferLabel(last: LayerGeometry, grads: LayerTensors): LabelGuess {
  return signRule(grads.bias, grads.weight, last.outC, last.outH * last.outW);
}

export interface AttackLabel {
  label: number;
  inferred: boolean;
  ambiguous: boolean;
}

/** The label an attack uses: the one given, or the inferred one (with a warning if ambiguous). */
export function attackLabel(
  last: LayerGeometry, grads: LayerTensors,
  given: number | undefined, warnings: string[],
): AttackLabel {
  if (given !== undefined) return { label: given, inferred: false, ambiguous: false };
  const guess = inferLabel(last, grads);
  if (guess.ambiguous) {
    warnings.push(`label inference is ambiguous: ${guess.reason}; `
      + `using ${guess.label} (give --label if you know it)`);
  }
  return { label: guess.label, inferred: true, ambiguous: guess.ambiguous };
}
