import type { LayerTensors } from './network.js';
import type { LayerGeometry } from './spec.js';

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
  const positions = last.outH * last.outW;
  if (grads.bias) {
    const db = grads.bias;
    const negatives: number[] = [];
    let argmin = 0;
    for (let o = 0; o < db.length; o++) {
      if (db[o] < 0) negatives.push(o);
      if (db[o] < db[argmin]) argmin = o;
    }
    const label = argmin * positions;
    if (negatives.length !== 1) {
      return {
        label, ambiguous: true,
        reason: `the last layer's bias gradient has ${negatives.length} negative entries, not one`,
      };
    }
    if (positions > 1) {
      return {
        label, ambiguous: true,
        reason: `the last layer is a convolution with ${positions} positions per channel: its bias gradient `
          + `singles out channel ${argmin} but not the position in it`,
      };
    }
    return { label, ambiguous: false };
  }
  if (positions > 1) {
    return {
      label: 0, ambiguous: true,
      reason: `the last layer is a convolution without a bias and with ${positions} positions per channel: `
        + `its gradients single out no class`,
    };
  }
  const classes = last.outC;
  if (classes === 2) {
    return {
      label: 0, ambiguous: true,
      reason: 'with two classes and no bias, the two gradient rows are opposite whichever the label is',
    };
  }
  const inDim = grads.weight.length / classes;
  const row = (j: number) => grads.weight.subarray(j * inDim, (j + 1) * inDim);
  let ref = 0, best = -1;
  for (let j = 0; j < classes; j++) {
    const n = row(j).reduce((s, v) => s + v * v, 0);
    if (n > best) { best = n; ref = j; }
  }
  if (!(best > 0)) return { label: 0, ambiguous: true, reason: "the last layer's weight gradient is zero" };
  const sign = (j: number) => Math.sign(row(j).reduce((s, v, k) => s + v * row(ref)[k], 0));
  const pos: number[] = [], neg: number[] = [];
  for (let j = 0; j < classes; j++) (sign(j) >= 0 ? pos : neg).push(j);
  if (neg.length === 1) return { label: neg[0], ambiguous: false };
  if (pos.length === 1) return { label: pos[0], ambiguous: false };
  return {
    label: ref, ambiguous: true,
    reason: `no single row of the last layer's weight gradient points opposite to the others `
      + `(${pos.length} and ${neg.length})`,
  };
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
