import type { ClientBatch, ClientOutput } from './types.js';

/** Arithmetic on an update's tensors taken together as one vector (as clipping and noise see it). */
export type Tensors = Map<string, Float64Array>;

/**
 * ‖m‖ with the squares summed by Neumaier's compensated summation: a plain sum of n squares drifts
 * by up to n ulps (3e-14 on 6,000 equal entries, measured), and clipping divides by this norm.
 */
export function l2Norm(m: ReadonlyMap<string, Float64Array>): number {
  let s = 0, c = 0;
  for (const v of m.values()) {
    for (let k = 0; k < v.length; k++) {
      const x = v[k] * v[k], t = s + x;
      c += Math.abs(s) >= x ? (s - t) + x : (x - t) + s;
      s = t;
    }
  }
  return Math.sqrt(s + c);
}

/** A new map with every value multiplied by `s`. */
export function scaled(m: Tensors, s: number): Tensors {
  return new Map([...m].map(([k, v]) => [k, v.map((x) => x * s)]));
}

/** A new map with every value divided by `d` (the batch mean of a sum). */
export function divided(m: Tensors, d: number): Tensors {
  return new Map([...m].map(([k, v]) => [k, v.map((x) => x / d)]));
}

/** Adds `m` into `acc`, tensor by tensor. */
export function addInto(acc: Tensors, m: Tensors): void {
  for (const [k, v] of acc) {
    const w = m.get(k)!;
    for (let i = 0; i < v.length; i++) v[i] += w[i];
  }
}

export function copyTensors(m: Tensors): Tensors {
  return new Map([...m].map(([k, v]) => [k, v.slice()]));
}

/** Images `from`..`from + count − 1` of a batch, with their labels. */
export function batchSlice(b: ClientBatch, from: number, count: number): ClientBatch {
  const [, c, h, w] = b.images.shape;
  const n = c * h * w;
  return {
    images: { shape: [count, c, h, w], data: b.images.data.subarray(from * n, (from + count) * n) },
    labels: b.labels.slice(from, from + count),
  };
}

/** The outputs of several calls of one step (every example, every client) summed; their mean loss. */
export function sumOutputs(outputs: readonly ClientOutput[]): ClientOutput {
  const tensors = copyTensors(outputs[0].tensors);
  for (const o of outputs.slice(1)) addInto(tensors, o.tensors);
  return { tensors, form: outputs[0].form, loss: outputs.reduce((s, o) => s + o.loss, 0) / outputs.length };
}
