import { FRESH, type Alloc, type ConvGeometry } from '../kernels.js';

/**
 * Direct convolution on channel-first data, n samples after one another. Output (ho, wo) reads the
 * padded input at (ho·sh + i − ph, wo·sw + j − pw); the kernel rows and columns that fall in the
 * padding are cut off once per output row and column, so the inner loops carry no bounds checks.
 * The three kernels share their loop nest on purpose (they differ in the innermost statement; a
 * shared loop with a callback there costs the matching step much of its time), and sum in the same
 * order whatever the batch, so a sample's result does not depend on the others.
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
function spansOf(g: ConvGeometry): { rows: Span; cols: Span } {
  return { rows: spans(g.outH, g.kh, g.sh, g.ph, g.inH), cols: spans(g.outW, g.kw, g.sw, g.pw, g.inW) };
}

export function conv2d(
  g: ConvGeometry, n: number, x: Float64Array, w: Float64Array, b: Float64Array | null, alloc: Alloc = FRESH,
): Float64Array {
  const { inC, inH, inW, outC, outH, outW, kh, kw, sh, sw, ph, pw } = g;
  const { rows, cols } = spansOf(g);
  const inSize = inC * inH * inW, outSize = outC * outH * outW;
  const z = alloc(n * outSize);
  for (let s = 0; s < n; s++) {
    const xo = s * inSize, zo = s * outSize;
    for (let o = 0; o < outC; o++) {
      for (let ho = 0; ho < outH; ho++) {
        const i0 = rows.lo[ho], i1 = rows.hi[ho], h0 = ho * sh - ph;
        for (let wo = 0; wo < outW; wo++) {
          const j0 = cols.lo[wo], j1 = cols.hi[wo], w0 = wo * sw - pw;
          let acc = b ? b[o] : 0;
          for (let c = 0; c < inC; c++) {
            const wBase = (o * inC + c) * kh * kw;
            const xBase = xo + c * inH * inW + h0 * inW + w0;
            for (let i = i0; i < i1; i++) {
              const wr = wBase + i * kw, xr = xBase + i * inW;
              for (let j = j0; j < j1; j++) acc += w[wr + j] * x[xr + j];
            }
          }
          z[zo + (o * outH + ho) * outW + wo] = acc;
        }
      }
    }
  }
  return z;
}

export function conv2dWeightGrad(
  g: ConvGeometry, n: number, x: Float64Array, dz: Float64Array, alloc: Alloc = FRESH,
): Float64Array {
  const { inC, inH, inW, outC, outH, outW, kh, kw, sh, sw, ph, pw } = g;
  const { rows, cols } = spansOf(g);
  const inSize = inC * inH * inW, outSize = outC * outH * outW;
  const dw = alloc(outC * inC * kh * kw);
  for (let s = 0; s < n; s++) {
    const xo = s * inSize, zo = s * outSize;
    for (let o = 0; o < outC; o++) {
      for (let ho = 0; ho < outH; ho++) {
        const i0 = rows.lo[ho], i1 = rows.hi[ho], h0 = ho * sh - ph;
        for (let wo = 0; wo < outW; wo++) {
          const d = dz[zo + (o * outH + ho) * outW + wo];
          if (d === 0) continue;
          const j0 = cols.lo[wo], j1 = cols.hi[wo], w0 = wo * sw - pw;
          for (let c = 0; c < inC; c++) {
            const wBase = (o * inC + c) * kh * kw;
            const xBase = xo + c * inH * inW + h0 * inW + w0;
            for (let i = i0; i < i1; i++) {
              const wr = wBase + i * kw, xr = xBase + i * inW;
              for (let j = j0; j < j1; j++) dw[wr + j] += d * x[xr + j];
            }
          }
        }
      }
    }
  }
  return dw;
}

export function conv2dInputGrad(
  g: ConvGeometry, n: number, dz: Float64Array, w: Float64Array, alloc: Alloc = FRESH,
): Float64Array {
  const { inC, inH, inW, outC, outH, outW, kh, kw, sh, sw, ph, pw } = g;
  const { rows, cols } = spansOf(g);
  const inSize = inC * inH * inW, outSize = outC * outH * outW;
  const dx = alloc(n * inSize);
  for (let s = 0; s < n; s++) {
    const xo = s * inSize, zo = s * outSize;
    for (let o = 0; o < outC; o++) {
      for (let ho = 0; ho < outH; ho++) {
        const i0 = rows.lo[ho], i1 = rows.hi[ho], h0 = ho * sh - ph;
        for (let wo = 0; wo < outW; wo++) {
          const d = dz[zo + (o * outH + ho) * outW + wo];
          if (d === 0) continue;
          const j0 = cols.lo[wo], j1 = cols.hi[wo], w0 = wo * sw - pw;
          for (let c = 0; c < inC; c++) {
            const wBase = (o * inC + c) * kh * kw;
            const xBase = xo + c * inH * inW + h0 * inW + w0;
            for (let i = i0; i < i1; i++) {
              const wr = wBase + i * kw, xr = xBase + i * inW;
              for (let j = j0; j < j1; j++) dx[xr + j] += d * w[wr + j];
            }
          }
        }
      }
    }
  }
  return dx;
}
