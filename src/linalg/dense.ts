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
export function pivotedCholesky(
  n: number, column: (j: number, out: Float64Array) => void, diag: Float64Array, tol: number,
): PivotedCholesky {
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

/**
 * Blocked Cholesky with diagonal pivoting of a full symmetric n×n matrix (row-major, both triangles),
 * in place, after the pattern of LAPACK's pstrf: within a panel of `nb` columns, pivots are chosen on
 * the diagonal updated by the panel so far; the trailing matrix is then updated once per panel with
 * contiguous dot products of panel rows. Stops when the largest remaining diagonal is ≤ tol.
 * On return, rows/columns are permuted by `perm` (position → original index) and the lower triangle's
 * first `rank` columns hold L: A[perm][:, perm] ≈ L Lᵀ.
 */
export function blockedPivotedCholesky(
  a: Float64Array, n: number, tol: number, nb = 48,
): { rank: number; perm: Int32Array; pivots: Float64Array } {
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  const d = new Float64Array(n);
  const pivots: number[] = [];
  const swap = (i: number, p: number) => {
    if (i === p) return;
    // rows
    const ri = i * n, rp = p * n;
    for (let c = 0; c < n; c++) { const t = a[ri + c]; a[ri + c] = a[rp + c]; a[rp + c] = t; }
    // columns
    for (let r = 0; r < n; r++) { const t = a[r * n + i]; a[r * n + i] = a[r * n + p]; a[r * n + p] = t; }
    let t = perm[i]; perm[i] = perm[p]; perm[p] = t;
    t = d[i]; d[i] = d[p]; d[p] = t;
  };
  let rank = n;
  outer: for (let k = 0; k < n; k += nb) {
    const end = Math.min(n, k + nb);
    for (let i = k; i < n; i++) d[i] = a[i * n + i];
    for (let j = k; j < end; j++) {
      // diagonal as updated by the panel columns so far
      let p = j, best = -Infinity;
      for (let i = j; i < n; i++) {
        let v = d[i];
        for (let t = k; t < j; t++) v -= a[i * n + t] * a[i * n + t];
        if (v > best) { best = v; p = i; }
      }
      if (!(best > tol)) { rank = j; break outer; }
      swap(j, p);
      pivots.push(best);
      const ljj = Math.sqrt(best);
      const rj = j * n;
      a[rj + j] = ljj;
      for (let i = j + 1; i < n; i++) {
        const ri = i * n;
        let s = a[ri + j];
        for (let t = k; t < j; t++) s -= a[ri + t] * a[rj + t];
        a[ri + j] = s / ljj;
      }
    }
    finishPanel(a, n, k, end);
  }
  return { rank, perm, pivots: Float64Array.from(pivots) };
}

/**
 * Trailing update after panel columns k..end−1: A[i][l] −= Σ_t L[i][t]L[l][t] for i, l ≥ end,
 * mirrored.
 */
function finishPanel(a: Float64Array, n: number, k: number, end: number): void {
  if (end <= k) return;
  for (let i = end; i < n; i++) {
    const ri = i * n;
    for (let l = end; l <= i; l++) {
      const rl = l * n;
      let s = 0;
      for (let t = k; t < end; t++) s += a[ri + t] * a[rl + t];
      a[ri + l] -= s;
    }
  }
  for (let i = end; i < n; i++) for (let l = end; l < i; l++) a[l * n + i] = a[i * n + l];
}
