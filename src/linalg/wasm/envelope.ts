import {
  choleskyEnvelope, Envelope, envelopeFirst, type CholeskyReport,
} from '../envelope.js';
import { markedGramOfColumns } from '../envgram.js';
import type { Csr } from '../sparse.js';
import { instantiate, withFallback } from './dense.js';

type EnvCholB = (data: number, first: number, ptr: number, dropped: number, out: number, n: number,
  tol: number, allowDrop: number, pk: number, fl: number) => number;
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

/**
 * choleskyEnvelope in WebAssembly, 16 rows at a time (wasm/linalg.ts's `envcholb`): the same factor
 * in `a` (to the bit) and the same report. Throws RangeError when the memory cannot be had.
 */
export function choleskyEnvelopeBlockedWasm(a: Envelope, tol: number, allowDrop = false): CholeskyReport {
  const { n } = a;
  const data = 0, first = up(a.data.length * 8), ptr = first + up(n * 4), dropped = ptr + up((n + 1) * 4);
  const out = dropped + up(n + 4), fl = out + 16, pk = fl + 128;
  // the packed block spans at most the widest row plus the block
  let widest = 0;
  for (let i = 0; i < n; i++) widest = Math.max(widest, i - a.first[i]);
  const { fn, buffer } = instantiate(pk + (widest + 32) * 128);
  const d = new Float64Array(buffer, data, a.data.length);
  d.set(a.data);
  new Int32Array(buffer, first, n).set(a.first);
  new Int32Array(buffer, ptr, n + 1).set(a.ptr);
  const envcholb = (fn as unknown as { envcholb: EnvCholB }).envcholb;
  const failed = envcholb(data, first, ptr, dropped, out, n, tol, allowDrop ? 1 : 0, pk, fl);
  a.data.set(d);
  const marks = new Uint8Array(buffer, dropped, n), list: number[] = [];
  for (let i = 0; i < n; i++) if (marks[i]) list.push(i);
  const [maxPivot, minPivot] = new Float64Array(buffer, out, 2);
  return { ok: failed < 0, dropped: list, maxPivot, minPivot };
}

export function choleskyEnvelopeBlockedFast(a: Envelope, tol: number, allowDrop = false): CholeskyReport {
  return withFallback(
    () => choleskyEnvelopeBlockedWasm(a, tol, allowDrop), () => choleskyEnvelope(a, tol, allowDrop));
}
