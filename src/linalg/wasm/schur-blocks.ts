import { SCHUR_BLOCK_BYTES } from '../../core/limits.js';
import { schurColumns } from '../schur.js';
import type { Csr } from '../sparse.js';
import { linalgInstance, up16 } from './instance.js';

type SchurBlock = (sptr: number, sidx: number, sval: number, ms: number, gptr: number, gidx: number,
  gval: number, mg: number, j0: number, jb: number, yt: number, d: number, sc: number) => void;


/**
 * linalg/schur.ts's schurColumns in WebAssembly (`schurblock`), the same result to the bit, over
 * blocks of gradient rows: the n × mg matrix D = Gᵀ − SᵀY is never whole (cnn3_c1's layer 1 at 224²:
 * 681 MB in one piece, 64 MiB per block here). S and G are read once per block. Falls back to the
 * reference where WebAssembly SIMD or the memory is missing. `blockBytes`: for tests.
 */
export function schurColumnsBlocked(
  s: Csr, gm: Csr, y: Float64Array[], n: number, blockBytes = SCHUR_BLOCK_BYTES,
): Float64Array {
  const ms = s.rows, mg = gm.rows;
  // an even block keeps the f64x2 lanes paired (only the last block may be odd)
  const jb = Math.min(mg, Math.max(2, Math.floor(blockBytes / (8 * Math.max(1, n))) & ~1));
  const at: number[] = [];
  let end = 0;
  for (const bytes of [(ms + 1) * 4, s.idx.length * 4, s.val.length * 8, (mg + 1) * 4, gm.idx.length * 4,
    gm.val.length * 8, ms * jb * 8, n * jb * 8, mg * mg * 8]) { at.push(end); end += up16(bytes); }
  const wasm = linalgInstance(end);
  if (!wasm) return schurColumns(s, gm, y, n);
  const { exports, buffer } = wasm;
  const schurblock = exports.schurblock as SchurBlock;
  const [sptr, sidx, sval, gptr, gidx, gval, yt, d, sc] = at;
  new Int32Array(buffer, sptr, ms + 1).set(s.ptr.subarray(0, ms + 1));
  new Int32Array(buffer, sidx, s.idx.length).set(s.idx);
  new Float64Array(buffer, sval, s.val.length).set(s.val);
  new Int32Array(buffer, gptr, mg + 1).set(gm.ptr.subarray(0, mg + 1));
  new Int32Array(buffer, gidx, gm.idx.length).set(gm.idx);
  new Float64Array(buffer, gval, gm.val.length).set(gm.val);
  const ytv = new Float64Array(buffer, yt, ms * jb), dv = new Float64Array(buffer, d, n * jb);
  for (let j0 = 0; j0 < mg; j0 += jb) {
    const w = Math.min(jb, mg - j0);
    for (let j = 0; j < w; j++) { const yj = y[j0 + j]; for (let r = 0; r < ms; r++) ytv[r * w + j] = yj[r]; }
    if (j0 > 0) dv.fill(0);
    schurblock(sptr, sidx, sval, ms, gptr, gidx, gval, mg, j0, w, yt, d, sc);
  }
  return new Float64Array(buffer, sc, mg * mg).slice();
}
