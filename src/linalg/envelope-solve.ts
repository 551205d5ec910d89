import type { Envelope } from './envelope.js';

/**
 * solveEnvelope (the reference, linalg/envelope.ts) with more work in flight, the same bits.
 *
 * The forward sweep's sums are chains of dependent subtractions, so a row waits on the latency of
 * each one. Here four rows run their chains side by side: row i's sum needs the new x_k only for
 * k ≥ i0 (the block's own rows), which are its last terms, so the terms before the block are summed
 * together and the block's rows are finished in order. The backward sweep applies two rows' updates
 * in one pass over the entries they share, row i before row i − 1 as in the reference. Every value
 * gets the reference's operations in the reference's order (tested).
 */
export function solveEnvelopeFast(l: Envelope, b: Float64Array): void {
  forward(l, b);
  backward(l, b);
}

function forward(l: Envelope, b: Float64Array): void {
  const { n, first, ptr, data } = l;
  let i0 = 0;
  for (; i0 + 4 <= n; i0 += 4) {
    const f0 = first[i0], f1 = first[i0 + 1], f2 = first[i0 + 2], f3 = first[i0 + 3];
    const r0 = ptr[i0] - f0, r1 = ptr[i0 + 1] - f1, r2 = ptr[i0 + 2] - f2, r3 = ptr[i0 + 3] - f3;
    // the terms before the block: each row alone up to k0, then all four together
    const k0 = Math.min(i0, Math.max(f0, f1, f2, f3));
    let s0 = b[i0], s1 = b[i0 + 1], s2 = b[i0 + 2], s3 = b[i0 + 3];
    for (let k = f0; k < k0; k++) s0 -= data[r0 + k] * b[k];
    for (let k = f1; k < k0; k++) s1 -= data[r1 + k] * b[k];
    for (let k = f2; k < k0; k++) s2 -= data[r2 + k] * b[k];
    for (let k = f3; k < k0; k++) s3 -= data[r3 + k] * b[k];
    for (let k = k0; k < i0; k++) {
      const bk = b[k];
      s0 -= data[r0 + k] * bk;
      s1 -= data[r1 + k] * bk;
      s2 -= data[r2 + k] * bk;
      s3 -= data[r3 + k] * bk;
    }
    // the block's own terms, rows in order (k from max(first, i0): a row may start inside the block)
    const x0 = (b[i0] = s0 / data[r0 + i0]);
    if (f1 <= i0) s1 -= data[r1 + i0] * x0;
    const x1 = (b[i0 + 1] = s1 / data[r1 + i0 + 1]);
    if (f2 <= i0) s2 -= data[r2 + i0] * x0;
    if (f2 <= i0 + 1) s2 -= data[r2 + i0 + 1] * x1;
    const x2 = (b[i0 + 2] = s2 / data[r2 + i0 + 2]);
    if (f3 <= i0) s3 -= data[r3 + i0] * x0;
    if (f3 <= i0 + 1) s3 -= data[r3 + i0 + 1] * x1;
    if (f3 <= i0 + 2) s3 -= data[r3 + i0 + 2] * x2;
    b[i0 + 3] = s3 / data[r3 + i0 + 3];
  }
  for (let i = i0; i < n; i++) {
    const fi = first[i], bi = ptr[i] - fi;
    let s = b[i];
    for (let k = fi; k < i; k++) s -= data[bi + k] * b[k];
    b[i] = s / data[bi + i];
  }
}

function backward(l: Envelope, b: Float64Array): void {
  const { first, ptr, data } = l;
  let i = l.n - 1;
  for (; i >= 1; i -= 2) {
    const fa = first[i], ra = ptr[i] - fa, fb = first[i - 1], rb = ptr[i - 1] - fb;
    const xa = (b[i] /= data[ra + i]);
    if (xa !== 0 && fa <= i - 1) b[i - 1] -= data[ra + i - 1] * xa;
    const xb = (b[i - 1] /= data[rb + i - 1]);
    if (xa === 0 || xb === 0) {
      // a zero skips its row's updates (the reference's `continue`): one row at a time
      if (xa !== 0) for (let k = fa; k < i - 1; k++) b[k] -= data[ra + k] * xa;
      if (xb !== 0) for (let k = fb; k < i - 1; k++) b[k] -= data[rb + k] * xb;
      continue;
    }
    // row i alone below row i − 1's envelope, or row i − 1 alone below row i's; then both
    const k0 = Math.min(i - 1, Math.max(fa, fb));
    for (let k = fa; k < k0; k++) b[k] -= data[ra + k] * xa;
    for (let k = fb; k < k0; k++) b[k] -= data[rb + k] * xb;
    for (let k = k0; k < i - 1; k++) b[k] = b[k] - data[ra + k] * xa - data[rb + k] * xb;
  }
  if (i === 0) b[0] /= data[ptr[0] - first[0]];
}
