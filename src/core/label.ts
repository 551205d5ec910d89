import type { LayerTensors } from './network.js';

/**
 * Infers the label from the last layer's shared gradients. With cross-entropy, dL/dlogits =
 * softmax − onehot is negative at the label only, and every supported output activation is
 * increasing, so dL/dz keeps that sign: the label is the one negative entry of dL/db, or, without a
 * bias, the one row of dL/dW whose direction is opposite to the others.
 */
export interface LabelGuess {
  label: number;
  /** True when exactly one entry/row stood out, as the theory says it must. */
  unambiguous: boolean;
}

export function inferLabel(last: LayerTensors, classes: number): LabelGuess {
  if (last.bias) {
    const negatives: number[] = [];
    let argmin = 0;
    for (let j = 0; j < classes; j++) {
      if (last.bias[j] < 0) negatives.push(j);
      if (last.bias[j] < last.bias[argmin]) argmin = j;
    }
    return { label: argmin, unambiguous: negatives.length === 1 };
  }
  const inDim = last.weight.length / classes;
  const row = (j: number) => last.weight.subarray(j * inDim, (j + 1) * inDim);
  let ref = 0, best = -1;
  for (let j = 0; j < classes; j++) {
    const n = row(j).reduce((s, v) => s + v * v, 0);
    if (n > best) { best = n; ref = j; }
  }
  const sign = (j: number) => Math.sign(row(j).reduce((s, v, k) => s + v * row(ref)[k], 0));
  const pos: number[] = [], neg: number[] = [];
  for (let j = 0; j < classes; j++) (sign(j) >= 0 ? pos : neg).push(j);
  if (neg.length === 1) return { label: neg[0], unambiguous: true };
  if (pos.length === 1) return { label: pos[0], unambiguous: true };
  return { label: ref, unambiguous: false };
}

/** The label an attack uses: the one given, or the inferred one (with a warning if ambiguous). */
export function attackLabel(last: LayerTensors, classes: number, given: number | undefined, warnings: string[]): { label: number; inferred: boolean } {
  if (given !== undefined) return { label: given, inferred: false };
  const guess = inferLabel(last, classes);
  if (!guess.unambiguous) warnings.push("label inference was ambiguous: the last layer's gradients do not have one negative entry");
  return { label: guess.label, inferred: true };
}
