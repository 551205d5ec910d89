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
  let idx = new Int32Array(Math.max(16, 4 * n)), val = new Float64Array(idx.length);
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
    const at = ptr[pa];
    if (at + m > idx.length) {
      idx = grow(idx, Math.max(at + m, 2 * idx.length));
      val = grow(val, idx.length);
    }
    for (let t = 0; t < m; t++) { idx[at + t] = list[t]; val[at + t] = acc[list[t]]; }
    ptr[pa + 1] = at + m;
  }
  const nnz = ptr[n];
  return { rows: n, cols: n, ptr, idx: idx.slice(0, nnz), val: val.slice(0, nnz) };
}

function grow<T extends Int32Array | Float64Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}
