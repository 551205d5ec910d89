import { pivotedCholesky, type PivotedCholesky } from './dense.js';
import type { Csr } from './sparse.js';

/**
 * The row path's Schur complement (solve/layersolve.ts), every column at once: Sc[:, j] =
 * G (g_j − Sᵀ y_j), the same operations in the same order per element as the solver's `scColumn`
 * one column at a time, but S and G are each read once (for all j, along contiguous rows of an
 * n × mg matrix) instead of once per gradient row. wasm/linalg.ts's `schur` is its SIMD twin.
 */
export function schurColumns(s: Csr, gm: Csr, y: Float64Array[], n: number): Float64Array {
  const mg = gm.rows, ms = s.rows;
  // D = Gᵀ − Sᵀ Y, row c holding column c of every g_j − Sᵀ y_j
  const d = new Float64Array(n * mg);
  for (let j = 0; j < mg; j++) {
    for (let k = gm.ptr[j]; k < gm.ptr[j + 1]; k++) d[gm.idx[k] * mg + j] += gm.val[k];
  }
  const yr = new Float64Array(mg);
  for (let r = 0; r < ms; r++) {
    for (let j = 0; j < mg; j++) yr[j] = y[j][r];
    for (let k = s.ptr[r]; k < s.ptr[r + 1]; k++) {
      const base = s.idx[k] * mg, v = s.val[k];
      // zero y entries are skipped, as scColumn skips them (the same bits, signed zeros included)
      for (let j = 0; j < mg; j++) if (yr[j] !== 0) d[base + j] -= v * yr[j];
    }
  }
  // Sc = G D, each element summed over G's row in order from 0, as mulVec does
  const sc = new Float64Array(mg * mg);
  const acc = new Float64Array(mg);
  for (let i = 0; i < mg; i++) {
    acc.fill(0);
    for (let k = gm.ptr[i]; k < gm.ptr[i + 1]; k++) {
      const base = gm.idx[k] * mg, v = gm.val[k];
      for (let j = 0; j < mg; j++) acc[j] += v * d[base + j];
    }
    sc.set(acc, i * mg);
  }
  return sc;
}

/** Each pair (i, j) and (j, i) of an m × m matrix set to their mean, in tiles (cache-friendly, same values). */
export function symmetrise(a: Float64Array, m: number, tile = 64): void {
  for (let i0 = 0; i0 < m; i0 += tile) for (let j0 = 0; j0 <= i0; j0 += tile) {
    const i1 = Math.min(m, i0 + tile);
    for (let i = i0; i < i1; i++) for (let j = j0, j1 = Math.min(i, j0 + tile); j < j1; j++) {
      const v = 0.5 * (a[i * m + j] + a[j * m + i]);
      a[i * m + j] = v;
      a[j * m + i] = v;
    }
  }
}

/**
 * The row path's rank-revealing factorisation of its Schur complement: Sc (schurColumns, made exactly
 * symmetric), scaled to D·Sc·D with D = diag(dsc), by the pivoted Cholesky. The reference that
 * linalg/wasm/schur.ts's `schurPivotedCholeskyWasm` equals to the bit.
 */
export function schurPivotedCholesky(
  s: Csr, gm: Csr, y: Float64Array[], n: number, dsc: Float64Array, tol: number,
): PivotedCholesky {
  const mg = gm.rows, sc = schurColumns(s, gm, y, n);
  symmetrise(sc, mg);
  return pivotedCholesky(mg, (j, out) => {
    // Sc is exactly symmetric by now: its row j is column j, read contiguously
    out.set(sc.subarray(j * mg, (j + 1) * mg));
    for (let i = 0; i < mg; i++) out[i] *= dsc[i] * dsc[j];
  }, schurDiagonal(sc, mg, dsc), tol);
}

/** The scaled Schur complement's diagonal, a negative rounding clamped to 0. */
export function schurDiagonal(sc: Float64Array, mg: number, dsc: Float64Array): Float64Array {
  const diag = new Float64Array(mg);
  for (let i = 0; i < mg; i++) diag[i] = Math.max(0, sc[i * mg + i]) * dsc[i] * dsc[i];
  return diag;
}
