import { SCHUR_BLOCK_BYTES, SCHUR_TILE_ROWS } from '../../core/limits.js';
import type { PivotedCholesky } from '../dense.js';
import { schurDiagonal, schurPivotedCholesky } from '../schur.js';
import { transpose, type Csr } from '../sparse.js';
import { instantiate, pstrfLayout, pstrfPivoted, withFallback, type Pstrf } from './dense.js';

type SchurT = (stptr: number, stidx: number, stval: number, ms: number, gptr: number, gidx: number,
  gval: number, mg: number, gtptr: number, gtidx: number, gtval: number, yt: number, dt: number, sc: number,
  n: number, zf: number, cur: number, jBeg: number, jEnd: number) => void;
type SymScale = (a: number, n: number, d: number, sym: number) => void;
interface SchurExports { schurt: SchurT; symscale: SymScale; pstrf: Pstrf }

const up = (b: number) => Math.ceil(b / 16) * 16;
/** pstrf's panel width, as in dense.ts. */
const NB = 48;

/**
 * The row path's Schur complement Sc = G(Gᵀ − SᵀY) in WebAssembly (wasm/linalg.ts's `schurt`), 16
 * gradient rows at a time with every element finished in registers: the same result to the bit as
 * schurColumns. Sc is left in the module's memory where pstrf's layout puts its matrix, so that the
 * factorisation runs on it in place. Yᵀ is copied tile by tile (each tile's rows contiguous) in groups
 * of at most `groupBytes`, so the copy stays bounded whatever the image size (at 224², Yᵀ whole would
 * be hundreds of MiB); D takes n × 16 values. Throws RangeError when the memory cannot be had.
 */
function schurInMemory(s: Csr, gm: Csr, y: Float64Array[], n: number, groupBytes: number) {
  const ms = s.rows, mg = gm.rows, lanes = SCHUR_TILE_ROWS;
  const tiles = Math.ceil(mg / lanes);
  const perGroup = Math.max(1, Math.min(tiles, Math.floor(groupBytes / Math.max(1, ms * lanes * 8))));
  const sNnz = s.idx.length, gNnz = gm.idx.length;
  const parts: [Int32Array | Float64Array | null, number][] = [
    [null, (n + 1) * 4], [null, sNnz * 4], [null, sNnz * 8], // Sᵀ, transposed in place below
    [gm.ptr.subarray(0, mg + 1), (mg + 1) * 4], [gm.idx, gNnz * 4], [gm.val, gNnz * 8],
    [null, (n + 1) * 4], [null, gNnz * 4], [null, gNnz * 8], // Gᵀ, likewise
    [null, perGroup * ms * lanes * 8], [null, n * lanes * 8], [null, ms + 160],
    [null, n * 4], // cur: where each column's next tile starts
    [null, mg * 8], // the scaling, for symscale
  ];
  const at: number[] = [];
  let end = 0;
  for (const [, bytes] of parts) { at.push(end); end += up(bytes); }
  const o = pstrfLayout(mg, NB, end);
  const { fn, buffer } = instantiate(o.end);
  parts.forEach(([a], i) => {
    if (a instanceof Int32Array) new Int32Array(buffer, at[i], a.length).set(a);
    else if (a) new Float64Array(buffer, at[i], a.length).set(a);
  });
  const [stptr, stidx, stval, gptr, gidx, gval, gtptr, gtidx, gtval, yt, dt, zf, cur, d] = at;
  // the columns of S and G (rows in increasing order, as the reference adds them), written where
  // the kernel reads them: no JavaScript copy of either transpose
  const view = (p: number, q: number, r: number, nnz: number) => ({
    ptr: new Int32Array(buffer, p, n + 1), idx: new Int32Array(buffer, q, nnz),
    val: new Float64Array(buffer, r, nnz),
  });
  transpose({ ...s, cols: n }, view(stptr, stidx, stval, sNnz));
  const gtv = view(gtptr, gtidx, gtval, gNnz);
  transpose({ ...gm, cols: n }, gtv);
  new Int32Array(buffer, cur, n).set(gtv.ptr.subarray(0, n));
  const k = fn as unknown as SchurExports;
  const ytv = new Float64Array(buffer, yt, perGroup * ms * lanes);
  for (let t0 = 0; t0 < tiles; t0 += perGroup) {
    const t1 = Math.min(tiles, t0 + perGroup);
    // tile t's row r holds y[16t .. 16t+15][r]; lanes past mg stay zero
    if (t1 * lanes > mg) ytv.fill(0, (t1 - 1 - t0) * ms * lanes, (t1 - t0) * ms * lanes);
    for (let t = t0; t < t1; t++) {
      // row by row, so that the writes are contiguous (the reads are 16 sequential streams)
      const ys = y.slice(t * lanes, Math.min(mg, (t + 1) * lanes)), w = ys.length;
      for (let r = 0, at = (t - t0) * ms * lanes; r < ms; r++, at += lanes) {
        for (let jl = 0; jl < w; jl++) ytv[at + jl] = ys[jl][r];
      }
    }
    k.schurt(stptr, stidx, stval, ms, gptr, gidx, gval, mg, gtptr, gtidx, gtval, yt, dt, o.a, n, zf, cur,
      t0 * lanes, Math.min(mg, t1 * lanes));
  }
  return { k, buffer, o, d };
}

/** schurColumns in WebAssembly (tests; the solver takes schurPivotedCholeskyWasm). `groupBytes`: Yᵀ's copy. */
export function schurColumnsTiledWasm(
  s: Csr, gm: Csr, y: Float64Array[], n: number, groupBytes = SCHUR_BLOCK_BYTES,
): Float64Array {
  const { buffer, o } = schurInMemory(s, gm, y, n, groupBytes);
  return new Float64Array(buffer, o.a, gm.rows * gm.rows).slice();
}

/**
 * linalg/schur.ts's schurPivotedCholesky in WebAssembly, the same result to the bit: Sc is formed,
 * symmetrised and scaled (`symscale`) and factored (`pstrf`) in one memory, with no copy of the mg × mg
 * matrix in between. Without keepFactor, l is left empty (the rank and pivots need no copy of the
 * factor). Throws RangeError when the memory cannot be had.
 */
export function schurPivotedCholeskyWasm(
  s: Csr, gm: Csr, y: Float64Array[], n: number, dsc: Float64Array, tol: number,
  keepFactor = true, groupBytes = SCHUR_BLOCK_BYTES,
): PivotedCholesky {
  const mg = gm.rows;
  const { k, buffer, o, d } = schurInMemory(s, gm, y, n, groupBytes);
  // the diagonal before symscale scales it in place (symmetrising leaves it as it is)
  const diag = schurDiagonal(new Float64Array(buffer, o.a, mg * mg), mg, dsc);
  new Float64Array(buffer, d, mg).set(dsc);
  k.symscale(o.a, mg, d, 1);
  return pstrfPivoted(k.pstrf, buffer, o, mg, diag, tol, NB, keepFactor);
}

export function schurPivotedCholeskyFast(
  s: Csr, gm: Csr, y: Float64Array[], n: number, dsc: Float64Array, tol: number, keepFactor: boolean,
): PivotedCholesky {
  return withFallback(() => schurPivotedCholeskyWasm(s, gm, y, n, dsc, tol, keepFactor),
    () => schurPivotedCholesky(s, gm, y, n, dsc, tol));
}
