import { linalgInstance, up16 } from './instance.js';
import {
  frontKernelJs, solveFrontal, solveFrontalMany,
  type FrontalFactor, type FrontalSolves, type FrontKernel, type FrontPlan,
} from '../multifrontal.js';

/**
 * The multifrontal Cholesky's dense front elimination in WebAssembly SIMD (`frontchol` in
 * wasm/linalg.ts), equal to the bit to linalg/multifrontal.ts's eliminateFront: the same pivots,
 * drops and factor. Every front is assembled straight into the module's memory (no copy in). Where
 * the memory can also hold the whole factor, each front's columns are kept there and the factor's
 * solves run in the same module without copying it (`frontsolve1`, `frontsolve`); otherwise the
 * columns are copied out and solves copy the factor in per call. Falls back to the JavaScript kernel
 * where WebAssembly SIMD or the memory is not available.
 */
type FrontChol = (f: number, fm: number, k: number, diag: number, tol: number, allowDrop: number,
  dropped: number, out: number) => number;
type FrontSolve = (nf: number, rows: number, rptr: number, cols: number, cptr: number, own: number,
  y: number, w: number) => void;

/** Vectors per pass of frontsolve: four f64x2 lanes. */
const MANY = 8;

/** Where the factor and the solves' work live in a module's memory (byte offsets). */
interface FactorLayout {
  rowsAt: number; rptrAt: number; colsAt: number; cptrAt: number; ownAt: number; yAt: number; wAt: number;
  end: number;
}

function factorLayout(start: number, plan: FrontPlan, colCount: number): FactorLayout {
  const nf = plan.rows.length;
  let rowCount = 0;
  for (const r of plan.rows) rowCount += r.length;
  const at: number[] = [];
  let end = start;
  for (const bytes of [rowCount * 4, (nf + 1) * 4, colCount * 8, nf * 4, nf * 4, plan.n * MANY * 8,
    plan.maxFront * MANY * 8]) { at.push(end); end += up16(bytes); }
  const [rowsAt, rptrAt, colsAt, cptrAt, ownAt, yAt, wAt] = at;
  return { rowsAt, rptrAt, colsAt, cptrAt, ownAt, yAt, wAt, end };
}

/** The fronts' positions, their offsets and own column counts written into the layout. */
function writePattern(buffer: ArrayBuffer, o: FactorLayout, plan: FrontPlan): void {
  const nf = plan.rows.length, rptr = new Int32Array(buffer, o.rptrAt, nf + 1);
  const rv = new Int32Array(buffer, o.rowsAt, (o.rptrAt - o.rowsAt) / 4);
  for (let i = 0, ro = 0; i < nf; i++) {
    rptr[i] = ro;
    rv.set(plan.rows[i], ro);
    ro += plan.rows[i].length;
    rptr[i + 1] = ro;
  }
  new Int32Array(buffer, o.ownAt, nf).set(plan.own);
}

export function frontKernelWasm(plan: FrontPlan): FrontKernel {
  const { maxFront } = plan;
  const fBytes = up16(maxFront * maxFront * 8), diagAt = fBytes, dropAt = diagAt + up16(maxFront * 8);
  const outAt = dropAt + up16(maxFront), start = outAt + 16;
  let colCount = 0;
  for (let i = 0; i < plan.rows.length; i++) colCount += plan.own[i] * plan.rows[i].length;
  const layout = factorLayout(start, plan, colCount);
  const resident = linalgInstance(layout.end);
  const wasm = resident ?? linalgInstance(start);
  if (!wasm) return frontKernelJs();
  const frontchol = wasm.exports.frontchol as FrontChol, buffer = wasm.buffer;
  const out = new Float64Array(buffer, outAt, 2);
  const kernel: FrontKernel = {
    front: (fm) => new Float64Array(buffer, 0, fm * fm).fill(0),
    diag: (k) => new Float64Array(buffer, diagAt, k).fill(0),
    drops: (k) => new Uint8Array(buffer, dropAt, k).fill(0),
    eliminate: (fm, k, tol, allowDrop, pivots, _drops) => {
      out.set(pivots);
      const failed = frontchol(0, fm, k, diagAt, tol, allowDrop ? 1 : 0, dropAt, outAt);
      pivots.set(out);
      return failed;
    },
    keep: (_i, f, fm, k) => f.slice(0, k * fm),
    // a factor too large to hold twice: one vector in JavaScript, many through a copy
    solves: (factor) => ({
      solve: (b) => solveFrontal(factor, b), solveMany: (bs) => solveFrontalManyWasm(factor, bs),
    }),
  };
  if (!resident) return kernel;
  writePattern(buffer, layout, plan);
  const cptr = new Int32Array(buffer, layout.cptrAt, plan.rows.length);
  let cursor = 0;
  kernel.keep = (i, f, fm, k) => {
    const kept = new Float64Array(buffer, layout.colsAt + cursor * 8, k * fm);
    kept.set(f.subarray(0, k * fm));
    cptr[i] = cursor;
    cursor += k * fm;
    return kept;
  };
  kernel.solves = (factor) => residentSolves(wasm.exports, buffer, layout, factor);
  return kernel;
}

/** Solves in the memory that holds the factor: nothing copied but the vectors. */
function residentSolves(
  exports: WebAssembly.Exports, buffer: ArrayBuffer, o: FactorLayout, f: FrontalFactor,
): FrontalSolves {
  const nf = f.rows.length, { n, perm } = f;
  const one = exports.frontsolve1 as FrontSolve, many = exports.frontsolve as FrontSolve;
  return {
    solve: (b) => {
      const y = new Float64Array(buffer, o.yAt, n);
      for (let k = 0; k < n; k++) y[k] = b[perm[k]];
      one(nf, o.rowsAt, o.rptrAt, o.colsAt, o.cptrAt, o.ownAt, o.yAt, o.wAt);
      for (let k = 0; k < n; k++) b[perm[k]] = y[k];
    },
    solveMany: (bs) => manyThrough(many, buffer, o, f, bs),
  };
}

/** Groups of MANY vectors interleaved through frontsolve. */
function manyThrough(
  frontsolve: FrontSolve, buffer: ArrayBuffer, o: FactorLayout, f: FrontalFactor, bs: Float64Array[],
): void {
  const { n, perm } = f, nf = f.rows.length;
  const y = new Float64Array(buffer, o.yAt, n * MANY);
  for (let g0 = 0; g0 < bs.length; g0 += MANY) {
    const m = Math.min(MANY, bs.length - g0);
    if (m < MANY) y.fill(0);
    for (let r = 0; r < m; r++) {
      const b = bs[g0 + r];
      for (let k = 0; k < n; k++) y[k * MANY + r] = b[perm[k]];
    }
    frontsolve(nf, o.rowsAt, o.rptrAt, o.colsAt, o.cptrAt, o.ownAt, o.yAt, o.wAt);
    for (let r = 0; r < m; r++) {
      const b = bs[g0 + r];
      for (let k = 0; k < n; k++) b[perm[k]] = y[k * MANY + r];
    }
  }
}

/** A module holding a copy of factor f (for a factor whose columns live in JavaScript arrays). */
function copyIn(f: FrontalFactor) {
  const nf = f.rows.length;
  let colCount = 0, maxFront = 0;
  for (let i = 0; i < nf; i++) {
    colCount += f.cols[i].length;
    maxFront = Math.max(maxFront, f.rows[i].length);
  }
  const plan = { n: f.n, rows: f.rows, own: f.own, maxFront };
  const o = factorLayout(0, plan, colCount);
  const wasm = linalgInstance(o.end);
  if (!wasm) return null;
  writePattern(wasm.buffer, o, plan);
  const cv = new Float64Array(wasm.buffer, o.colsAt, colCount);
  const cptr = new Int32Array(wasm.buffer, o.cptrAt, nf);
  for (let i = 0, co = 0; i < nf; i++) {
    cptr[i] = co;
    cv.set(f.cols[i], co);
    co += f.cols[i].length;
  }
  return { wasm, o };
}

/**
 * solveFrontalMany in WebAssembly (`frontsolve`): each vector of `bs` becomes A⁻¹ itself, with the
 * bits solveFrontal gives it. The factor is copied into a module's memory once per call, so this
 * pays for many vectors, not for one. Falls back to the JavaScript version.
 */
export function solveFrontalManyWasm(f: FrontalFactor, bs: Float64Array[]): void {
  const held = bs.length > 0 ? copyIn(f) : null;
  if (!held) { solveFrontalMany(f, bs); return; }
  manyThrough(held.wasm.exports.frontsolve as FrontSolve, held.wasm.buffer, held.o, f, bs);
}

/** solveFrontal through `frontsolve1` on a copy of the factor (tests; the solver keeps it resident). */
export function solveFrontalOneWasm(f: FrontalFactor, b: Float64Array): void {
  const held = copyIn(f);
  if (!held) { solveFrontal(f, b); return; }
  residentSolves(held.wasm.exports, held.wasm.buffer, held.o, f).solve(b);
}
