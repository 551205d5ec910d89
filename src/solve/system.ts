import { CsrBuilder, stack, type Csr } from '../linalg/sparse.js';
import { systemGeometry, type SystemGeometry } from '../model/chain-spec.js';

/**
 * One layer's linear system U x = v over its padded input x (C×(H+2p)×(W+2p), channel-first):
 *  - weight constraints   Σ W[o,c,i,j]·x[c, ho·s+i, wo·s+j] = z[o,ho,wo] − b[o]  (one per output value)
 *  - gradient constraints Σ dz[o,ho,wo]·x[c, ho·s+i, wo·s+j] = dW[o,c,i,j]       (one per weight)
 *  - padding constraints  x[border] = 0                                             (one per padded value)
 * The weight and padding rows are kept together as the sparse part S, ordered by where they sit in
 * the image so that S Sᵀ is banded; the gradient rows G are few and handled densely.
 */
export interface LayerSystem {
  g: SystemGeometry;
  /** Columns: the padded input size. */
  n: number;
  padH: number;
  padW: number;
  weightRows: number;
  paddingRows: number;
  /** Weight and padding rows, in spatial order, and their right-hand side. */
  s: Csr;
  sRhs: Float64Array;
  /** For each row of s: the output index (o,h,w) of a weight row, −1 for a padding row, −2 for a sum. */
  sRowOutput: Int32Array;
  /** Gradient rows and their right-hand side. */
  grad: Csr;
  gradRhs: Float64Array;
  /**
   * Rows of S that are sums of weight rows (known sums of outputs: mean pooling, train batch norm),
   * placed among the others by the first pixel they touch.
   */
  sumRows: number;
  /** Whether the count-based rank applies: not with sum rows, scale-free or caller-built gradient rows. */
  counted: boolean;
  /** The layer's weights: S depends only on them and the geometry, so its factors can be reused. */
  weight: Float64Array;
  /**
   * With some weight rows left out (a partial active set): how many rows the identities between weight
   * and gradient rows (analysis/reports.ts) that survive, and silent channels, make dependent.
   */
  maskedDependencies?: number;
  /** Which weight rows were kept, when not all (S, and so its factors, depend on it). */
  known?: Uint8Array;
}

export interface SystemInputs {
  weight: Float64Array;
  bias: Float64Array | null;
  /** Pre-activation of this layer (its output before the activation). */
  z: Float64Array;
  /** dL/dz of this layer. */
  dz: Float64Array;
  /** Shared dL/dW of this layer. */
  dW: Float64Array;
  /**
   * Which outputs' pre-activations are known (1) — all when absent. An inactive ReLU unit only tells
   * that its pre-activation is ≤ 0: its weight row is no equation and is left out.
   */
  known?: Uint8Array;
  /**
   * Known sums of outputs (rows over the output indices): each gives the same sum of weight rows,
   * Σ c·(W row) = Σ c·(z − b), a row of the sparse part.
   */
  sums?: Csr;
  /**
   * dz is known only up to one positive scale per output channel (train batch norm divides by the
   * sample's own deviation, a function of the unknown input): each channel's gradient rows then say
   * only that Σ_p dz[o,p]·patch_p is parallel to dW[o], and keep the k − 1 rows free of the scale.
   */
  deltaUpToScale?: boolean;
  /** Gradient rows built by the caller (a residual block's two layers), in place of dz's and dW's. */
  gradientRows?: { rows: Csr; rhs: Float64Array };
  /**
   * Which entries of dW are equations (1): a pruned entry, received as zero, says nothing of the input
   * and its gradient row is left out (the rows are dW's entries one to one). Absent: all are.
   */
  gradientMask?: Uint8Array;
}

export function buildLayerSystem(g: SystemGeometry, inp: SystemInputs): LayerSystem {
  const { inC, inH, inW, outC, outH, outW, kh, kw, stride, pad } = g;
  const padH = inH + 2 * pad, padW = inW + 2 * pad, plane = padH * padW;
  const n = inC * plane;
  const col = (c: number, h: number, w: number) => c * plane + h * padW + w;

  // Sparse part, ordered by the top-left pixel each row touches (its key), so rows close in the image
  // are close in the ordering; weight rows come before padding rows at the same key, then by index.
  // Weight rows taken in (ho, wo, o) order and padding rows in (h, w, c) order are each already in
  // that order, so the two streams are merged, not sorted.
  let weightRows = outC * outH * outW;
  if (inp.known) weightRows = inp.known.reduce((c, v) => c + (v ? 1 : 0), 0);
  const isPadding = (h: number, w: number) => h < pad || h >= pad + inH || w < pad || w >= pad + inW;
  let paddingRows = 0;
  if (pad > 0) for (let h = 0; h < padH; h++)
    for (let w = 0; w < padW; w++) if (isPadding(h, w)) paddingRows += inC;
  const k2 = inC * kh * kw;
  const sb = new CsrBuilder(n, weightRows + paddingRows, weightRows * k2 + paddingRows);
  const sRhs = new Float64Array(weightRows + paddingRows);
  const sRowOutput = new Int32Array(weightRows + paddingRows).fill(-1);
  const idx = new Int32Array(k2);
  const one = Float64Array.of(1);
  let t = 0;
  const pushWeightRows = (ho: number, wo: number) => {
    for (let o = 0; o < outC; o++) {
      if (inp.known && !inp.known[(o * outH + ho) * outW + wo]) continue;
      let m = 0;
      for (let c = 0; c < inC; c++) {
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) idx[m++] = col(c, ho * stride + i, wo * stride + j);
        }
      }
      sb.push(idx, inp.weight.subarray(o * k2, (o + 1) * k2));
      const sub = (o * outH + ho) * outW + wo;
      sRhs[t] = inp.z[sub] - (inp.bias ? inp.bias[o] : 0);
      sRowOutput[t++] = sub;
    }
  };
  let next = 0; // the next output position (ho·outW + wo) whose weight rows are not yet placed
  const weightRowsUpTo = (key: number) => {
    for (; next < outH * outW; next++) {
      const ho = Math.floor(next / outW), wo = next % outW;
      if (ho * stride * padW + wo * stride > key) break;
      pushWeightRows(ho, wo);
    }
  };
  const at = new Int32Array(1);
  if (pad > 0) {
    for (let h = 0; h < padH; h++) for (let w = 0; w < padW; w++) {
      if (!isPadding(h, w)) continue;
      weightRowsUpTo(h * padW + w);
      for (let c = 0; c < inC; c++) { at[0] = col(c, h, w); sb.push(at, one); t++; }
    }
  }
  weightRowsUpTo(Infinity);

  const p = outH * outW;
  let grad = inp.gradientRows ?? gradientRowsOf(g, inp.dz, inp.dW);
  if (inp.deltaUpToScale) grad = withoutScale(grad.rows, inp.dW, outC, k2);
  // with rows dropped the identities the count rests on no longer hold: the numerical rank decides
  const dropped = !!inp.gradientMask && !inp.gradientRows && !inp.deltaUpToScale
    && inp.gradientMask.includes(0);
  if (dropped) grad = keptRows(grad.rows, grad.rhs, inp.gradientMask!);
  let sparse: SparseRows = { s: sb.build(), sRhs, sRowOutput };
  if (inp.sums) sparse = withSumRows(sparse, sumRowsOf(g, inp, inp.sums, col), plane);

  return {
    g: systemGeometry(g), n, padH, padW, weightRows, paddingRows, ...sparse, sumRows: inp.sums?.rows ?? 0,
    counted: !inp.sums && !inp.deltaUpToScale && !inp.gradientRows && !dropped,
    grad: grad.rows, gradRhs: grad.rhs, weight: inp.weight,
    ...(inp.known ? {
      known: inp.known, maskedDependencies: survivingIdentities(outC, p, k2, inp.dz, inp.known),
    } : {}),
  };
}

/**
 * The gradient rows Σ_p dz[o,p]·x[c, p·stride + (i, j)] = dW[o,c,i,j] over the padded input, one per
 * weight; with `columns`, placed among a larger system's columns.
 */
export function gradientRowsOf(
  g: SystemGeometry, dz: Float64Array, dW: Float64Array, columns?: GradientColumns,
): { rows: Csr; rhs: Float64Array } {
  const { inC, inH, inW, outC, outH, outW, kh, kw, stride, pad } = g;
  const padW = inW + 2 * pad, plane = (inH + 2 * pad) * padW;
  const col = columns?.at ?? ((c: number, h: number, w: number) => c * plane + h * padW + w);
  const k2 = inC * kh * kw, p = outH * outW;
  const gb = new CsrBuilder(columns?.count ?? inC * plane, outC * k2, outC * k2 * p);
  const gi = new Int32Array(p);
  for (let o = 0; o < outC; o++) for (let c = 0; c < inC; c++)
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      let m = 0;
      for (let ho = 0; ho < outH; ho++)
        for (let wo = 0; wo < outW; wo++) gi[m++] = col(c, ho * stride + i, wo * stride + j);
      gb.push(gi, dz.subarray(o * p, (o + 1) * p));
    }
  return { rows: gb.build(), rhs: Float64Array.from(dW) };
}

/** The rows r with keep[r] = 1, and their right-hand sides. */
function keptRows(m: Csr, rhs: Float64Array, keep: Uint8Array): { rows: Csr; rhs: Float64Array } {
  const count = keep.reduce((c, v) => c + v, 0);
  const b = new CsrBuilder(m.cols, count);
  const out = new Float64Array(count);
  let t = 0;
  for (let r = 0; r < m.rows; r++) {
    if (!keep[r]) continue;
    b.push(m.idx.subarray(m.ptr[r], m.ptr[r + 1]), m.val.subarray(m.ptr[r], m.ptr[r + 1]));
    out[t++] = rhs[r];
  }
  return { rows: b.build(), rhs: out };
}

/**
 * Where a layer's padded input sits among a larger system's columns (a residual block's): the column
 * of input (c, h, w), h and w counted in the padded input, and the number of columns.
 */
export interface GradientColumns {
  count: number;
  at: (c: number, h: number, w: number) => number;
}

/**
 * Gradient rows G_k·x = s·dW[o,k] with the channel's scale s unknown: with k* the largest entry of
 * dW[o], the rows dW[o,k*]·G_k − dW[o,k]·G_k* (k ≠ k*) hold whatever s is, right-hand side 0. A
 * channel whose dW[o] is zero keeps its rows (they are homogeneous already).
 */
function withoutScale(
  g: Csr, dW: Float64Array, outC: number, k2: number,
): { rows: Csr; rhs: Float64Array } {
  const b = new CsrBuilder(g.cols, outC * k2);
  const row = (r: number) => {
    const terms = new Map<number, number>();
    for (let t = g.ptr[r]; t < g.ptr[r + 1]; t++) terms.set(g.idx[t], g.val[t]);
    return terms;
  };
  for (let o = 0; o < outC; o++) {
    let pivot = o * k2;
    for (let r = o * k2; r < (o + 1) * k2; r++) if (Math.abs(dW[r]) > Math.abs(dW[pivot])) pivot = r;
    const ref = row(pivot);
    for (let r = o * k2; r < (o + 1) * k2; r++) {
      if (dW[pivot] !== 0 && r === pivot) continue;
      const acc = new Map<number, number>();
      for (const [c, v] of row(r)) acc.set(c, dW[pivot] === 0 ? v : dW[pivot] * v);
      if (dW[pivot] !== 0) for (const [c, v] of ref) acc.set(c, (acc.get(c) ?? 0) - dW[r] * v);
      b.pushTerms(acc, true);
    }
  }
  return { rows: b.build(), rhs: new Float64Array(b.rows) };
}

interface SparseRows { s: Csr; sRhs: Float64Array; sRowOutput: Int32Array }

/** Each known sum Σ c_q·z_q of outputs as the row Σ c_q·(weight row q) = Σ c_q·(z_q − b). */
function sumRowsOf(
  g: SystemGeometry, inp: SystemInputs, sums: Csr, col: (c: number, h: number, w: number) => number,
): SparseRows {
  const { inC, outH, outW, kh, kw, stride } = g;
  const k2 = inC * kh * kw;
  const b = new CsrBuilder(col(inC, 0, 0), sums.rows);
  const rhs = new Float64Array(sums.rows);
  const acc = new Map<number, number>();
  for (let r = 0; r < sums.rows; r++) {
    acc.clear();
    let v = 0;
    for (let t = sums.ptr[r]; t < sums.ptr[r + 1]; t++) {
      const q = sums.idx[t], coef = sums.val[t];
      const o = Math.floor(q / (outH * outW)), ho = Math.floor(q / outW) % outH, wo = q % outW;
      v += coef * (inp.z[q] - (inp.bias ? inp.bias[o] : 0));
      let m = 0;
      for (let c = 0; c < inC; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
        const at = col(c, ho * stride + i, wo * stride + j);
        acc.set(at, (acc.get(at) ?? 0) + coef * inp.weight[o * k2 + m++]);
      }
    }
    b.pushTerms(acc);
    rhs[r] = v;
  }
  return { s: b.build(), sRhs: rhs, sRowOutput: new Int32Array(sums.rows).fill(-2) };
}

/**
 * Sum rows merged into the sparse part by the first pixel (position in the plane) each row touches,
 * the order the weight and padding rows already have, so that S Sᵀ stays banded.
 */
function withSumRows(base: SparseRows, sums: SparseRows, plane: number): SparseRows {
  const keys = (m: Csr) => Float64Array.from({ length: m.rows }, (_, r) => {
    let k = Infinity;
    for (let t = m.ptr[r]; t < m.ptr[r + 1]; t++) k = Math.min(k, m.idx[t] % plane);
    return k;
  });
  const a = base.s, c = sums.s, rows = a.rows + c.rows;
  const aKey = keys(a), cKey = keys(c);
  const out = new CsrBuilder(a.cols, rows, a.idx.length + c.idx.length);
  const sRhs = new Float64Array(rows), sRowOutput = new Int32Array(rows);
  const push = (from: SparseRows, r: number, at: number) => {
    const { ptr, idx, val } = from.s;
    out.push(idx.subarray(ptr[r], ptr[r + 1]), val.subarray(ptr[r], ptr[r + 1]));
    sRhs[at] = from.sRhs[r];
    sRowOutput[at] = from.sRowOutput[r];
  };
  const sumOrder = Array.from({ length: c.rows }, (_, r) => r).sort((x, y) => cKey[x] - cKey[y]);
  let j = 0, t = 0;
  for (let r = 0; r < a.rows; r++) {
    for (; j < sumOrder.length && cKey[sumOrder[j]] < aKey[r]; j++) push(sums, sumOrder[j], t++);
    push(base, r, t++);
  }
  for (; j < sumOrder.length; j++) push(sums, sumOrder[j], t++);
  return { s: out.build(), sRhs, sRowOutput };
}

/**
 * The identity Σ_k W[o',k]·(gradient row (o,k)) = Σ_p dz[o,p]·(weight row (o',p)) needs the weight rows
 * (o',p) wherever dz[o,p] ≠ 0: it survives for the pairs whose needed rows were all kept. A channel
 * whose units are all off has dz = 0 and its k gradient rows are zero: all k count as dependent.
 */
function survivingIdentities(
  outC: number, p: number, k: number, dz: Float64Array, known: Uint8Array,
): number {
  let count = 0;
  for (let o = 0; o < outC; o++) {
    let silent = true;
    for (let q = 0; q < p && silent; q++) if (dz[o * p + q] !== 0) silent = false;
    if (silent) { count += k; continue; }
    for (let o2 = 0; o2 < outC; o2++) {
      let kept = true;
      for (let q = 0; q < p && kept; q++) if (dz[o * p + q] !== 0 && !known[o2 * p + q]) kept = false;
      if (kept) count++;
    }
  }
  return count;
}

/**
 * The system with a row λ·x_c = λ·center_c per unknown appended to S (a ridge, or Tikhonov term
 * λ²‖x − center‖² in the least-squares objective; center 0 when absent): SᵀS becomes definite.
 */
export function withRidge(sys: LayerSystem, lambda: number, center?: Float64Array): LayerSystem {
  const b = new CsrBuilder(sys.s.cols, sys.n);
  for (let c = 0; c < sys.n; c++) b.push([c], [lambda]);
  const rhs = center ? center.map((v) => lambda * v) : new Float64Array(sys.n);
  return {
    ...sys, s: stack(sys.s, b.build()), sRhs: Float64Array.from([...sys.sRhs, ...rhs]),
    sRowOutput: Int32Array.from([...sys.sRowOutput, ...new Int32Array(sys.n).fill(-1)]),
  };
}

/** Drops the padding border of a padded input. */
export function cropPadding(sys: LayerSystem, xPadded: Float64Array): Float64Array {
  const { inC, inH, inW, pad } = sys.g;
  const out = new Float64Array(inC * inH * inW);
  for (let c = 0; c < inC; c++) for (let h = 0; h < inH; h++) for (let w = 0; w < inW; w++) {
    out[(c * inH + h) * inW + w] = xPadded[c * sys.padH * sys.padW + (h + pad) * sys.padW + (w + pad)];
  }
  return out;
}
