/**
 * Small dense kernels on row-major Float64Arrays. The matrices here are the Schur complements of
 * the gradient constraints (a few hundred rows), never the full layer systems.
 */

/** Cholesky of a symmetric positive definite n×n matrix, in place (lower triangle). Throws if not PD. */
export function cholesky(a: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= a[j * n + k] ** 2;
    if (!(d > 0)) throw new Error(`cholesky: matrix is not positive definite (pivot ${j} = ${d})`);
    const ljj = Math.sqrt(d);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / ljj;
    }
  }
}

/** Solves LLᵀx = b in place with the factor from `cholesky`. */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * b[k];
    b[i] = s / l[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
}

export interface PivotedCholesky {
  /** Numerical rank: pivots accepted. */
  rank: number;
  /** Selected indices, in pivot order (length rank). */
  pivots: Int32Array;
  /** n×rank factor, row-major: A[:, pivots] ≈ L Lᵀ restricted accordingly; A ≈ L Lᵀ. */
  l: Float64Array;
  /** Accepted pivots (squared), in order; the first is the largest. */
  pivotValues: Float64Array;
}

/**
 * Rank-revealing Cholesky with diagonal pivoting of a symmetric positive semidefinite matrix given by
 * its columns. Stops when the largest remaining diagonal is ≤ tol (callers scale the matrix so that
 * this is a relative measure).
 * Left-looking: costs n·r² for rank r and reads only the pivot columns of A.
 */
export function pivotedCholesky(n: number, column: (j: number, out: Float64Array) => void, diag: Float64Array, tol: number): PivotedCholesky {
  const d = diag.slice();
  const cap = n;
  let l = new Float64Array(n * Math.min(cap, 16));
  let width = Math.min(cap, 16);
  const pivots: number[] = [];
  const pivotValues: number[] = [];
  const chosen = new Uint8Array(n);
  const col = new Float64Array(n);
  const threshold = tol;
  for (let k = 0; k < n; k++) {
    let p = -1, best = threshold;
    for (let i = 0; i < n; i++) if (!chosen[i] && d[i] > best) { best = d[i]; p = i; }
    if (p < 0) break;
    if (k >= width) {
      const w2 = Math.min(cap, width * 2);
      const l2 = new Float64Array(n * w2);
      for (let i = 0; i < n; i++) l2.set(l.subarray(i * width, i * width + k), i * w2);
      l = l2;
      width = w2;
    }
    chosen[p] = 1;
    pivots.push(p);
    pivotValues.push(d[p]);
    column(p, col);
    const lpp = Math.sqrt(d[p]);
    const pb = p * width;
    for (let i = 0; i < n; i++) {
      if (chosen[i] && i !== p) continue;
      const ib = i * width;
      let s = col[i];
      for (let t = 0; t < k; t++) s -= l[ib + t] * l[pb + t];
      // the pivot's own entry must be written last: other rows read l[pb + t] for t < k only
      const v = i === p ? lpp : s / lpp;
      l[ib + k] = v;
      if (i !== p) d[i] -= v * v;
    }
    d[p] = 0;
  }
  const r = pivots.length;
  const out = new Float64Array(n * r);
  for (let i = 0; i < n; i++) for (let t = 0; t < r; t++) out[i * r + t] = l[i * width + t];
  return { rank: r, pivots: Int32Array.from(pivots), l: out, pivotValues: Float64Array.from(pivotValues) };
}
