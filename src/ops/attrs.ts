import { fail } from '../core/errors.js';
import { describe } from '../model/chain-spec.js';
import { MAX_FEATURES, MAX_WINDOW } from '../core/limits.js';
import type { Shape } from '../tensor/tensor.js';

/** Shared attribute readers for the ops: bounded integers and (h, w) pairs. */

export type Where = (s: string) => string;

export function int(
  raw: Readonly<Record<string, unknown>>, field: string, where: Where, lo: number, hi: number,
  fallback?: number,
): number {
  // only a missing field takes the fallback; null is a wrong value, not an absent one
  const v = raw[field] === undefined ? fallback : raw[field];
  if (v === undefined) fail(where(`"${field}" is required`));
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) fail(where(
    `"${field}" must be an integer from ${lo} to ${hi}, got ${describe(v)}`));
  return v;
}

/** An integer or [h, w] pair of integers, as PyTorch's kernel_size, stride and padding. */
export function pair(
  raw: Readonly<Record<string, unknown>>, field: string, where: Where, lo: number,
  fallback?: readonly [number, number],
): [number, number] {
  const v = raw[field];
  if (v === undefined) {
    if (!fallback) fail(where(`"${field}" is required`));
    return [...fallback];
  }
  const ok = (x: unknown): x is number =>
    typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= MAX_WINDOW;
  if (ok(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
  fail(where(`"${field}" must be an integer from ${lo} to ${MAX_WINDOW}, `
    + `or a pair [h, w] of them, got ${describe(v)}`));
}

export function bool(
  raw: Readonly<Record<string, unknown>>, field: string, where: Where, fallback: boolean,
): boolean {
  const v = raw[field] === undefined ? fallback : raw[field];
  if (typeof v !== 'boolean') fail(where(`"${field}" must be true or false, got ${describe(v)}`));
  return v;
}

export function features(raw: Readonly<Record<string, unknown>>, where: Where): number {
  return int(raw, 'out', where, 1, MAX_FEATURES);
}

/** Per-sample input shapes an op accepts. */
export function expectRank(s: Shape, rank: number, what: string, where: Where): void {
  if (s.length !== rank) fail(where(
    `expects ${what} (rank ${rank}), got an input of shape [${s.join(', ')}]`));
}

/** Output size of a window sliding over `size` (PyTorch's floor mode). */
export function slide(
  size: number, k: number, s: number, p: number, where: Where, axis: string,
): number {
  if (k > size + 2 * p) fail(where(
    `the ${axis} window ${k} is larger than its padded input ${size + 2 * p}`));
  return Math.floor((size + 2 * p - k) / s) + 1;
}

/** PyTorch's default initialisation of conv and linear tensors: uniform in ±1/√fan_in. */
export function uniformInit(fanIn: number): (u: () => number) => number {
  const bound = 1 / Math.sqrt(fanIn);
  return (u) => u() * bound;
}
