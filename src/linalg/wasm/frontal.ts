import { linalgInstance, up16 } from './instance.js';
import {
  frontKernelJs, solveFrontalMany, type FrontalFactor, type FrontKernel,
} from '../multifrontal.js';

/**
 * The multifrontal Cholesky's dense front elimination in WebAssembly SIMD (`frontchol` in
 * wasm/linalg.ts), equal to the bit to linalg/multifrontal.ts's eliminateFront: the same pivots,
 * drops and factor. One module instance per factorisation, its memory sized for the largest front;
 * every front is assembled straight into that memory (no copy in), then its columns are copied out.
 * Falls back to the JavaScript kernel where WebAssembly SIMD or the memory is not available.
 */
type FrontChol = (f: number, fm: number, k: number, diag: number, tol: number, allowDrop: number,
  dropped: number, out: number) => number;

export function frontKernelWasm(maxFront: number): FrontKernel {
  const fBytes = up16(maxFront * maxFront * 8), diagAt = fBytes, dropAt = diagAt + up16(maxFront * 8);
  const outAt = dropAt + up16(maxFront);
  const wasm = linalgInstance(outAt + 16);
  if (!wasm) return frontKernelJs();
  const frontchol = wasm.exports.frontchol as FrontChol, buffer = wasm.buffer;
  const out = new Float64Array(buffer, outAt, 2);
  return {
    front: (fm) => new Float64Array(buffer, 0, fm * fm).fill(0),
    diag: (k) => new Float64Array(buffer, diagAt, k).fill(0),
    drops: (k) => new Uint8Array(buffer, dropAt, k).fill(0),
    eliminate: (fm, k, tol, allowDrop, pivots, _drops) => {
      out.set(pivots);
      const failed = frontchol(0, fm, k, diagAt, tol, allowDrop ? 1 : 0, dropAt, outAt);
      pivots.set(out);
      return failed;
    },
  };
}

type FrontSolve = (nf: number, rows: number, rptr: number, cols: number, cptr: number, own: number,
  y: number, w: number) => void;

/** Vectors per pass of frontsolve: four f64x2 lanes. */
const MANY = 8;

/**
 * solveFrontalMany in WebAssembly (`frontsolve`): each vector of `bs` becomes A⁻¹ itself, with the
 * bits solveFrontal gives it. The factor is copied into the module's memory once per call, so this
 * pays for many vectors (the row path's Y), not for one. Falls back to the JavaScript version.
 */
export function solveFrontalManyWasm(f: FrontalFactor, bs: Float64Array[]): void {
  const { n, perm, rows, cols, own } = f, nf = rows.length;
  let rowCount = 0, colCount = 0, maxFront = 0;
  for (let i = 0; i < nf; i++) {
    rowCount += rows[i].length;
    colCount += cols[i].length;
    maxFront = Math.max(maxFront, rows[i].length);
  }
  const at: number[] = [];
  let end = 0;
  for (const bytes of [rowCount * 4, (nf + 1) * 4, colCount * 8, nf * 4, nf * 4, n * MANY * 8,
    maxFront * MANY * 8]) { at.push(end); end += up16(bytes); }
  const wasm = bs.length > 0 ? linalgInstance(end) : null;
  if (!wasm) { solveFrontalMany(f, bs); return; }
  const { exports, buffer } = wasm;
  const frontsolve = exports.frontsolve as FrontSolve;
  const [rowsAt, rptrAt, colsAt, cptrAt, ownAt, yAt, wAt] = at;
  const rv = new Int32Array(buffer, rowsAt, rowCount), rptr = new Int32Array(buffer, rptrAt, nf + 1);
  const cv = new Float64Array(buffer, colsAt, colCount), cptr = new Int32Array(buffer, cptrAt, nf);
  new Int32Array(buffer, ownAt, nf).set(own);
  for (let i = 0, ro = 0, co = 0; i < nf; i++) {
    rptr[i] = ro;
    rv.set(rows[i], ro);
    ro += rows[i].length;
    cptr[i] = co;
    cv.set(cols[i], co);
    co += cols[i].length;
    rptr[i + 1] = ro;
  }
  const y = new Float64Array(buffer, yAt, n * MANY);
  for (let g0 = 0; g0 < bs.length; g0 += MANY) {
    const m = Math.min(MANY, bs.length - g0);
    if (m < MANY) y.fill(0);
    for (let r = 0; r < m; r++) {
      const b = bs[g0 + r];
      for (let k = 0; k < n; k++) y[k * MANY + r] = b[perm[k]];
    }
    frontsolve(nf, rowsAt, rptrAt, colsAt, cptrAt, ownAt, yAt, wAt);
    for (let r = 0; r < m; r++) {
      const b = bs[g0 + r];
      for (let k = 0; k < n; k++) b[perm[k]] = y[k * MANY + r];
    }
  }
}
