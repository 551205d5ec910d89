import type { LayerGeometry } from '../../model/chain-spec.js';

/**
 * Direct convolution kernels on channel-first data, for every layer seen as a convolution (see
 * LayerGeometry). Output (ho, wo) reads the padded input at (ho·stride + i − pad, wo·stride + j − pad);
 * the kernel rows and columns that fall in the padding are cut off once per output position (rows)
 * and per output column (columns), so the inner loops carry no bounds checks. The three kernels
 * share their loop nest on purpose: they differ in the innermost statement, and a shared loop with a
 * callback there costs the gradient-matching step a large share of its time.
 */

interface Span { lo: Int32Array; hi: Int32Array }

/** For each output index, the kernel offsets [lo, hi) that land inside the input. */
function spans(out: number, k: number, stride: number, pad: number, size: number): Span {
  const lo = new Int32Array(out), hi = new Int32Array(out);
  for (let o = 0; o < out; o++) {
    const start = o * stride - pad;
    lo[o] = Math.max(0, -start);
    hi[o] = Math.min(k, size - start);
  }
  return { lo, hi };
}

/** Computed per call: O(outH + outW), nothing next to the convolution itself. */
function spansOf(g: LayerGeometry): { rows: Span; cols: Span } {
  return {
    rows: spans(g.outH, g.kh, g.stride, g.pad, g.inH), cols: spans(g.outW, g.kw, g.stride, g.pad, g.inW),
  };
}

/** z = W * x + b. */
export function convForward(
  g: LayerGeometry, x: Float64Array, w: Float64Array, b: Float64Array | null,
): Float64Array {
  const { inC, inH, inW, outC, outH, outW, kh, kw, stride, pad } = g;
  const { rows, cols } = spansOf(g);
  const z = new Float64Array(outC * outH * outW);
  for (let o = 0; o < outC; o++) {
    for (let ho = 0; ho < outH; ho++) {
      const i0 = rows.lo[ho], i1 = rows.hi[ho], h0 = ho * stride - pad;
      for (let wo = 0; wo < outW; wo++) {
        const j0 = cols.lo[wo], j1 = cols.hi[wo], w0 = wo * stride - pad;
        let s = b ? b[o] : 0;
        for (let c = 0; c < inC; c++) {
          const wBase = (o * inC + c) * kh * kw;
          const xBase = c * inH * inW + h0 * inW + w0;
          for (let i = i0; i < i1; i++) {
            const wr = wBase + i * kw, xr = xBase + i * inW;
            for (let j = j0; j < j1; j++) s += w[wr + j] * x[xr + j];
          }
        }
        z[(o * outH + ho) * outW + wo] = s;
      }
    }
  }
  return z;
}

/** dL/dW for a given dL/dz: the correlation of the input with dz. */
export function convWeightGrad(g: LayerGeometry, x: Float64Array, dz: Float64Array): Float64Array {
  const { inC, inH, inW, outC, outH, outW, kh, kw, stride, pad } = g;
  const { rows, cols } = spansOf(g);
  const dw = new Float64Array(outC * inC * kh * kw);
  for (let o = 0; o < outC; o++) {
    for (let ho = 0; ho < outH; ho++) {
      const i0 = rows.lo[ho], i1 = rows.hi[ho], h0 = ho * stride - pad;
      for (let wo = 0; wo < outW; wo++) {
        const d = dz[(o * outH + ho) * outW + wo];
        if (d === 0) continue;
        const j0 = cols.lo[wo], j1 = cols.hi[wo], w0 = wo * stride - pad;
        for (let c = 0; c < inC; c++) {
          const wBase = (o * inC + c) * kh * kw;
          const xBase = c * inH * inW + h0 * inW + w0;
          for (let i = i0; i < i1; i++) {
            const wr = wBase + i * kw, xr = xBase + i * inW;
            for (let j = j0; j < j1; j++) dw[wr + j] += d * x[xr + j];
          }
        }
      }
    }
  }
  return dw;
}

/** dL/dx = Wᵀ dz (the transposed convolution, cropped to the unpadded input). */
export function convInputGrad(g: LayerGeometry, w: Float64Array, dz: Float64Array): Float64Array {
  const { inC, inH, inW, outC, outH, outW, kh, kw, stride, pad } = g;
  const { rows, cols } = spansOf(g);
  const dx = new Float64Array(inC * inH * inW);
  for (let o = 0; o < outC; o++) {
    for (let ho = 0; ho < outH; ho++) {
      const i0 = rows.lo[ho], i1 = rows.hi[ho], h0 = ho * stride - pad;
      for (let wo = 0; wo < outW; wo++) {
        const d = dz[(o * outH + ho) * outW + wo];
        if (d === 0) continue;
        const j0 = cols.lo[wo], j1 = cols.hi[wo], w0 = wo * stride - pad;
        for (let c = 0; c < inC; c++) {
          const wBase = (o * inC + c) * kh * kw;
          const xBase = c * inH * inW + h0 * inW + w0;
          for (let i = i0; i < i1; i++) {
            const wr = wBase + i * kw, xr = xBase + i * inW;
            for (let j = j0; j < j1; j++) dx[xr + j] += d * w[wr + j];
          }
        }
      }
    }
  }
  return dx;
}

/** dL/db: the sum of dz over each output channel. */
export function convBiasGrad(g: LayerGeometry, dz: Float64Array): Float64Array {
  const n = g.outH * g.outW;
  const db = new Float64Array(g.outC);
  for (let o = 0; o < g.outC; o++) {
    let s = 0;
    for (let p = 0; p < n; p++) s += dz[o * n + p];
    db[o] = s;
  }
  return db;
}
