import { schurColumns } from '../schur.js';
import { transpose, type Csr } from '../sparse.js';
import { instantiate, withFallback } from './dense.js';

type SchurT = (stptr: number, stidx: number, stval: number, ms: number, gptr: number, gidx: number,
  gval: number, mg: number, gtptr: number, gtidx: number, gtval: number, yt: number, dt: number, sc: number,
  n: number, zf: number, cur: number) => void;

const up = (b: number) => Math.ceil(b / 16) * 16;

/**
 * schurColumns in WebAssembly, 16 gradient rows at a time with every element finished in registers
 * (wasm/linalg.ts's `schurt`): the same result to the bit, and D takes n × 16 values instead of
 * n × mg. Throws RangeError when the memory cannot be had.
 */
export function schurColumnsTiledWasm(s: Csr, gm: Csr, y: Float64Array[], n: number): Float64Array {
  const ms = s.rows, mg = gm.rows;
  // the columns of S and G (rows in increasing order, as the reference adds them)
  const st = transpose({ ...s, cols: n }), gt = transpose({ ...gm, cols: n });
  const parts: [Int32Array | Float64Array | null, number][] = [
    [st.ptr, (n + 1) * 4], [st.idx, st.idx.length * 4], [st.val, st.val.length * 8],
    [gm.ptr.subarray(0, mg + 1), (mg + 1) * 4], [gm.idx, gm.idx.length * 4], [gm.val, gm.val.length * 8],
    [gt.ptr, (n + 1) * 4], [gt.idx, gt.idx.length * 4], [gt.val, gt.val.length * 8],
    [null, ms * mg * 8 + 128], [null, n * 128], [null, mg * mg * 8], [null, ms + 160],
    [gt.ptr.subarray(0, n), n * 4], // cur: where each column's next tile starts
  ];
  const at: number[] = [];
  let end = 0;
  for (const [, bytes] of parts) { at.push(end); end += up(bytes); }
  const { fn, buffer } = instantiate(end);
  parts.forEach(([a], i) => {
    if (a instanceof Int32Array) new Int32Array(buffer, at[i], a.length).set(a);
    else if (a) new Float64Array(buffer, at[i], a.length).set(a);
  });
  const [stptr, stidx, stval, gptr, gidx, gval, gtptr, gtidx, gtval, yt, dt, sc, zf, cur] = at;
  const ytv = new Float64Array(buffer, yt, ms * mg);
  // Yᵀ eight columns at a time, so that neither side is read with a long stride alone
  for (let j0 = 0; j0 < mg; j0 += 8) {
    const j1 = Math.min(mg, j0 + 8);
    for (let r = 0; r < ms; r++) for (let j = j0; j < j1; j++) ytv[r * mg + j] = y[j][r];
  }
  (fn as unknown as { schurt: SchurT }).schurt(
    stptr, stidx, stval, ms, gptr, gidx, gval, mg, gtptr, gtidx, gtval, yt, dt, sc, n, zf, cur);
  return new Float64Array(buffer, sc, mg * mg).slice();
}

export function schurColumnsTiledFast(s: Csr, gm: Csr, y: Float64Array[], n: number): Float64Array {
  return withFallback(() => schurColumnsTiledWasm(s, gm, y, n), () => schurColumns(s, gm, y, n));
}
