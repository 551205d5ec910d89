import { Engine } from '../autodiff/engine.js';
import { softmax } from '../autodiff/prims/softmax.js';
import { Rng } from '../core/rng.js';
import type { Kernels } from '../kernels/kernels.js';
import { paramVars } from '../model/gradients.js';
import { forwardGraph, type Graph, type GraphNode } from '../model/graph.js';
import type { GradientUpdate, ServerPayload } from '../threat/payload.js';

/**
 * Labels from the last layer's shared gradients (docs/METHOD.md §2). With cross-entropy over a batch
 * of B, the logits' gradient is p − onehot averaged over the batch. Where each logit has its own
 * bias entry, ∂L/∂b = p̄ − c/B with c the count of each class in the batch, so
 * c = B·(p̄ − ∂L/∂b). The attacker does not know p̄, the batch's mean softmax, but knows the model:
 * it estimates p̄ as the mean softmax over random inputs in the image range, then rounds the counts
 * to whole numbers summing to B (largest remainders). At batch 1 the sign rule is exact: the label
 * is the one negative entry. Without a bias, the same holds for the rows of ∂L/∂W summed over their
 * inputs, scaled by the mean sum of the last layer's inputs (also estimated from random inputs): an
 * approximation.
 */
export interface LabelRecovery {
  /** The recovered labels, sorted (which image has which is not known). */
  labels: number[];
  /** How many images of each class. */
  counts: number[];
  /** The evidence does not single out one answer; `reason` says why. */
  ambiguous: boolean;
  reason?: string;
}

/** The node whose parameters give the logits: the output, through identity-like nodes. */
export function logitsLayer(
  g: Graph,
): { node: GraphNode; positions: number; monotone: string | null } | null {
  let node = g.nodes[g.output];
  let monotone: string | null = null;
  for (;;) {
    const op = node.op.name;
    if (op === 'linear' || op === 'conv2d') break;
    if (node.inputs.length !== 1 || node.inputs[0] < 0) return null;
    if (['tanh', 'sigmoid', 'softplus', 'leaky_relu', 'relu'].includes(op)) monotone ??= op;
    else if (!['identity', 'dropout', 'flatten'].includes(op)) return null;
    node = g.nodes[node.inputs[0]];
  }
  const positions = node.op.name === 'conv2d' ? node.shape[1] * node.shape[2] : 1;
  return { node, positions, monotone };
}

/**
 * Estimates of the batch's mean softmax and the mean sum of the last layer's inputs, from random
 * inputs.
 */
function estimates(
  kernels: Kernels, payload: ServerPayload, batch: number, seed: number,
): { pbar: Float64Array; inputSum: number } {
  const g = payload.model;
  const e = new Engine(kernels);
  const vars = paramVars(e, g, payload.params, false);
  const last = logitsLayer(g)!.node;
  const [lo, hi] = box(payload);
  const rng = new Rng(seed);
  const pbar = new Float64Array(g.classes);
  let inputSum = 0, samples = 0;
  const rounds = Math.max(1, Math.ceil(64 / batch));
  for (let r = 0; r < rounds; r++) {
    const n = batch * g.input.reduce((a, b) => a * b, 1);
    const x = e.constant({
      shape: [batch, ...g.input],
      data: Float64Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform()),
    });
    const values = forwardGraph({ e, bnMode: payload.bnMode }, g, vars, { x });
    const p = softmax(e, values[g.output]).data;
    for (let i = 0; i < p.length; i++) pbar[i % g.classes] += p[i];
    const input = last.inputs[0] < 0 ? x : values[last.inputs[0]];
    for (const v of input.data) inputSum += v;
    samples += batch;
  }
  for (let j = 0; j < g.classes; j++) pbar[j] /= samples;
  return { pbar, inputSum: inputSum / samples };
}

/** The range of input values the normalisation allows. */
export function box(p: ServerPayload): [number, number] {
  const { scale, offset } = p.normalisation;
  return [Math.min(offset, scale + offset), Math.max(offset, scale + offset)];
}

/** Whole counts summing to `total`, nearest to the estimates (largest remainders, none negative). */
export function roundCounts(estimate: ArrayLike<number>, total: number): number[] {
  const clipped = Array.from(estimate, (v) => Math.max(0, v));
  const sum = clipped.reduce((a, b) => a + b, 0) || 1;
  const scaled = clipped.map((v) => (v * total) / sum);
  const counts = scaled.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const order = scaled.map((v, j) => [v - Math.floor(v), j] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, j] of order) {
    if (left-- <= 0) break;
    counts[j]++;
  }
  return counts;
}

/** The labels a batch with these class counts holds, sorted. */
export const labelsOf = (counts: number[]) => counts.flatMap((c, j) => new Array<number>(c).fill(j));

export function recoverLabels(
  kernels: Kernels, payload: ServerPayload, update: GradientUpdate, seed = 0,
): LabelRecovery {
  const g = payload.model;
  const B = update.batch;
  const layer = logitsLayer(g);
  const none = (reason: string): LabelRecovery => {
    const counts = new Array<number>(g.classes).fill(0);
    counts[0] = B;
    return { labels: labelsOf(counts), counts, ambiguous: true, reason };
  };
  if (!layer) return none('the logits do not come from a linear or convolutional layer');
  if (layer.positions > 1 && B > 1) return none(
    `the last layer is a convolution with ${layer.positions} positions per channel`);
  const db = update.gradients.get(`${layer.node.name}.bias`);
  const dW = update.gradients.get(`${layer.node.name}.weight`)!;
  const K = db ? db.length : g.classes;
  if (B === 1) {
    const guess = signRule(db ?? null, dW, K, layer.positions);
    const counts = new Array<number>(g.classes).fill(0);
    counts[guess.label] = 1;
    return {
      labels: [guess.label], counts, ambiguous: guess.ambiguous,
      ...(guess.reason ? { reason: guess.reason } : {}),
    };
  }
  const est = estimates(kernels, payload, B, seed);
  let raw: number[];
  const notes: string[] = [];
  if (db) {
    raw = Array.from(db, (v, j) => B * (est.pbar[j] - v));
  } else {
    if (!(Math.abs(est.inputSum) > 1e-12)) return none(
      'no bias, and the last layer\'s inputs sum to about zero: the weight rows carry no count');
    const inDim = dW.length / K;
    raw = Array.from({ length: K }, (_, j) => {
      let r = 0;
      for (let k = 0; k < inDim; k++) r += dW[j * inDim + k];
      return B * (est.pbar[j] - r / est.inputSum);
    });
    notes.push('no bias: counts from the weight rows, with the last layer\'s input sums estimated');
  }
  if (layer.monotone) notes.push(`the logits pass through ${layer.monotone}, which scales their gradient`);
  const counts = roundCounts(raw, B);
  // a count estimated more than a quarter away from a whole number is close to a coin toss
  const doubtful = raw.some((v) => Math.abs(v - Math.round(v)) > 0.25);
  if (doubtful) notes.push('some counts fall between two whole numbers');
  return {
    labels: labelsOf(counts), counts, ambiguous: notes.length > 0,
    ...(notes.length ? { reason: notes.join('; ') } : {}),
  };
}

/**
 * Batch of one: the label is the one negative bias entry, or the one weight row opposite to the
 * others.
 */
export function signRule(
  db: Float64Array | null, dW: Float64Array, classes: number, positions: number,
): { label: number; ambiguous: boolean; reason?: string } {
  if (db) {
    const negatives: number[] = [];
    let argmin = 0;
    for (let o = 0; o < db.length; o++) {
      if (db[o] < 0) negatives.push(o);
      if (db[o] < db[argmin]) argmin = o;
    }
    const label = argmin * positions;
    if (negatives.length !== 1) return {
      label, ambiguous: true,
      reason: `the last layer's bias gradient has ${negatives.length} negative entries, not one`,
    };
    if (positions > 1) {
      return {
        label, ambiguous: true,
        reason: `the last layer is a convolution with ${positions} positions per channel: `
          + `its bias gradient singles out channel ${argmin} but not the position in it`,
      };
    }
    return { label, ambiguous: false };
  }
  if (positions > 1) return {
    label: 0, ambiguous: true,
    reason: `the last layer is a convolution without a bias and with ${positions} positions per channel: `
      + 'its gradients single out no class',
  };
  if (classes === 2) return {
    label: 0, ambiguous: true,
    reason: 'with two classes and no bias, the two gradient rows are opposite whichever the label is',
  };
  const inDim = dW.length / classes;
  const row = (j: number) => dW.subarray(j * inDim, (j + 1) * inDim);
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
    reason: 'no single row of the last layer\'s weight gradient points opposite to the others '
      + `(${pos.length} and ${neg.length})`,
  };
}
