import { cholesky, choleskySolve, type PivotedCholesky } from '../linalg/dense.js';
import type { GramSolver } from '../linalg/gramsolver.js';
import { MatmulWorkspace } from '../linalg/wasm/matmul.js';
import { dot } from '../linalg/vec.js';

/** Rows of the triangular solve's blocks: the work between blocks is one GEMM each. */
const BLOCK = 64;

/** What the row path has computed by the time it knows the rank (layersolve.ts, `rowPath`). */
export interface RowPathFactors {
  /** y[j] = B⁻¹ S g_j, one per gradient row (length rows(S) each). */
  y: Float64Array[];
  /** Pivoted Cholesky of the scaled Schur complement D Sc D, D = diag(dsc). */
  piv: PivotedCholesky;
  dsc: Float64Array;
  /** Solves with B = SSᵀ (unused when S is empty). */
  bs: GramSolver;
}

/**
 * The row path's least-squares solution (docs/METHOD.md): with Z a basis of null(Sc), the gradient
 * rows' weighted residual is t = KZw, (ZᵀKZ)w = Zᵀh, K = I + YᵀY. Every product over the k = dim null(Sc)
 * columns of Z is one dense GEMM (Z's block on the pivot rows is W = −L_J⁻ᵀL_Fᵀ, its block on the free
 * rows diagonal), instead of k column-at-a-time passes: on LeNet's first layer (k = 1296, 2304 pivots,
 * 2496 rows of S) 86 s became a few.
 */
export function rowPathSolution(
  f: RowPathFactors, sRhs: Float64Array, gRhs: Float64Array,
): { a: Float64Array; b: Float64Array } {
  return rowPathSolver(f, sRhs.length)(sRhs, gRhs);
}

/**
 * rowPathSolution for any number of right-hand sides: what does not depend on them (Z's blocks, YZ and
 * the factored ZᵀKZ) is computed once; each solve then costs a few passes over Y.
 */
export function rowPathSolver(
  f: RowPathFactors, ms: number,
): (sRhs: Float64Array, gRhs: Float64Array) => { a: Float64Array; b: Float64Array } {
  const { y, piv, dsc, bs } = f;
  const mg = y.length, r = piv.rank;
  const lp = pivotRows(piv, r);
  const free: number[] = [];
  const isPivot = new Uint8Array(mg);
  for (let t = 0; t < r; t++) isPivot[piv.pivots[t]] = 1;
  for (let q = 0; q < mg; q++) if (!isPivot[q]) free.push(q);
  const k = free.length;
  const gemm = new MatmulWorkspace();
  const zp = nullBasisOnPivots(piv, lp, free, dsc, gemm);
  const yz = k > 0 ? timesY(y, piv.pivots, r, zp, free, dsc, ms, gemm) : new Float64Array(0);
  // ZᵀKZ = ZᵀZ + (YZ)ᵀ(YZ); both products give exactly symmetric results (same terms, same order)
  const zkz = new Float64Array(k * k);
  if (k > 0) {
    for (let c = 0; c < k; c++) zkz[c * k + c] = dsc[free[c]] * dsc[free[c]];
    gemm.add(zkz, transposed(zp, r, k), zp, k, k, r);
    gemm.add(zkz, transposed(yz, ms, k), yz, k, k, ms);
    cholesky(zkz, k);
  }
  return (sRhs, gRhs) => {
    // h = g − Yᵀs
    const h = Float64Array.from(gRhs);
    for (let j = 0; j < mg; j++) h[j] -= dot(y[j], sRhs);
    const w = new Float64Array(k);
    if (k > 0) {
      for (let c = 0; c < k; c++) w[c] = dsc[free[c]] * h[free[c]];
      for (let t = 0; t < r; t++) {
        const ht = h[piv.pivots[t]];
        for (let c = 0; c < k; c++) w[c] += zp[t * k + c] * ht;
      }
      choleskySolve(zkz, k, w);
    }
    // e = YZw; u = h − t with t = KZw = Zw + Yᵀe lies in range(Sc)
    const e = new Float64Array(ms);
    for (let i = 0; i < ms; i++) e[i] = dot(yz.subarray(i * k, i * k + k), w);
    const u = h;
    for (let c = 0; c < k; c++) u[free[c]] -= dsc[free[c]] * w[c];
    for (let t = 0; t < r; t++) u[piv.pivots[t]] -= dot(zp.subarray(t * k, t * k + k), w);
    for (let j = 0; j < mg; j++) u[j] -= dot(y[j], e);
    const bvec = solvePivotBlock(piv, lp, dsc, u, mg);
    // a = B⁻¹(s + e) − Y b
    const a = Float64Array.from(sRhs);
    for (let i = 0; i < ms; i++) a[i] += e[i];
    if (ms > 0) bs.solve(a);
    for (let j = 0; j < mg; j++) {
      const yj = y[j], bj = bvec[j];
      if (bj !== 0) for (let i = 0; i < ms; i++) a[i] -= yj[i] * bj;
    }
    return { a, b: bvec };
  };
}

/** L̂_J, the factor's rows at the pivots (r×r, lower triangular), contiguous. */
function pivotRows(piv: PivotedCholesky, r: number): Float64Array {
  const lp = new Float64Array(r * r);
  for (let t = 0; t < r; t++) lp.set(piv.l.subarray(piv.pivots[t] * r, piv.pivots[t] * r + t + 1), t * r);
  return lp;
}

/**
 * Z's rows at the pivots, D_J W with L̂_Jᵀ W = −L̂_Fᵀ (r × k): backward substitution by blocks of
 * rows, the rows below a block folded in by one GEMM.
 */
function nullBasisOnPivots(
  piv: PivotedCholesky, lp: Float64Array, free: number[], dsc: Float64Array, gemm: MatmulWorkspace,
): Float64Array {
  const r = piv.rank, k = free.length;
  const wm = new Float64Array(r * k);
  for (let c = 0; c < k; c++) {
    const row = free[c] * r;
    for (let t = 0; t < r; t++) wm[t * k + c] = -piv.l[row + t];
  }
  for (let t1 = r; t1 > 0;) {
    const t0 = Math.max(0, t1 - BLOCK), nb = t1 - t0, below = r - t1;
    if (below > 0 && k > 0) {
      // W[t0:t1] −= L̂[t1:r, t0:t1]ᵀ W[t1:r]
      const lt = new Float64Array(nb * below);
      for (let i = 0; i < nb; i++) {
        for (let u = 0; u < below; u++) lt[i * below + u] = -lp[(t1 + u) * r + t0 + i];
      }
      const block = wm.subarray(t0 * k, t1 * k);
      gemm.add(block, lt, wm.subarray(t1 * k), nb, k, below);
    }
    for (let t = t1 - 1; t >= t0; t--) {
      const wt = wm.subarray(t * k, t * k + k);
      for (let u = t + 1; u < t1; u++) {
        const l = lp[u * r + t], wu = u * k;
        for (let c = 0; c < k; c++) wt[c] -= l * wm[wu + c];
      }
      const d = lp[t * r + t];
      for (let c = 0; c < k; c++) wt[c] /= d;
    }
    t1 = t0;
  }
  for (let t = 0; t < r; t++) {
    const s = dsc[piv.pivots[t]];
    for (let c = 0; c < k; c++) wm[t * k + c] *= s;
  }
  return wm;
}

/** YZ (rows(S) × k): Y's pivot columns times Z's pivot block, plus each free column's own y. */
function timesY(
  y: Float64Array[], pivots: Int32Array, r: number, zp: Float64Array, free: number[], dsc: Float64Array,
  ms: number, gemm: MatmulWorkspace,
): Float64Array {
  const k = free.length;
  const yp = new Float64Array(ms * r);
  for (let t = 0; t < r; t++) {
    const yt = y[pivots[t]];
    for (let i = 0; i < ms; i++) yp[i * r + t] = yt[i];
  }
  const yz = new Float64Array(ms * k);
  gemm.add(yz, yp, zp, ms, k, r);
  for (let c = 0; c < k; c++) {
    const yq = y[free[c]], s = dsc[free[c]];
    for (let i = 0; i < ms; i++) yz[i * k + c] += yq[i] * s;
  }
  return yz;
}

function transposed(m: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j];
  return t;
}

/** b on the pivot rows: Sc_JJ b_J = u_J with Sc_JJ = D_J⁻¹ L̂_J L̂_Jᵀ D_J⁻¹; zero elsewhere. */
function solvePivotBlock(
  piv: PivotedCholesky, lp: Float64Array, dsc: Float64Array, u: Float64Array, mg: number,
): Float64Array {
  const r = piv.rank;
  const v = new Float64Array(r);
  for (let t = 0; t < r; t++) v[t] = dsc[piv.pivots[t]] * u[piv.pivots[t]];
  choleskySolve(lp, r, v);
  const b = new Float64Array(mg);
  for (let t = 0; t < r; t++) b[piv.pivots[t]] = dsc[piv.pivots[t]] * v[t];
  return b;
}
