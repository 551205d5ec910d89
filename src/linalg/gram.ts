import { blockedPivotedCholesky } from './dense.js';
import { transpose, type Csr } from './sparse.js';

/**
 * The Gram matrix RᵀR of a sparse matrix's columns as a symmetric sparse matrix (both triangles and
 * the diagonal, columns of each row in increasing order), with column c at position order[c]
 * (order[c] = -1 drops the column). Its cost is Σ over R's rows of nnz(row)².
 */
export function gramMatrix(r: Csr, order: Int32Array, n: number): Csr {
  const rt = transpose(r);
  const back = new Int32Array(n);
  for (let c = 0; c < r.cols; c++) if (order[c] >= 0) back[order[c]] = c;
  const acc = new Float64Array(n);
  const mark = new Int32Array(n).fill(-1);
  let list = new Int32Array(64);
  const ptr = new Int32Array(n + 1);
  // rows go into chunks, joined once at the end: no growing copies, and a peak of twice the result
  const chunks: { idx: Int32Array; val: Float64Array; used: number }[] = [];
  let idx = new Int32Array(0), val = new Float64Array(0), used = 0;
  for (let pa = 0; pa < n; pa++) {
    const c = back[pa];
    let m = 0;
    for (let q = rt.ptr[c]; q < rt.ptr[c + 1]; q++) {
      const row = rt.idx[q], va = rt.val[q];
      for (let k = r.ptr[row]; k < r.ptr[row + 1]; k++) {
        const pb = order[r.idx[k]];
        if (pb < 0) continue;
        if (mark[pb] !== pa) {
          mark[pb] = pa;
          acc[pb] = 0;
          if (m === list.length) list = grow(list, 2 * m);
          list[m++] = pb;
        }
        acc[pb] += va * r.val[k];
      }
    }
    list.subarray(0, m).sort();
    if (used + m > idx.length) {
      const size = Math.max(m, Math.min(GRAM_CHUNK, 4 * n));
      idx = new Int32Array(size);
      val = new Float64Array(size);
      used = 0;
      chunks.push({ idx, val, used });
    }
    for (let t = 0; t < m; t++) { idx[used + t] = list[t]; val[used + t] = acc[list[t]]; }
    used += m;
    if (m > 0) chunks[chunks.length - 1].used = used;
    ptr[pa + 1] = ptr[pa] + m;
  }
  const out = { rows: n, cols: n, ptr, idx: new Int32Array(ptr[n]), val: new Float64Array(ptr[n]) };
  let at = 0;
  for (const c of chunks) {
    out.idx.set(c.idx.subarray(0, c.used), at);
    out.val.set(c.val.subarray(0, c.used), at);
    at += c.used;
  }
  return out;
}

/** Entries per chunk of gramMatrix's rows (12 MiB of indices and values). */
const GRAM_CHUNK = 2 ** 20;

function grow<T extends Int32Array | Float64Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

/**
 * UᵀU on the kept columns (n×n, row-major; order[c] = position of column c or −1, back inverts it),
 * each entry summed over U's rows in increasing order. Built a row of the result at a time, through
 * U's columns (Uᵀ's rows list each row of U in increasing order, a repeated column as often as it
 * occurs): the same sums in the same order as scattering each row of U's pairs, but every write lands
 * in one contiguous row.
 */
export function denseGram(u: Csr, order: Int32Array, back: Int32Array): Float64Array {
  const n = back.length, ut = transpose(u);
  const a = new Float64Array(n * n);
  for (let p1 = 0; p1 < n; p1++) {
    const c = back[p1], row = p1 * n;
    for (let q = ut.ptr[c]; q < ut.ptr[c + 1]; q++) {
      const r = ut.idx[q], v1 = ut.val[q];
      for (let k2 = u.ptr[r]; k2 < u.ptr[r + 1]; k2++) {
        const p2 = order[u.idx[k2]];
        if (p2 >= 0) a[row + p2] += v1 * u.val[k2];
      }
    }
  }
  return a;
}

/** The dense path's rank-revealing factorisation of UᵀU (denseGramFactor). */
export interface DenseGramFactor {
  rank: number;
  /** Position → kept column's position before pivoting. */
  perm: Int32Array;
  /** Accepted pivots, in order. */
  pivots: Float64Array;
  /** The scaling to unit diagonal: 1/√(UᵀU)_ii, 0 on a zero column. */
  dsc: Float64Array;
  /** n × n, row-major: L in the lower triangle's first `rank` columns; the rest is scratch. */
  a: Float64Array;
}

type BlockedFactor = (a: Float64Array, n: number, tol: number) => { rank: number; perm: Int32Array; pivots: Float64Array };

/**
 * UᵀU scaled to unit diagonal, so that pivots are squared sines of the angles between columns, and
 * factored by the blocked pivoted Cholesky (`factor`: the reference, or its WebAssembly twin).
 */
export function denseGramFactor(
  u: Csr, order: Int32Array, back: Int32Array, tol: number, factor: BlockedFactor = blockedPivotedCholesky,
): DenseGramFactor {
  const n = back.length, a = denseGram(u, order, back);
  const dsc = new Float64Array(n);
  for (let i = 0; i < n; i++) dsc[i] = a[i * n + i] > 0 ? 1 / Math.sqrt(a[i * n + i]) : 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] *= dsc[i] * dsc[j];
  return { ...factor(a, n, tol), dsc, a };
}
