import { cholesky, choleskySolve } from '../linalg/dense.js';
import { pivotedCholeskyFast } from '../linalg/wasm/dense.js';
import { denseGramFactorFast } from '../linalg/wasm/dense-gram.js';
import { schurPivotedCholeskyFast } from '../linalg/wasm/schur.js';
import { factorRowGram, GramSolver, type GridLayout } from '../linalg/gramsolver.js';
import { dot } from '../linalg/vec.js';
import { rowPathSolution } from './rowsolve.js';
import {
  addMulTransVec, CsrBuilder, mulVec, rowNorms, stack, transpose, type Csr,
} from '../linalg/sparse.js';
import { fail } from '../core/errors.js';
import { formatBytes, MAX_DENSE_ROWS } from '../core/limits.js';
import { denseFallbackBytes } from '../core/memory.js';
import type { CachedFactors, SolverCache } from './solver-cache.js';
import type { LayerSystem } from './system.js';

/**
 * Rank and minimum-norm least-squares solution of one layer's system U = [S; G] (see system.ts),
 * without ever forming U densely.
 *
 * - column path (S alone has full column rank, typical for stride 1): rank = columns touched;
 *   x solves (SᵀS + GᵀG) x = Sᵀs + Gᵀg by conjugate gradients preconditioned with the envelope
 *   factor of SᵀS (GᵀG is a low-rank perturbation, so few iterations are needed).
 * - row path (S has full row rank, typical when the layer is under-determined):
 *   rank = rows(S) + rank(Sc), Sc = G(I − Sᵀ(SSᵀ)⁻¹S)Gᵀ the gradient rows' Schur complement; the
 *   least-squares problem is reduced exactly to Sc's range (see docs/METHOD.md).
 * - dense path (neither holds): the same reduction with S empty, the Gram matrix's columns formed
 *   on demand for a rank-revealing pivoted Cholesky.
 */

export interface SolveOptions {
  /**
   * Relative pivot tolerance: a row is dependent when its squared sine to the span of the others
   * is below it.
   */
  tol: number;
  /** Skip the right-hand side work (audit only needs the rank). */
  rankOnly?: boolean;
  /** 'dense' skips the structured paths: for cross-checks and tests of the fallback. */
  path?: 'auto' | 'dense';
  /** Factors and solutions to reuse, owned by the caller; without one nothing is kept between calls. */
  cache?: SolverCache;
  /** Memory ceiling in bytes: the dense fallbacks refuse to allocate beyond it. */
  maxBytes?: number;
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

/** Right-hand sides of a layer system's two parts, in the system's row order. */
export interface LayerRhs {
  sRhs: Float64Array;
  gradRhs: Float64Array;
}

/** Solutions for further right-hand sides, filled in by the path that solves the system. */
interface Extra {
  rhs: readonly LayerRhs[];
  out: Float64Array[];
}

/**
 * solveLayer, and the minimum-norm least-squares solutions for other right-hand sides of the same
 * system from the same factors (the noise analysis: the solve is linear in them). The main solution
 * has the bits solveLayer gives it.
 */
export function solveLayerMany(
  sys: LayerSystem, opts: SolveOptions, rhs: readonly LayerRhs[],
): { solution: LayerSolution; extra: Float64Array[] } {
  for (const r of rhs) if (r.sRhs.length !== sys.s.rows || r.gradRhs.length !== sys.grad.rows) {
    throw new Error('solveLayerMany: a right-hand side does not fit the system');
  }
  const options = { ...opts, rankOnly: false };
  const extra: Extra = { rhs, out: [] };
  const cached = opts.cache ? opts.cache.factorsFor(geometryKey(sys), sys.weight, sys.known) : {};
  const solution = solveUncached(sys, options, cached, extra);
  return { solution, extra: extra.out };
}

export function solveLayer(sys: LayerSystem, opts: SolveOptions): LayerSolution {
  const cache = opts.cache;
  if (!cache) return solveUncached(sys, opts, {});
  const key = `${geometryKey(sys)}|${opts.tol}|${opts.rankOnly ?? false}|${opts.path ?? 'auto'}`;
  const arrays = [
    sys.weight, sys.sRhs, sys.grad.val, sys.grad.idx, sys.grad.ptr, sys.gradRhs, sys.s.idx, sys.s.ptr,
  ];
  const hit = cache.findSolution<LayerSolution>(key, arrays);
  if (hit) return { ...hit, x: hit.x.slice() };
  const solution = solveUncached(sys, opts, cache.factorsFor(geometryKey(sys), sys.weight, sys.known));
  cache.storeSolution(key, arrays, { ...solution, x: solution.x.slice() });
  return solution;
}

function solveUncached(
  sys: LayerSystem, opts: SolveOptions, cached: CachedFactors, extra?: Extra,
): LayerSolution {
  const touched = touchedColumns(sys);
  let kept = 0;
  for (let c = 0; c < sys.n; c++) if (touched[c]) kept++;
  const structured = opts.path !== 'dense';
  if (structured && sys.s.rows >= kept) {
    const r = columnPath(sys, touched, kept, opts, cached, extra);
    if (r) return r;
  }
  // Rows of S that depend on earlier ones join the dense gradient rows; the rest has full row rank.
  // With more gradient rows than the row path takes, which rows those are does not matter.
  const rowsFit = sys.grad.rows <= MAX_DENSE_ROWS;
  const dropped = structured && rowsFit ? (cached.dropped ??= dependentRows(sys, cached)) : [];
  if (structured && rowsFit && dropped.length <= MAX_DENSE_ROWS - sys.grad.rows) {
    const isDropped = new Uint8Array(sys.s.rows);
    for (const i of dropped) isDropped[i] = 1;
    const { kept: s, moved } = splitRows(sys.s, dropped);
    const g = stack(moved, sys.grad);
    const sRhs = sys.sRhs.filter((_, i) => !isDropped[i]);
    const gRhs = Float64Array.from([...dropped.map((i) => sys.sRhs[i]), ...sys.gradRhs]);
    const moveRhs = (e: LayerRhs): LayerRhs => ({
      sRhs: e.sRhs.filter((_, i) => !isDropped[i]),
      gradRhs: Float64Array.from([...dropped.map((i) => e.sRhs[i]), ...e.gradRhs]),
    });
    const r = rowPath(sys, s, sRhs, g, gRhs, opts, 'row', cached,
      extra && { rhs: extra.rhs.map(moveRhs), out: extra.out });
    if (r) return r;
  }
  const all = stack(sys.s, sys.grad);
  const joined = (e: LayerRhs) => {
    const rhs = new Float64Array(all.rows);
    rhs.set(e.sRhs);
    rhs.set(e.gradRhs, sys.s.rows);
    return rhs;
  };
  const rhs = joined(sys);
  if (all.rows > kept) {
    checkWork(sys, denseFallbackBytes(kept), opts, 'a dense fallback (the structured solvers do not apply)');
    return denseColumnPath(sys, all, rhs, touched, kept, opts,
      extra && { rhs: extra.rhs.map(joined), out: extra.out });
  }
  const empty: Csr = {
    rows: 0, cols: sys.n, ptr: new Int32Array(1), idx: new Int32Array(0), val: new Float64Array(0),
  };
  const none = new Float64Array(0);
  return rowPath(sys, empty, none, all, rhs, opts, 'dense', null,
    extra && { rhs: extra.rhs.map((e) => ({ sRhs: none, gradRhs: joined(e) })), out: extra.out })!;
}

/**
 * The sparse part is factored without pivoting, so it only keeps rows that are far from the span of
 * the rows before it (sin² of the angle above this); the others join the dense rows, which are
 * factored with pivoting. Which rows go where changes the cost, never the answer.
 */
const SPARSE_TOL = 1e-6;

function dependentRows(sys: LayerSystem, cached: CachedFactors): number[] {
  const factor = factorRowGram(sys.s, SPARSE_TOL, true, layoutOf(sys));
  const { dropped } = factor.report;
  // nothing dropped: the row path's factor would be this one again (allowDrop acts only on a drop)
  if (dropped.length === 0 && cached.rows === undefined) {
    const f = GramSolver.ofRows(sys.s, SPARSE_TOL, false, layoutOf(sys), factor);
    cached.rows = f.ok ? f : null;
  }
  return dropped;
}

/** Where the system's columns sit in its padded input, for the fill-reducing ordering. */
const layoutOf = (sys: LayerSystem): GridLayout => ({ plane: sys.padH * sys.padW, width: sys.padW });

const geometryKey = ({ g }: LayerSystem) =>
  `${g.type}:${g.inC}x${g.inH}x${g.inW}:${g.outC}:${g.kh}x${g.kw}:${g.stride}:${g.pad}`;

const sameMask = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Which path a solve takes depends on the data (which rows turn out dependent, how well S is
 * conditioned), so the dense work is checked against the ceiling when it is about to be allocated.
 */
function checkWork(sys: LayerSystem, bytes: number, opts: SolveOptions, what: string): void {
  if (opts.maxBytes === undefined || bytes <= opts.maxBytes) return;
  fail(`layer ${sys.g.index}'s system (${sys.s.rows + sys.grad.rows} rows × ${sys.n} unknowns) `
    + `needs ${formatBytes(bytes)} for ${what}, above the ${formatBytes(opts.maxBytes)} memory ceiling; `
    + `raise it with --max-memory if the machine has that much`);
}

function splitRows(a: Csr, rows: number[]): { kept: Csr; moved: Csr } {
  const drop = new Uint8Array(a.rows);
  for (const r of rows) drop[r] = 1;
  const pick = (want: number) => {
    const order = want ? rows : Array.from({ length: a.rows }, (_, i) => i).filter((i) => !drop[i]);
    const b = new CsrBuilder(a.cols, order.length, order.reduce((s, r) => s + a.ptr[r + 1] - a.ptr[r], 0));
    for (const r of order) b.push(
      a.idx.subarray(a.ptr[r], a.ptr[r + 1]), a.val.subarray(a.ptr[r], a.ptr[r + 1]));
    return b.build();
  };
  return { kept: pick(0), moved: pick(1) };
}

function touchedColumns(sys: LayerSystem): Uint8Array {
  const t = new Uint8Array(sys.n);
  for (const m of [sys.s, sys.grad])
    for (let k = 0; k < m.idx.length; k++) if (m.val[k] !== 0) t[m.idx[k]] = 1;
  return t;
}

function columnPath(
  sys: LayerSystem, touched: Uint8Array, kept: number, opts: SolveOptions, cached: CachedFactors,
  extra?: Extra,
): LayerSolution | null {
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
  // the factor is of S's touched columns: another set of touched columns needs another factor
  if (!cached.column || !sameMask(cached.column.touched, touched)) {
    const f = GramSolver.ofColumns(sys.s, order, back, SPARSE_TOL, layoutOf(sys));
    cached.column = { touched: touched.slice(), solver: f.ok ? f : null };
  }
  const a = cached.column.solver;
  if (!a) return null;
  const condition = a.conditionS;
  const x = new Float64Array(sys.n);
  if (opts.rankOnly) return { rank: kept, x, condition, path: 'column' };

  // (SᵀS + GᵀG) x = Sᵀs + Gᵀg by conjugate gradients preconditioned with the SᵀS factor: GᵀG is a
  // perturbation of rank ≤ rows(G), so convergence takes at most rows(G)+1 steps and, the gradient
  // rows being small next to the weight rows, usually a handful.
  const gtg = (v: Float64Array) => {
    const out = new Float64Array(kept);
    for (let j = 0; j < sys.grad.rows; j++) {
      const d = dotSparse(sys.grad, j, v, order);
      if (d !== 0) {
        for (let k = sys.grad.ptr[j]; k < sys.grad.ptr[j + 1]; k++) {
          const p = order[sys.grad.idx[k]];
          if (p >= 0) out[p] += sys.grad.val[k] * d;
        }
      }
    }
    return out;
  };
  // In exact arithmetic CG ends within rows(G)+1 steps; an ill-conditioned SᵀS (cnn2_c5: cond(S) ≈ 1e5)
  // makes the preconditioner inexact and needs more. If even the generous cap is not enough, the
  // other paths take over rather than returning an inaccurate solution.
  const solveFor = (e: LayerRhs, into: Float64Array): boolean => {
    const full = new Float64Array(sys.n);
    addMulTransVec(sys.s, e.sRhs, full);
    addMulTransVec(sys.grad, e.gradRhs, full);
    const rhs = new Float64Array(kept);
    for (let i = 0; i < kept; i++) rhs[i] = full[back[i]];
    const run = pcg((v) => {
      const a1 = a.applyGram(v), a2 = gtg(v);
      for (let i = 0; i < kept; i++) a1[i] += a2[i];
      return a1;
    }, (v) => a.solveUnrefined(v), rhs, 20 * (sys.grad.rows + 10));
    if (!run.converged) return false;
    for (let i = 0; i < kept; i++) into[back[i]] = run.x[i];
    return true;
  };
  if (!solveFor(sys, x)) return null;
  const others = (extra?.rhs ?? []).map(() => new Float64Array(sys.n));
  if (extra && !extra.rhs.every((e, i) => solveFor(e, others[i]))) return null;
  extra?.out.push(...others);
  return { rank: kept, x, condition, path: 'column' };
}

/**
 * Dense column path, for systems with more rows than (touched) columns where neither structured path
 * applies: the column Gram matrix UᵀU, scaled to unit diagonal so that pivots are squared sines of the
 * angles between columns, factored by a blocked pivoted Cholesky. The least-squares solution on the
 * pivot columns is made minimum-norm by removing its component in null(U) = D·null(Â).
 */
function denseColumnPath(
  sys: LayerSystem, u: Csr, v: Float64Array, touched: Uint8Array, kept: number, opts: SolveOptions,
  extra?: { rhs: Float64Array[]; out: Float64Array[] },
): LayerSolution {
  const n = kept;
  const order = new Int32Array(sys.n).fill(-1), back = new Int32Array(n);
  for (let c = 0, p = 0; c < sys.n; c++) if (touched[c]) { order[c] = p; back[p++] = c; }
  const { rank, perm, pivots, dsc, a } = denseGramFactorFast(u, order, back, opts.tol, !opts.rankOnly);
  const condition = rank > 0 ? Math.sqrt(pivots[0] / pivots[rank - 1]) : Infinity;
  const x = new Float64Array(sys.n);
  if (opts.rankOnly) return { rank, x, condition, path: 'dense' };
  const l = (i: number, j: number) => a[i * n + j];
  // w ← L₁⁻ᵀ w on its first `rank` entries
  const backSolve = (w: Float64Array) => {
    for (let t = rank - 1; t >= 0; t--) {
      let s = w[t];
      for (let q = t + 1; q < rank; q++) s -= l(q, t) * w[q];
      w[t] = s / l(t, t);
    }
  };
  // null(U) = D·Π[−L₁⁻ᵀL₂₁ᵀ; I] and the factored Gram matrix of that basis, for the minimum norm
  const k = n - rank;
  const z: Float64Array[] = [];
  for (let f = 0; f < k; f++) {
    const w = new Float64Array(rank);
    for (let t = 0; t < rank; t++) w[t] = -l(rank + f, t);
    backSolve(w);
    const col = new Float64Array(n);
    for (let t = 0; t < rank; t++) col[perm[t]] = dsc[perm[t]] * w[t];
    col[perm[rank + f]] = dsc[perm[rank + f]];
    z.push(col);
  }
  const ztz = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) {
    const val = dot(z[i], z[j]);
    ztz[i * k + j] = val;
    ztz[j * k + i] = val;
  }
  if (k > 0) cholesky(ztz, k);
  // the solution for Uᵀv given as c = Uᵀv on the kept columns
  const solveWith = (c: Float64Array, into: Float64Array) => {
    // basic solution on the pivot columns: L₁L₁ᵀ y_B = (D c)_B in permuted order
    const y = new Float64Array(n);
    for (let t = 0; t < rank; t++) y[t] = dsc[perm[t]] * c[perm[t]];
    for (let t = 0; t < rank; t++) {
      let s = y[t];
      for (let q = 0; q < t; q++) s -= l(t, q) * y[q];
      y[t] = s / l(t, t);
    }
    backSolve(y);
    const xb = new Float64Array(n);
    for (let t = 0; t < rank; t++) xb[perm[t]] = dsc[perm[t]] * y[t];
    // minimum norm: remove the component in null(U)
    if (k > 0) {
      const ztx = Float64Array.from(z, (zi) => dot(zi, xb));
      choleskySolve(ztz, k, ztx);
      for (let i = 0; i < k; i++) for (let q = 0; q < n; q++) xb[q] -= z[i][q] * ztx[i];
    }
    for (let i = 0; i < n; i++) into[back[i]] = xb[i];
  };
  // Uᵀv on the kept columns, each sum over U's rows in increasing order
  const uTv = (e: Float64Array) => {
    const full = new Float64Array(sys.n);
    addMulTransVec(u, e, full);
    return Float64Array.from(back, (col) => full[col]);
  };
  solveWith(uTv(v), x);
  for (const e of extra?.rhs ?? []) {
    const into = new Float64Array(sys.n);
    solveWith(uTv(e), into);
    extra!.out.push(into);
  }
  return { rank, x, condition, path: 'dense' };
}

/** Preconditioned conjugate gradients for an SPD operator; converged at relative residual 1e-14. */
function pcg(
  apply: (v: Float64Array) => Float64Array, precondition: (v: Float64Array) => void,
  b: Float64Array, maxIter: number,
): { x: Float64Array; converged: boolean } {
  const n = b.length;
  const x = b.slice();
  precondition(x);
  const r = apply(x);
  for (let i = 0; i < n; i++) r[i] = b[i] - r[i];
  const bn = Math.sqrt(dot(b, b)) || 1;
  const z = r.slice();
  precondition(z);
  const p = z.slice();
  let rz = dot(r, z);
  const done = () => Math.sqrt(dot(r, r)) <= 1e-14 * bn;
  for (let it = 0; it < maxIter && !done(); it++) {
    const ap = apply(p);
    const alpha = rz / dot(p, ap);
    for (let i = 0; i < n; i++) { x[i] += alpha * p[i]; r[i] -= alpha * ap[i]; }
    z.set(r);
    precondition(z);
    const rz2 = dot(r, z);
    const beta = rz2 / rz;
    rz = rz2;
    for (let i = 0; i < n; i++) p[i] = z[i] + beta * p[i];
  }
  return { x, converged: done() };
}

/** Row · v over the kept columns (a zero entry may sit on an untouched column, which has no place in v). */
function dotSparse(m: Csr, row: number, v: Float64Array, order: Int32Array): number {
  let s = 0;
  for (let k = m.ptr[row]; k < m.ptr[row + 1]; k++) {
    const p = order[m.idx[k]];
    if (p >= 0) s += m.val[k] * v[p];
  }
  return s;
}

/** Rows of S per block of timesGradientRows: its scratch is this many rows of mg values. */
const SGT_BLOCK = 64;

/**
 * y_j = S g_j for every gradient row j (g_j is column j of gt = Gᵀ), each entry summed over S's row in
 * storage order. A block of S's rows is summed into one flat array first (each term lands in a row of
 * mg values, not in mg separate arrays), then copied out: the same terms in the same order, faster.
 */
function timesGradientRows(s: Csr, gt: Csr, mg: number): Float64Array[] {
  const ms = s.rows;
  const y: Float64Array[] = Array.from({ length: mg }, () => new Float64Array(ms));
  const block = new Float64Array(Math.min(SGT_BLOCK, ms) * mg);
  for (let i0 = 0; i0 < ms; i0 += SGT_BLOCK) {
    const i1 = Math.min(ms, i0 + SGT_BLOCK);
    block.fill(0);
    for (let i = i0; i < i1; i++) {
      const at = (i - i0) * mg;
      for (let k = s.ptr[i]; k < s.ptr[i + 1]; k++) {
        const c = s.idx[k], v = s.val[k];
        for (let q = gt.ptr[c]; q < gt.ptr[c + 1]; q++) block[at + gt.idx[q]] += v * gt.val[q];
      }
    }
    for (let j = 0; j < mg; j++) {
      const yj = y[j];
      for (let i = i0; i < i1; i++) yj[i] = block[(i - i0) * mg + j];
    }
  }
  return y;
}

/**
 * Row path. With B = SSᵀ (full rank), Y = B⁻¹SGᵀ, Sc = GGᵀ − GSᵀY, K = I + YᵀY,
 * h = g − Yᵀs: rank = rows(S) + rank(Sc). The least-squares residual t of the gradient rows
 * minimises tᵀK⁻¹t subject to h − t ∈ range(Sc), i.e. t = KZw with Z spanning null(Sc);
 * then b solves Sc b = h − t on the pivot rows, e = YZw, a = B⁻¹(s + e) − Yb and x = Sᵀa + Gᵀb
 * (derivation in docs/METHOD.md). With S empty this is the dense path on U's own Gram matrix.
 */
function rowPath(
  sys: LayerSystem, s: Csr, sRhs: Float64Array, gm: Csr, gRhs: Float64Array, opts: SolveOptions,
  path: 'row' | 'dense', cached: CachedFactors | null, extra?: Extra,
): LayerSolution | null {
  const ms = s.rows, mg = gm.rows, n = sys.n;
  let bs: GramSolver | null;
  if (cached && cached.rows !== undefined) bs = cached.rows;
  else {
    const f = GramSolver.ofRows(s, SPARSE_TOL, false, layoutOf(sys));
    bs = f.ok ? f : null;
    if (cached) cached.rows = bs;
  }
  if (!bs) return null;
  // Y (mg × ms), the Schur complement and its pivoted factor (mg × mg each, the former on the row path)
  checkWork(sys, (mg * ms + (path === 'row' ? 2 : 1) * mg * mg) * 8, opts,
    path === 'row'
      ? `a Schur complement of its ${mg} gradient rows`
      : `a dense factorisation of its ${mg} rows`);

  // Y columns: B⁻¹ S g_j for each gradient row g_j. S Gᵀ is accumulated through Gᵀ's rows (one per
  // input value, listing the few gradient rows that touch it), never through dense g_j.
  const dense = new Float64Array(n);
  const y = timesGradientRows(s, transpose(gm), mg);
  if (ms > 0) bs.solveMany(y);
  // Sc column j: G(g_j − Sᵀy_j) = G P_N g_j, on demand (the dense path)
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
  // Scale by the gradient rows' own norms: pivots become squared sines of the angle between a row
  // and the span of everything before it, as in the envelope factorisation; rows already in the span
  // of S keep a tiny diagonal instead of being blown up to one.
  const norms = rowNorms(gm);
  // zero rows keep scale 1: their diagonal is 0, so they are never pivots and stay in the null space
  const dsc = norms.map((v) => (v > 0 ? 1 / v : 1));
  // the row path forms Sc whole and factors it where it was formed; the dense path's columns come on demand
  const piv = path === 'row' ? schurPivotedCholeskyFast(s, gm, y, n, dsc, opts.tol, !opts.rankOnly)
    : pivotedCholeskyFast(mg, (j, out) => {
      scColumn(j, out);
      for (let i = 0; i < mg; i++) out[i] *= dsc[i] * dsc[j];
    }, norms.map((v, i) => Math.max(0, v * v) * dsc[i] * dsc[i]), opts.tol);
  const r = piv.rank;
  const rank = ms + r;
  // condition: that of S, times the spread of the accepted dense pivots (sines of angles)
  let maxP = 0, minP = Infinity;
  for (let t = 0; t < r; t++) {
    maxP = Math.max(maxP, piv.pivotValues[t]);
    minP = Math.min(minP, piv.pivotValues[t]);
  }
  const denseCond = r > 0 ? Math.sqrt(maxP / minP) : 1;
  const condition = (ms > 0 ? bs.conditionS : 1) * denseCond;
  const x = new Float64Array(n);
  if (opts.rankOnly) return { rank, x, condition, path };

  const solveFor = (sv: Float64Array, gv: Float64Array, into: Float64Array) => {
    const { a, b: bvec } = rowPathSolution({ y, piv, dsc, bs }, sv, gv);
    addMulTransVec(s, a, into);
    addMulTransVec(gm, bvec, into);
    return into;
  };
  solveFor(sRhs, gRhs, x);
  for (const e of extra?.rhs ?? []) extra!.out.push(solveFor(e.sRhs, e.gradRhs, new Float64Array(n)));
  return { rank, x, condition, path };
}
