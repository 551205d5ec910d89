/** Compressed sparse rows. */
export interface Csr {
  rows: number;
  cols: number;
  ptr: Int32Array;
  idx: Int32Array;
  val: Float64Array;
}

/** Builds a CSR matrix from row lists; entries within a row may come in any order. */
export class CsrBuilder {
  private ptr: number[] = [0];
  private idx: number[] = [];
  private val: number[] = [];
  constructor(readonly cols: number) {}

  push(idx: ArrayLike<number>, val: ArrayLike<number>, n = idx.length): void {
    for (let k = 0; k < n; k++) {
      this.idx.push(idx[k]);
      this.val.push(val[k]);
    }
    this.ptr.push(this.idx.length);
  }

  get rows(): number {
    return this.ptr.length - 1;
  }

  build(): Csr {
    return { rows: this.rows, cols: this.cols, ptr: Int32Array.from(this.ptr), idx: Int32Array.from(this.idx), val: Float64Array.from(this.val) };
  }
}

export function transpose(a: Csr): Csr {
  const count = new Int32Array(a.cols + 1);
  for (let k = 0; k < a.idx.length; k++) count[a.idx[k] + 1]++;
  for (let c = 0; c < a.cols; c++) count[c + 1] += count[c];
  const ptr = count.slice();
  const fill = count.slice(0, a.cols);
  const idx = new Int32Array(a.idx.length);
  const val = new Float64Array(a.idx.length);
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
