import type { Csr } from './sparse.js';

/**
 * A symmetric matrix stored by its lower envelope: row i holds columns first[i]..i contiguously.
 * Cholesky factorisation fills in only inside the envelope, so a Gram matrix of a convolution,
 * ordered spatially, factors in O(n·b²) for envelope width b instead of O(n³).
 */
export class Envelope {
  constructor(
    readonly n: number,
    readonly first: Int32Array,
    readonly ptr: Int32Array,
    readonly data: Float64Array,
  ) {}

  get(i: number, j: number): number {
    if (j > i) [i, j] = [j, i];
    return j < this.first[i] ? 0 : this.data[this.ptr[i] + j - this.first[i]];
  }

  get size(): number {
    return this.data.length;
  }
}

/**
 * The Gram matrix RᵀR of a sparse matrix's columns, with column c moved to position order[c]
 * (order[c] = -1 drops the column). Returns the envelope of the permuted Gram matrix. With `mark`
 * (one byte per envelope entry, zero on entry) it also records which entries a row of R couples.
 */
export function gramOfColumns(
  r: Csr, order: Int32Array, n: number, first = envelopeFirst(r, order, n), mark?: Uint8Array,
): Envelope {
  const ptr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) ptr[i + 1] = ptr[i] + (i - first[i] + 1);
  const data = new Float64Array(ptr[n]);
  let buf = new Int32Array(64), vbuf = new Float64Array(64);
  for (let row = 0; row < r.rows; row++) {
    const lo = r.ptr[row], hi = r.ptr[row + 1];
    if (buf.length < hi - lo) buf = new Int32Array(hi - lo);
    if (vbuf.length < hi - lo) vbuf = new Float64Array(hi - lo);
    let m = 0;
    for (let k = lo; k < hi; k++) {
      const p = order[r.idx[k]];
      if (p < 0) continue;
      buf[m] = p;
      vbuf[m++] = r.val[k];
    }
    for (let a = 0; a < m; a++) {
      const pa = buf[a], va = vbuf[a];
      const base = ptr[pa] - first[pa];
      for (let b = 0; b < m; b++) {
        const pb = buf[b];
        if (pb <= pa) {
          data[base + pb] += va * vbuf[b];
          if (mark) mark[base + pb] = 1;
        }
      }
    }
  }
  return new Envelope(n, first, ptr, data);
}

/** first[i]: the first column of row i's envelope in the Gram matrix gramOfColumns builds. */
export function envelopeFirst(r: Csr, order: Int32Array, n: number): Int32Array {
  const first = new Int32Array(n);
  for (let i = 0; i < n; i++) first[i] = i;
  let buf = new Int32Array(64);
  for (let row = 0; row < r.rows; row++) {
    const lo = r.ptr[row], hi = r.ptr[row + 1];
    let mn = n;
    if (buf.length < hi - lo) buf = new Int32Array(hi - lo);
    let m = 0;
    for (let k = lo; k < hi; k++) {
      const p = order[r.idx[k]];
      if (p < 0) continue;
      buf[m++] = p;
      if (p < mn) mn = p;
    }
    for (let t = 0; t < m; t++) if (first[buf[t]] > mn) first[buf[t]] = mn;
  }
  return first;
}

/** Σ over the envelope's rows of their squared lengths: twice the multiply-adds of its Cholesky. */
export function envelopeCost(first: Int32Array): number {
  let cost = 0;
  for (let i = 0; i < first.length; i++) cost += (i - first[i] + 1) ** 2;
  return cost;
}

export interface CholeskyReport {
  ok: boolean;
  /** Rows found dependent on the rows before them and dropped (only with allowDrop). */
  dropped: number[];
  maxPivot: number;
  minPivot: number;
}

/**
 * In-place Cholesky A = LLᵀ inside the envelope. A pivot d_i is accepted when d_i > tol·A_ii, where
 * d_i/A_ii is the squared sine of the angle between row i and the span of the rows before it.
 * With allowDrop, a row that fails is dropped instead (its row and column of L become zero, with a
 * unit diagonal): the factor is then that of the matrix without those rows and columns.
 */
export function choleskyEnvelope(a: Envelope, tol: number, allowDrop = false): CholeskyReport {
  const { n, first, ptr, data } = a;
  let maxPivot = 0, minPivot = Infinity;
  const dropped: number[] = [];
  const isDropped = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const fi = first[i], bi = ptr[i] - fi;
    for (let j = fi; j < i; j++) {
      if (isDropped[j]) { data[bi + j] = 0; continue; }
      const fj = first[j], bj = ptr[j] - fj;
      const k0 = fi > fj ? fi : fj;
      let s = data[bi + j];
      for (let k = k0; k < j; k++) s -= data[bi + k] * data[bj + k];
      data[bi + j] = s / data[bj + j];
    }
    const aii = data[bi + i];
    let d = aii;
    for (let k = fi; k < i; k++) d -= data[bi + k] * data[bi + k];
    const rel = aii > 0 ? d / aii : 0;
    if (!(rel > tol)) {
      if (!allowDrop) return { ok: false, dropped, maxPivot, minPivot };
      dropped.push(i);
      isDropped[i] = 1;
      for (let k = fi; k < i; k++) data[bi + k] = 0;
      data[bi + i] = 1;
      continue;
    }
    if (d > maxPivot) maxPivot = d;
    if (d < minPivot) minPivot = d;
    data[bi + i] = Math.sqrt(d);
  }
  return { ok: true, dropped, maxPivot, minPivot };
}

/** Solves LLᵀx = b in place (b becomes x) with a factor from choleskyEnvelope. */
export function solveEnvelope(l: Envelope, b: Float64Array): void {
  const { n, first, ptr, data } = l;
  for (let i = 0; i < n; i++) {
    const fi = first[i], bi = ptr[i] - fi;
    let s = b[i];
    for (let k = fi; k < i; k++) s -= data[bi + k] * b[k];
    b[i] = s / data[bi + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    const fi = first[i], bi = ptr[i] - fi;
    const xi = (b[i] /= data[bi + i]);
    if (xi === 0) continue;
    for (let k = fi; k < i; k++) b[k] -= data[bi + k] * xi;
  }
}

/** Right-hand sides per pass of solveEnvelopeMany: the factor is read once for this many. */
const MANY = 8;

/**
 * solveEnvelope on each vector of `bs`, in place, a block of MANY at a time interleaved so that the
 * factor streams from memory once per block instead of once per vector (the solves were bound by
 * memory). Each vector gets the same operations in the same order as solveEnvelope, so the same bits.
 */
export function solveEnvelopeMany(l: Envelope, bs: Float64Array[]): void {
  const { n, first, ptr, data } = l;
  const w = MANY, x = new Float64Array(n * w);
  for (let c0 = 0; c0 < bs.length; c0 += w) {
    const m = Math.min(w, bs.length - c0);
    if (m < w) x.fill(0);
    for (let r = 0; r < m; r++) { const b = bs[c0 + r]; for (let i = 0; i < n; i++) x[i * w + r] = b[i]; }
    for (let i = 0; i < n; i++) {
      const fi = first[i], bi = ptr[i] - fi, xi = i * w;
      for (let k = fi; k < i; k++) {
        const c = data[bi + k], xk = k * w;
        for (let r = 0; r < w; r++) x[xi + r] -= c * x[xk + r];
      }
      const d = data[bi + i];
      for (let r = 0; r < w; r++) x[xi + r] /= d;
    }
    for (let i = n - 1; i >= 0; i--) {
      const fi = first[i], bi = ptr[i] - fi, xi = i * w;
      const d = data[bi + i];
      let zero = false;
      for (let r = 0; r < w; r++) x[xi + r] /= d;
      for (let r = 0; r < m; r++) if (x[xi + r] === 0) zero = true;
      if (!zero) {
        for (let k = fi; k < i; k++) {
          const c = data[bi + k], xk = k * w;
          for (let r = 0; r < w; r++) x[xk + r] -= c * x[xi + r];
        }
      } else {
        // solveEnvelope skips a zero: subtracting c·0 could turn a −0 into +0 (or give NaN from ∞)
        for (let r = 0; r < w; r++) {
          const v = x[xi + r];
          if (v !== 0) for (let k = fi; k < i; k++) x[k * w + r] -= data[bi + k] * v;
        }
      }
    }
    for (let r = 0; r < m; r++) { const b = bs[c0 + r]; for (let i = 0; i < n; i++) b[i] = x[i * w + r]; }
  }
}
