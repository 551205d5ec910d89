import { cholesky, choleskySolve, pivotedCholesky } from './linalg/dense.js';
import { choleskyEnvelope, gramOfColumns, solveEnvelope } from './linalg/envelope.js';
import { GramSolver } from './linalg/gramsolver.js';
import { addMulTransVec, CsrBuilder, mulVec, rowNorms, transpose, type Csr } from './linalg/sparse.js';
import type { LayerSystem } from './system.js';

/**
 * Rank and minimum-norm least-squares solution of one layer's system U = [S; G] (see system.ts),
 * without ever forming U densely.
 *
 * - column path (S alone has full column rank, typical for stride 1): rank = columns touched;
 *   x = (SᵀS + GᵀG)⁻¹(Sᵀs + Gᵀg) with SᵀS factored in its envelope and GᵀG added by Woodbury.
 * - row path (S has full row rank, typical when the layer is under-determined):
 *   rank = rows(S) + rank(Sc), Sc = G(I − Sᵀ(SSᵀ)⁻¹S)Gᵀ the gradient rows' Schur complement; the
 *   least-squares problem is reduced exactly to Sc's range (see docs/METHOD.md).
 * - dense path (neither holds): the same reduction with S empty, the Gram matrix's columns formed
 *   on demand for a rank-revealing pivoted Cholesky.
 */

export interface SolveOptions {
  /** Relative pivot tolerance: a row is dependent when its squared sine to the span of the others is below it. */
  tol: number;
  /** Skip the right-hand side work (audit only needs the rank). */
  rankOnly?: boolean;
}

export const DEFAULT_RANK_TOL = 1e-10;

export interface LayerSolution {
  rank: number;
  /** Solution over the padded input (zeros when rankOnly). */
  x: Float64Array;
  /** sqrt(largest/smallest accepted pivot): a cheap estimate of the condition number on the row space. */
  condition: number;
  path: 'column' | 'row' | 'dense';
}

export function solveLayer(sys: LayerSystem, opts: SolveOptions): LayerSolution {
  const touched = touchedColumns(sys);
  let kept = 0;
  for (let c = 0; c < sys.n; c++) if (touched[c]) kept++;
  if (sys.s.rows >= kept) {
    const r = columnPath(sys, touched, kept, opts);
    if (r) return r;
  }
  // Rows of S that depend on earlier ones join the dense gradient rows; the rest has full row rank.
  const dropped = dependentRows(sys.s, opts.tol);
  if (dropped.length <= MAX_DENSE_ROWS - sys.grad.rows) {
    const { kept: s, moved } = splitRows(sys.s, dropped);
    const g = stack(moved, sys.grad);
    const sRhs = sys.sRhs.filter((_, i) => !dropped.includes(i));
    const gRhs = Float64Array.from([...dropped.map((i) => sys.sRhs[i]), ...sys.gradRhs]);
    const r = rowPath(sys, s, sRhs, g, gRhs, opts, 'row');
    if (r) return r;
  }
  const all = stack(sys.s, sys.grad);
  const rhs = new Float64Array(all.rows);
  rhs.set(sys.sRhs);
  rhs.set(sys.gradRhs, sys.s.rows);
  const empty: Csr = { rows: 0, cols: sys.n, ptr: new Int32Array(1), idx: new Int32Array(0), val: new Float64Array(0) };
  return rowPath(sys, empty, new Float64Array(0), all, rhs, opts, 'dense')!;
}

/**
 * The sparse part is factored without pivoting, so it only keeps rows that are far from the span of
 * the rows before it (sin² of the angle above this); the others join the dense rows, which are
 * factored with pivoting. Which rows go where changes the cost, never the answer.
 */
const SPARSE_TOL = 1e-6;

// Beyond this many dense rows the Schur complement would not fit comfortably in memory.
const MAX_DENSE_ROWS = 12000;

function dependentRows(s: Csr, tol: number): number[] {
  const ident = new Int32Array(s.rows);
  for (let i = 0; i < s.rows; i++) ident[i] = i;
  return choleskyEnvelope(gramOfColumns(transpose(s), ident, s.rows), Math.max(tol, SPARSE_TOL), true).dropped;
}

function splitRows(a: Csr, rows: number[]): { kept: Csr; moved: Csr } {
  const drop = new Uint8Array(a.rows);
  for (const r of rows) drop[r] = 1;
  const pick = (want: number) => {
    const b = new CsrBuilder(a.cols);
    const order = want ? rows : Array.from({ length: a.rows }, (_, i) => i).filter((i) => !drop[i]);
    for (const r of order) b.push(a.idx.subarray(a.ptr[r], a.ptr[r + 1]), a.val.subarray(a.ptr[r], a.ptr[r + 1]));
    return b.build();
  };
  return { kept: pick(0), moved: pick(1) };
}

function touchedColumns(sys: LayerSystem): Uint8Array {
  const t = new Uint8Array(sys.n);
  for (const m of [sys.s, sys.grad]) for (let k = 0; k < m.idx.length; k++) if (m.val[k] !== 0) t[m.idx[k]] = 1;
  return t;
}

function stack(a: Csr, b: Csr): Csr {
  const ptr = new Int32Array(a.rows + b.rows + 1);
  ptr.set(a.ptr);
  for (let r = 1; r <= b.rows; r++) ptr[a.rows + r] = a.ptr[a.rows] + b.ptr[r];
  const idx = new Int32Array(a.idx.length + b.idx.length);
  idx.set(a.idx);
  idx.set(b.idx, a.idx.length);
  const val = new Float64Array(a.val.length + b.val.length);
  val.set(a.val);
  val.set(b.val, a.val.length);
  return { rows: a.rows + b.rows, cols: a.cols, ptr, idx, val };
}

function columnPath(sys: LayerSystem, touched: Uint8Array, kept: number, opts: SolveOptions): LayerSolution | null {
  const { inC } = sys.g;
  const plane = sys.padH * sys.padW;
  // spatial order (h, w, c) keeps SᵀS banded; untouched columns are dropped (they stay zero)
  const order = new Int32Array(sys.n).fill(-1);
  const back = new Int32Array(kept);
  let p = 0;
  for (let q = 0; q < plane; q++) for (let c = 0; c < inC; c++) {
    const col = c * plane + q;
    if (touched[col]) { order[col] = p; back[p++] = col; }
  }
  const a = GramSolver.ofColumns(sys.s, order, back, SPARSE_TOL);
  if (!a.ok) return null;
  const condition = a.conditionS;
  const x = new Float64Array(sys.n);
  if (opts.rankOnly) return { rank: kept, x, condition, path: 'column' };

  const mg = sys.grad.rows;
  const gDense = (j: number) => {
    const v = new Float64Array(kept);
    for (let k = sys.grad.ptr[j]; k < sys.grad.ptr[j + 1]; k++) v[order[sys.grad.idx[k]]] += sys.grad.val[k];
    return v;
  };
  const gRows = Array.from({ length: mg }, (_, j) => gDense(j));
  const y = gRows.map((v) => { const w = v.slice(); a.solve(w); return w; });
  const kmat = new Float64Array(mg * mg);
  for (let i = 0; i < mg; i++) for (let j = 0; j <= i; j++) {
    const v = dotSparse(sys.grad, i, y[j], order) + (i === j ? 1 : 0);
    kmat[i * mg + j] = v;
    kmat[j * mg + i] = v;
  }
  cholesky(kmat, mg);
  const full = new Float64Array(sys.n);
  addMulTransVec(sys.s, sys.sRhs, full);
  addMulTransVec(sys.grad, sys.gradRhs, full);
  const x0 = new Float64Array(kept);
  for (let i = 0; i < kept; i++) x0[i] = full[back[i]];
  a.solve(x0);
  const q = new Float64Array(mg);
  for (let j = 0; j < mg; j++) q[j] = dotSparse(sys.grad, j, x0, order);
  choleskySolve(kmat, mg, q);
  for (let j = 0; j < mg; j++) { const yj = y[j], qj = q[j]; for (let i = 0; i < kept; i++) x0[i] -= yj[i] * qj; }
  for (let i = 0; i < kept; i++) x[back[i]] = x0[i];
  return { rank: kept, x, condition, path: 'column' };
}

function dotSparse(m: Csr, row: number, v: Float64Array, order: Int32Array): number {
  let s = 0;
  for (let k = m.ptr[row]; k < m.ptr[row + 1]; k++) s += m.val[k] * v[order[m.idx[k]]];
  return s;
}

/**
 * Row path. With B = SSᵀ (full rank), Y = B⁻¹SGᵀ, Sc = GGᵀ − GSᵀY, K = I + YᵀY, h = g − Yᵀs:
 * the least-squares residual of the gradient rows is t = h − Fc with F a basis of range(Sc) and
 * c = argmin (h − Fc)ᵀK⁻¹(h − Fc); then e = YK⁻¹t, b solves Sc b = h − t on the pivot rows,
 * a = B⁻¹(s + e) and x = Sᵀ(a − Yb) + Gᵀb.
 */
function rowPath(sys: LayerSystem, s: Csr, sRhs: Float64Array, gm: Csr, gRhs: Float64Array, opts: SolveOptions, path: 'row' | 'dense'): LayerSolution | null {
  const ms = s.rows, mg = gm.rows, n = sys.n;
  const bs = GramSolver.ofRows(s, SPARSE_TOL);
  if (!bs.ok) return null;
  const rep = bs.report;

  // Y columns: B⁻¹ S g_j for each gradient row g_j.
  const dense = new Float64Array(n);
  const y: Float64Array[] = [];
  for (let j = 0; j < mg; j++) {
    dense.fill(0);
    for (let k = gm.ptr[j]; k < gm.ptr[j + 1]; k++) dense[gm.idx[k]] += gm.val[k];
    const c = mulVec(s, dense);
    if (ms > 0) bs.solve(c);
    y.push(c);
  }
  // Sc column j on demand: (G g_j) − (S G ᵀ)ᵀ y_j ; for the small row path we materialise it.
  const gT = transpose(gm);
  const scColumn = (j: number, out: Float64Array) => {
    dense.fill(0);
    for (let k = gm.ptr[j]; k < gm.ptr[j + 1]; k++) dense[gm.idx[k]] += gm.val[k];
    if (ms > 0) {
      // subtract Sᵀ y_j so that G(g_j − Sᵀ y_j) = G P_N g_j
      const yj = y[j];
      for (let r = 0; r < ms; r++) {
        const v = yj[r];
        if (v === 0) continue;
        for (let k = s.ptr[r]; k < s.ptr[r + 1]; k++) dense[s.idx[k]] -= s.val[k] * v;
      }
    }
    out.set(mulVec(gm, dense));
  };
  void gT;
  let sc: Float64Array | null = null;
  if (path === 'row') {
    sc = new Float64Array(mg * mg);
    const col = new Float64Array(mg);
    for (let j = 0; j < mg; j++) { scColumn(j, col); for (let i = 0; i < mg; i++) sc[i * mg + j] = col[i]; }
    for (let i = 0; i < mg; i++) for (let j = 0; j < i; j++) { const v = 0.5 * (sc[i * mg + j] + sc[j * mg + i]); sc[i * mg + j] = v; sc[j * mg + i] = v; }
  }
  // Scale by the gradient rows' own norms: pivots become squared sines of the angle between a row
  // and the span of everything before it, as in the envelope factorisation; rows already in the span
  // of S keep a tiny diagonal instead of being blown up to one.
  const norms = rowNorms(gm);
  const dsc = norms.map((v) => (v > 0 ? 1 / v : 0));
  const diag = new Float64Array(mg);
  for (let i = 0; i < mg; i++) {
    let v: number;
    if (sc) v = sc[i * mg + i];
    else v = norms[i] * norms[i];
    diag[i] = Math.max(0, v) * dsc[i] * dsc[i];
  }
  const piv = pivotedCholesky(mg, (j, out) => {
    if (sc) for (let i = 0; i < mg; i++) out[i] = sc[i * mg + j];
    else scColumn(j, out);
    for (let i = 0; i < mg; i++) out[i] *= dsc[i] * dsc[j];
  }, diag, opts.tol);
  const r = piv.rank;
  const rank = ms + r;
  // condition: that of S, times the spread of the accepted dense pivots (sines of angles)
  let maxP = 0, minP = Infinity;
  for (let t = 0; t < r; t++) { maxP = Math.max(maxP, piv.pivotValues[t]); minP = Math.min(minP, piv.pivotValues[t]); }
  const denseCond = r > 0 ? Math.sqrt(maxP / minP) : 1;
  const condition = (ms > 0 ? bs.conditionS : 1) * denseCond;
  void rep;
  const x = new Float64Array(n);
  if (opts.rankOnly) return { rank, x, condition, path };

  // h = g − Yᵀ s ; K = I + YᵀY
  const h = Float64Array.from(gRhs);
  for (let j = 0; j < mg; j++) h[j] -= dot(y[j], sRhs);
  let kmat: Float64Array | null = null;
  if (ms > 0) {
    kmat = new Float64Array(mg * mg);
    for (let i = 0; i < mg; i++) for (let j = 0; j <= i; j++) {
      const v = dot(y[i], y[j]) + (i === j ? 1 : 0);
      kmat[i * mg + j] = v;
      kmat[j * mg + i] = v;
    }
    cholesky(kmat, mg);
  }
  const kinv = (v: Float64Array) => { if (kmat) choleskySolve(kmat, mg, v); return v; };
  // F = D⁻¹ L̂ (mg × r), basis of range(Sc)
  const f: Float64Array[] = [];
  for (let t = 0; t < r; t++) {
    const v = new Float64Array(mg);
    for (let i = 0; i < mg; i++) v[i] = dsc[i] > 0 ? piv.l[i * r + t] / dsc[i] : 0;
    f.push(v);
  }
  const kf = f.map((v) => kinv(v.slice()));
  const mmat = new Float64Array(r * r);
  for (let t = 0; t < r; t++) for (let u = 0; u <= t; u++) { const v = dot(f[t], kf[u]); mmat[t * r + u] = v; mmat[u * r + t] = v; }
  const cvec = new Float64Array(r);
  for (let t = 0; t < r; t++) cvec[t] = dot(kf[t], h);
  if (r > 0) { cholesky(mmat, r); choleskySolve(mmat, r, cvec); }
  const tres = h.slice();
  for (let t = 0; t < r; t++) { const ft = f[t], ct = cvec[t]; for (let i = 0; i < mg; i++) tres[i] -= ft[i] * ct; }
  // b on the pivot rows: b_J = D_J L̂_J⁻ᵀ c
  const w = cvec.slice();
  for (let t = r - 1; t >= 0; t--) {
    let acc = w[t];
    for (let u = t + 1; u < r; u++) acc -= piv.l[piv.pivots[u] * r + t] * w[u];
    w[t] = acc / piv.l[piv.pivots[t] * r + t];
  }
  const bvec = new Float64Array(mg);
  for (let t = 0; t < r; t++) bvec[piv.pivots[t]] = dsc[piv.pivots[t]] * w[t];
  // e = Y K⁻¹ t ; a = B⁻¹(s + e) − Y b
  const kt = kinv(tres.slice());
  const a = Float64Array.from(sRhs);
  for (let j = 0; j < mg; j++) { const yj = y[j], kj = kt[j]; if (kj !== 0) for (let i = 0; i < ms; i++) a[i] += yj[i] * kj; }
  if (ms > 0) bs.solve(a);
  for (let j = 0; j < mg; j++) { const yj = y[j], bj = bvec[j]; if (bj !== 0) for (let i = 0; i < ms; i++) a[i] -= yj[i] * bj; }
  addMulTransVec(s, a, x);
  addMulTransVec(gm, bvec, x);
  return { rank, x, condition, path };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
