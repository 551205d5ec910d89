import { maxPool2d } from '../autodiff/prims/pool.js';
import { fail } from '../core/errors.js';
import type { PoolGeometry } from '../kernels/kernels.js';
import type { Shape } from '../tensor/tensor.js';
import { expectRank, pair, slide } from './attrs.js';
import type { LayerwiseRule, Op } from './op.js';
import { rowsOf, sumsOf, type Knowledge } from './knowledge.js';

/** Max and mean pooling over windows (PyTorch's MaxPool2d, AvgPool2d); global mean pooling has no attrs. */
export interface PoolAttrs { kernel: [number, number]; stride: [number, number]; padding: [number, number] }

export function poolGeometry(
  a: PoolAttrs, [c, h, w]: Shape, where: (s: string) => string = (s) => s,
): PoolGeometry {
  const [kh, kw] = a.kernel, [sh, sw] = a.stride, [ph, pw] = a.padding;
  if (2 * ph > kh || 2 * pw > kw) fail(where('padding must be at most half the window (as in PyTorch)'));
  return {
    c, inH: h, inW: w, kh, kw, sh, sw, ph, pw,
    outH: slide(h, kh, sh, ph, where, 'pooling'), outW: slide(w, kw, sw, pw, where, 'pooling'),
  };
}

/**
 * A mean of a window pins down no single input, but it is a known sum of the window's inputs (the
 * padding's zeros add nothing): each known output, and each known sum of outputs, becomes a sum over
 * the inputs of the windows. The 1/(kh·kw) scale does not change which sums are known and is left out.
 */
export function windowSums(g: PoolGeometry, known: Knowledge): Knowledge {
  const size = g.c * g.inH * g.inW;
  const window = (k: number): number[] => {
    const c = Math.floor(k / (g.outH * g.outW)), a = Math.floor(k / g.outW) % g.outH, b = k % g.outW;
    const at: number[] = [];
    for (let i = 0; i < g.kh; i++) {
      const h = a * g.sh + i - g.ph;
      if (h < 0 || h >= g.inH) continue;
      for (let j = 0; j < g.kw; j++) {
        const w = b * g.sw + j - g.pw;
        if (w >= 0 && w < g.inW) at.push((c * g.inH + h) * g.inW + w);
      }
    }
    return at;
  };
  const rows: [number, number][][] = [];
  known.values.forEach((v, k) => { if (v) rows.push(window(k).map((i) => [i, 1])); });
  for (const row of rowsOf(known.sums)) {
    rows.push(row.flatMap(([k, v]) => window(k).map((i): [number, number] => [i, v])));
  }
  return { values: new Uint8Array(size), sums: sumsOf(rows, size) };
}

export const WINDOW_MEAN: LayerwiseRule<PoolAttrs> = {
  knownInputs: (a, { inShape }, known) => windowSums(poolGeometry(a, inShape), known),
};

export function pool(
  name: string, run: typeof maxPool2d, layerwise: LayerwiseRule<PoolAttrs>,
): Op<PoolAttrs> {
  return {
    name,
    arity: 1,
    fields: ['kernel', 'stride', 'padding'],
    attrs: (raw, where) => {
      const kernel = pair(raw, 'kernel', where, 1);
      return {
        kernel, stride: pair(raw, 'stride', where, 1, kernel),
        padding: pair(raw, 'padding', where, 0, [0, 0]),
      };
    },
    shape: (a, [x], where) => {
      expectRank(x, 3, 'an image [C, H, W]', where);
      const g = poolGeometry(a, x, where);
      return [g.c, g.outH, g.outW];
    },
    params: () => [],
    apply: ({ e }, [x], _p, a) => run(e, x, poolGeometry(a, x.shape.slice(1))),
    layerwise,
  };
}
