import { FRESH, type Alloc, type PoolGeometry } from '../kernels.js';

/** Pooling over windows of each channel, n samples; padding is −∞ for max and 0 (counted) for mean. */

export function maxPool2d(
  g: PoolGeometry, n: number, x: Float64Array, alloc: Alloc = FRESH,
): { out: Float64Array; argmax: Int32Array } {
  const { c, inH, inW, outH, outW, kh, kw, sh, sw, ph, pw } = g;
  const out = alloc(n * c * outH * outW, false);
  const argmax = new Int32Array(out.length);
  if (ph === 0 && pw === 0) {
    maxPoolInside(g, n, x, out, argmax);
    return { out, argmax };
  }
  let k = 0;
  for (let plane = 0; plane < n * c; plane++) {
    const base = plane * inH * inW;
    for (let ho = 0; ho < outH; ho++) for (let wo = 0; wo < outW; wo++) {
      let best = -Infinity, at = -1;
      for (let i = 0; i < kh; i++) {
        const h = ho * sh - ph + i;
        if (h < 0 || h >= inH) continue;
        for (let j = 0; j < kw; j++) {
          const w = wo * sw - pw + j;
          if (w < 0 || w >= inW) continue;
          const v = x[base + h * inW + w];
          // the first maximum wins, as in PyTorch; NaN propagates
          if (v > best || at < 0 || Number.isNaN(v)) { best = v; at = base + h * inW + w; }
        }
      }
      out[k] = best;
      argmax[k++] = at;
    }
  }
  return { out, argmax };
}

/**
 * maxPool2d without padding (every window inside the input), choosing without a branch: the
 * winner's index moves by a 0/1 factor (the same rule — first maximum, a NaN taking over — so the same
 * outputs), since which of a window's values is largest is a coin toss that a branch mispredicts.
 */
function maxPoolInside(
  g: PoolGeometry, n: number, x: Float64Array, out: Float64Array, argmax: Int32Array,
): void {
  const { c, inH, inW, outH, outW, kh, kw, sh, sw } = g;
  const two = kh === 2 && kw === 2;
  let k = 0;
  for (let plane = 0; plane < n * c; plane++) {
    const base = plane * inH * inW;
    for (let ho = 0; ho < outH; ho++) {
      for (let wo = 0; wo < outW; wo++) {
        const first = base + ho * sh * inW + wo * sw;
        let at = first, best = x[first];
        if (two) {
          // 2×2 written out: (0, 1), (1, 0), (1, 1) after (0, 0)
          let q = first + 1, v = x[q];
          at += ((+(v > best)) | (+(v !== v))) * (q - at); best = x[at];
          q = first + inW; v = x[q];
          at += ((+(v > best)) | (+(v !== v))) * (q - at); best = x[at];
          q = first + inW + 1; v = x[q];
          at += ((+(v > best)) | (+(v !== v))) * (q - at); best = x[at];
        } else {
          for (let i = 0; i < kh; i++) {
            for (let j = i === 0 ? 1 : 0; j < kw; j++) {
              const q = first + i * inW + j, v = x[q];
              at += ((+(v > best)) | (+(v !== v))) * (q - at);
              best = x[at];
            }
          }
        }
        out[k] = best;
        argmax[k++] = at;
      }
    }
  }
}

export function gather(x: Float64Array, index: Int32Array, alloc: Alloc = FRESH): Float64Array {
  const out = alloc(index.length, false);
  for (let k = 0; k < index.length; k++) out[k] = x[index[k]];
  return out;
}

export function scatterAdd(
  g: Float64Array, index: Int32Array, size: number, alloc: Alloc = FRESH,
): Float64Array {
  const out = alloc(size);
  for (let k = 0; k < index.length; k++) out[index[k]] += g[k];
  return out;
}

function windows(
  g: PoolGeometry, n: number, visit: (plane: number, outAt: number, inAt: number) => void,
): void {
  const { c, inH, inW, outH, outW, kh, kw, sh, sw, ph, pw } = g;
  for (let plane = 0; plane < n * c; plane++) {
    for (let ho = 0; ho < outH; ho++) for (let wo = 0; wo < outW; wo++) {
      const outAt = (plane * outH + ho) * outW + wo;
      for (let i = 0; i < kh; i++) {
        const h = ho * sh - ph + i;
        if (h < 0 || h >= inH) continue;
        for (let j = 0; j < kw; j++) {
          const w = wo * sw - pw + j;
          if (w >= 0 && w < inW) visit(plane, outAt, (plane * inH + h) * inW + w);
        }
      }
    }
  }
}

export function avgPool2d(g: PoolGeometry, n: number, x: Float64Array, alloc: Alloc = FRESH): Float64Array {
  const out = alloc(n * g.c * g.outH * g.outW);
  const inv = 1 / (g.kh * g.kw);
  windows(g, n, (_, o, i) => { out[o] += x[i]; });
  for (let k = 0; k < out.length; k++) out[k] *= inv;
  return out;
}

export function avgPool2dTranspose(
  g: PoolGeometry, n: number, dy: Float64Array, alloc: Alloc = FRESH,
): Float64Array {
  const dx = alloc(n * g.c * g.inH * g.inW);
  const inv = 1 / (g.kh * g.kw);
  windows(g, n, (_, o, i) => { dx[i] += dy[o] * inv; });
  return dx;
}
