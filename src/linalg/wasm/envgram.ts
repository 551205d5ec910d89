import { Envelope, envelopeFirst } from '../envelope.js';
import { markedGramOfColumns } from '../envgram.js';
import type { Csr } from '../sparse.js';
import { instantiate, withFallback } from './dense.js';

type GramEnv = (rptr: number, ridx: number, rval: number, rows: number, order: number, first: number,
  eptr: number, data: number, mark: number, buf: number, vbuf: number, slot: number) => number;

const ALIGN = 16;
const up = (b: number) => Math.ceil(b / ALIGN) * ALIGN;

/**
 * markedGramOfColumns in WebAssembly (wasm/linalg.ts's `gramenv`): the same envelope and pattern to
 * the bit. Throws RangeError when the memory cannot be had; a row that lists a column twice hands
 * the whole matrix to the reference.
 */
export function markedGramOfColumnsWasm(
  r: Csr, order: Int32Array, n: number, first = envelopeFirst(r, order, n),
): { env: Envelope; mark: Uint8Array } {
  const ptr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) ptr[i + 1] = ptr[i] + (i - first[i] + 1);
  const size = ptr[n], rows = r.rows, nnz = r.ptr[rows];
  let longest = 0;
  for (let i = 0; i < rows; i++) longest = Math.max(longest, r.ptr[i + 1] - r.ptr[i]);
  const at: number[] = [];
  let end = 0;
  for (const bytes of [(rows + 1) * 4, nnz * 4, nnz * 8, r.cols * 4, n * 4, (n + 1) * 4, size * 8, size,
    longest * 4, longest * 8, n * 4]) { at.push(end); end += up(bytes); }
  const { fn, buffer } = instantiate(end);
  const [rptr, ridx, rval, ord, fst, eptr, data, mark, buf, vbuf, slot] = at;
  new Int32Array(buffer, slot, n).fill(-1);
  new Int32Array(buffer, rptr, rows + 1).set(r.ptr.subarray(0, rows + 1));
  new Int32Array(buffer, ridx, nnz).set(r.idx.subarray(0, nnz));
  new Float64Array(buffer, rval, nnz).set(r.val.subarray(0, nnz));
  new Int32Array(buffer, ord, r.cols).set(order.subarray(0, r.cols));
  new Int32Array(buffer, fst, n).set(first);
  new Int32Array(buffer, eptr, n + 1).set(ptr);
  const gramenv = (fn as unknown as { gramenv: GramEnv }).gramenv;
  if (gramenv(rptr, ridx, rval, rows, ord, fst, eptr, data, mark, buf, vbuf, slot) !== 0) {
    return markedGramOfColumns(r, order, n, first);
  }
  const env = new Envelope(n, first, ptr, new Float64Array(buffer, data, size).slice());
  return { env, mark: new Uint8Array(buffer, mark, size).slice() };
}

export function markedGramOfColumnsFast(
  r: Csr, order: Int32Array, n: number, first = envelopeFirst(r, order, n),
): { env: Envelope; mark: Uint8Array } {
  return withFallback(
    () => markedGramOfColumnsWasm(r, order, n, first), () => markedGramOfColumns(r, order, n, first));
}
