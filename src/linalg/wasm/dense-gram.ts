import { denseGramFactor, type DenseGramFactor } from '../gram.js';
import { transpose, type Csr } from '../sparse.js';
import { blockedPivotedCholeskyFast, instantiate, pstrfLayout, withFallback, type Pstrf } from './dense.js';

type GramLower = (uptr: number, uidx: number, uval: number, tptr: number, tidx: number, tval: number,
  order: number, back: number, n: number, a: number) => void;
type SymScale = (a: number, n: number, d: number, sym: number) => void;
interface GramExports { gramlower: GramLower; symscale: SymScale; pstrf: Pstrf }

const up = (b: number) => Math.ceil(b / 16) * 16;
/** pstrf's panel width, as blockedPivotedCholesky's default. */
const NB = 48;

/**
 * Whether every row lists its columns in strictly increasing order and the positions increase with the
 * columns: gramlower's early stop at the diagonal needs both.
 */
function sortedPositions(u: Csr, order: Int32Array): boolean {
  for (let r = 0; r < u.rows; r++) {
    for (let k = u.ptr[r] + 1; k < u.ptr[r + 1]; k++) if (u.idx[k] <= u.idx[k - 1]) return false;
  }
  for (let c = 0, last = -1; c < order.length; c++) {
    if (order[c] < 0) continue;
    if (order[c] <= last) return false;
    last = order[c];
  }
  return true;
}

/**
 * linalg/gram.ts's denseGramFactor in WebAssembly, the same result to the bit: UᵀU's lower triangle
 * is summed (`gramlower`), scaled (`symscale`) and factored (`pstrf`) in one memory, half the sums of
 * the whole matrix and no copy of it; `a` is copied out only when `keepFactor` (the solution needs
 * it, the rank does not; else it is empty). Returns null, for the caller to run the reference, when
 * U's rows are not sorted with distinct columns (a repeated column can make the reference's matrix
 * asymmetric) or `order` does not increase over the kept columns. Throws RangeError when the memory
 * cannot be had.
 */
export function denseGramFactorWasm(
  u: Csr, order: Int32Array, back: Int32Array, tol: number, keepFactor: boolean,
): DenseGramFactor | null {
  if (!sortedPositions(u, order)) return null;
  const n = back.length, ut = transpose(u);
  const parts: (Int32Array | Float64Array | number)[] = [
    u.ptr.subarray(0, u.rows + 1), u.idx, u.val, ut.ptr, ut.idx, ut.val, order, back, n * 8,
  ];
  const at: number[] = [];
  let end = 0;
  for (const p of parts) { at.push(end); end += up(typeof p === 'number' ? p : p.byteLength); }
  const o = pstrfLayout(n, NB, end);
  const { fn, buffer } = instantiate(o.end);
  parts.forEach((p, i) => {
    if (p instanceof Int32Array) new Int32Array(buffer, at[i], p.length).set(p);
    else if (p instanceof Float64Array) new Float64Array(buffer, at[i], p.length).set(p);
  });
  const [uptr, uidx, uval, tptr, tidx, tval, ord, bk, d] = at;
  const k = fn as unknown as GramExports;
  k.gramlower(uptr, uidx, uval, tptr, tidx, tval, ord, bk, n, o.a);
  const m = new Float64Array(buffer, o.a, n * n);
  const dsc = new Float64Array(n);
  for (let i = 0; i < n; i++) dsc[i] = m[i * n + i] > 0 ? 1 / Math.sqrt(m[i * n + i]) : 0;
  new Float64Array(buffer, d, n).set(dsc);
  k.symscale(o.a, n, d, 0);
  const perm = new Int32Array(buffer, o.perm, n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const rank = k.pstrf(o.a, o.pt, o.work, o.perm, o.piv, n, NB, tol, 0);
  return {
    rank, perm: perm.slice(), pivots: new Float64Array(buffer, o.piv, rank).slice(), dsc,
    a: keepFactor ? m.slice() : new Float64Array(0),
  };
}

/** denseGramFactor where WebAssembly SIMD and the memory are available, else its reference. */
export function denseGramFactorFast(
  u: Csr, order: Int32Array, back: Int32Array, tol: number, keepFactor: boolean,
): DenseGramFactor {
  const reference = () => denseGramFactor(u, order, back, tol, blockedPivotedCholeskyFast);
  return withFallback(() => denseGramFactorWasm(u, order, back, tol, keepFactor) ?? reference(), reference);
}
