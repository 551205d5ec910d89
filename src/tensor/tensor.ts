import { fail } from '../core/errors.js';

/**
 * A dense float64 tensor, row-major, batch first: images [N, C, H, W], features [N, F], scalars [1].
 * Values are never changed in place once a tensor is handed on; operations make new ones.
 */
export type Shape = readonly number[];

export interface Tensor {
  readonly shape: Shape;
  readonly data: Float64Array;
}

export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export const sameShape = (a: Shape, b: Shape): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

export const formatShape = (s: Shape): string => `[${s.join(', ')}]`;

export function tensor(shape: Shape, data?: Float64Array): Tensor {
  const n = sizeOf(shape);
  if (data && data.length !== n) fail(
    `a tensor of shape ${formatShape(shape)} needs ${n} values, got ${data.length}`);
  return { shape: [...shape], data: data ?? new Float64Array(n) };
}

export const scalar = (v: number): Tensor => ({ shape: [1], data: Float64Array.of(v) });

/** The shape without its leading batch dimension. */
export const sampleShape = (s: Shape): Shape => s.slice(1);
