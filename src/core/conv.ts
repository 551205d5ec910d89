import type { LayerGeometry } from './spec.js';

/**
 * Direct convolution kernels on channel-first data, for every layer seen as a convolution (see
 * LayerGeometry). Each output position reads the padded input at (o·stride + k − pad); positions in
 * the padding read zero.
 */

/** z = W * x + b. */
export function convForward(g: LayerGeometry, x: Float64Array, w: Float64Array, b: Float64Array | null): Float64Array {
  const { inC, inH, inW, outC, outH, outW, kh, kw, stride, pad } = g;
  const z = new Float64Array(outC * outH * outW);
  for (let o = 0; o < outC; o++) {
    for (let ho = 0; ho < outH; ho++) {
      for (let wo = 0; wo < outW; wo++) {
        let s = b ? b[o] : 0;
        for (let c = 0; c < inC; c++) {
          const wBase = (o * inC + c) * kh * kw;
          const xBase = c * inH * inW;
          for (let i = 0; i < kh; i++) {
            const h = ho * stride + i - pad;
            if (h < 0 || h >= inH) continue;
            for (let j = 0; j < kw; j++) {
              const ww = wo * stride + j - pad;
              if (ww < 0 || ww >= inW) continue;
              s += w[wBase + i * kw + j] * x[xBase + h * inW + ww];
            }
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
  const dw = new Float64Array(outC * inC * kh * kw);
  for (let o = 0; o < outC; o++) {
    for (let ho = 0; ho < outH; ho++) {
      for (let wo = 0; wo < outW; wo++) {
        const d = dz[(o * outH + ho) * outW + wo];
        if (d === 0) continue;
        for (let c = 0; c < inC; c++) {
          const wBase = (o * inC + c) * kh * kw;
          const xBase = c * inH * inW;
          for (let i = 0; i < kh; i++) {
            const h = ho * stride + i - pad;
            if (h < 0 || h >= inH) continue;
            for (let j = 0; j < kw; j++) {
              const ww = wo * stride + j - pad;
              if (ww < 0 || ww >= inW) continue;
              dw[wBase + i * kw + j] += d * x[xBase + h * inW + ww];
            }
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
  const dx = new Float64Array(inC * inH * inW);
  for (let o = 0; o < outC; o++) {
    for (let ho = 0; ho < outH; ho++) {
      for (let wo = 0; wo < outW; wo++) {
        const d = dz[(o * outH + ho) * outW + wo];
        if (d === 0) continue;
        for (let c = 0; c < inC; c++) {
          const wBase = (o * inC + c) * kh * kw;
          const xBase = c * inH * inW;
          for (let i = 0; i < kh; i++) {
            const h = ho * stride + i - pad;
            if (h < 0 || h >= inH) continue;
            for (let j = 0; j < kw; j++) {
              const ww = wo * stride + j - pad;
              if (ww < 0 || ww >= inW) continue;
              dx[xBase + h * inW + ww] += d * w[wBase + i * kw + j];
            }
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
