/** Compressed sparse rows. */
export interface Csr {
  rows: number;
  cols: number;
  ptr: Int32Array;
  idx: Int32Array;
  val: Float64Array;
}

/**
 * Builds a CSR matrix row by row into typed arrays. Callers that know the size give it (`rows`,
 * `nonzeros`) and nothing is reallocated or copied; otherwise the arrays double as they fill.
 */
export class CsrBuilder {
  private ptr: Int32Array;
  private idx: Int32Array;
  private val: Float64Array;
  private rowCount = 0;

  constructor(readonly cols: number, rows = 16, nonzeros = 64) {
    this.ptr = new Int32Array(rows + 1);
    this.idx = new Int32Array(nonzeros);
    this.val = new Float64Array(nonzeros);
  }

  push(idx: ArrayLike<number>, val: ArrayLike<number>, n = idx.length): void {
    const at = this.ptr[this.rowCount];
    if (at + n > this.idx.length) {
      const size = Math.max(at + n, 2 * this.idx.length);
      const idx2 = new Int32Array(size), val2 = new Float64Array(size);
      idx2.set(this.idx);
      val2.set(this.val);
      this.idx = idx2;
      this.val = val2;
    }
    if (this.rowCount + 2 > this.ptr.length) {
      const ptr2 = new Int32Array(2 * this.ptr.length);
      ptr2.set(this.ptr);
      this.ptr = ptr2;
    }
    for (let k = 0; k < n; k++) {
      this.idx[at + k] = idx[k];
      this.val[at + k] = val[k];
    }
    this.ptr[++this.rowCount] = at + n;
  }

  /**
   * Pushes a row given as column → value, in increasing column order (as Csr rows keep them);
   * `dropZeros` leaves out entries that cancelled to zero.
   */
  pushTerms(terms: ReadonlyMap<number, number>, dropZeros = false): void {
    const sorted = [...terms].filter(([, v]) => !dropZeros || v !== 0).sort((a, b) => a[0] - b[0]);
    this.push(sorted.map(([c]) => c), sorted.map(([, v]) => v));
  }

  get rows(): number {
    return this.rowCount;
  }

  build(): Csr {
    const nnz = this.ptr[this.rowCount];
    // exact capacity: hand the arrays over as they are; otherwise trim them to size
    const fit = <T extends Int32Array | Float64Array>(a: T, n: number): T =>
      (a.length === n ? a : (a.slice(0, n) as T));
    return {
      rows: this.rowCount, cols: this.cols,
      ptr: fit(this.ptr, this.rowCount + 1), idx: fit(this.idx, nnz), val: fit(this.val, nnz),
    };
  }
}

/** The rows of a above those of b (same columns). */
export function stack(a: Csr, b: Csr): Csr {
  const ptr = new Int32Array(a.rows + b.rows + 1);
  ptr.set(a.ptr);
  for (let r = 1; r <= b.rows; r++) ptr[a.rows + r] = a.ptr[a.rows] + b.ptr[r];
  const idx = new Int32Array(a.idx.length + b.idx.length);
  idx.set(a.idx);
  idx.set(b.idx, a.idx.length);
  const val = new Float64Array(a.val.length + b.val.length);
  val.set(a.val);
  val.set(b.val, a.val.length);
  return { rows: a.rows + b.rows, cols: a.cols, ptr, idx, val };
}

/** The same rows over a wider set of columns, each column moved by `offset`. */
export function shiftColumns(a: Csr, offset: number, cols: number): Csr {
  return { ...a, cols, idx: a.idx.map((i) => i + offset) };
}

/** Aᵀ; `into` (ptr of cols + 1, idx and val of nnz entries) receives it instead of new arrays. */
export function transpose(a: Csr, into?: Pick<Csr, 'ptr' | 'idx' | 'val'>): Csr {
  const count = new Int32Array(a.cols + 1);
  for (let k = 0; k < a.idx.length; k++) count[a.idx[k] + 1]++;
  for (let c = 0; c < a.cols; c++) count[c + 1] += count[c];
  const ptr = into ? into.ptr : count.slice();
  if (into) ptr.set(count);
  const fill = count.subarray(0, a.cols);
  const idx = into ? into.idx : new Int32Array(a.idx.length);
  const val = into ? into.val : new Float64Array(a.idx.length);
  for (let r = 0; r < a.rows; r++) {
    for (let k = a.ptr[r]; k < a.ptr[r + 1]; k++) {
      const dst = fill[a.idx[k]]++;
      idx[dst] = r;
      val[dst] = a.val[k];
    }
  }
  return { rows: a.cols, cols: a.rows, ptr, idx, val };
}

/** y = A x. */
export function mulVec(a: Csr, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(a.rows);
  for (let r = 0; r < a.rows; r++) {
    let s = 0;
    for (let k = a.ptr[r]; k < a.ptr[r + 1]; k++) s += a.val[k] * x[a.idx[k]];
    y[r] = s;
  }
  return y;
}

/** y += Aᵀ x. */
export function addMulTransVec(a: Csr, x: ArrayLike<number>, y: Float64Array): void {
  for (let r = 0; r < a.rows; r++) {
    const xr = x[r];
    if (xr === 0) continue;
    for (let k = a.ptr[r]; k < a.ptr[r + 1]; k++) y[a.idx[k]] += a.val[k] * xr;
  }
}

export function rowNorms(a: Csr): Float64Array {
  const n = new Float64Array(a.rows);
  for (let r = 0; r < a.rows; r++) {
    let s = 0;
    for (let k = a.ptr[r]; k < a.ptr[r + 1]; k++) s += a.val[k] * a.val[k];
    n[r] = Math.sqrt(s);
  }
  return n;
}
