import { scale } from '../autodiff/prims/arith.js';
import { avgPool2d, maxPool2d } from '../autodiff/prims/pool.js';
import { sumTo } from '../autodiff/prims/shape.js';
import { fail } from '../core/errors.js';
import type { PoolGeometry } from '../kernels/kernels.js';
import type { Shape } from '../tensor/tensor.js';
import { expectRank, pair, slide } from './attrs.js';
import type { LayerwiseRule, Op } from './op.js';

/** Max and mean pooling over windows (PyTorch's MaxPool2d, AvgPool2d), and global mean pooling. */
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
 * A max-pooled output is the input at its window's argmax: a known output determines that one input
 * and says only "not larger" of the others. The what-if takes the true argmax (first maximum, as the
 * forward pass); an attacker has to estimate it.
 */
const ARGMAX: LayerwiseRule<PoolAttrs> = {
  knownInputs: (a, { kernels, inShape, input }, known) => {
    const { argmax } = kernels.maxPool2d(poolGeometry(a, inShape), 1, input);
    const out = new Uint8Array(input.length);
    argmax.forEach((at, k) => { if (known[k]) out[at] = 1; });
    return out;
  },
};

/** A mean of a window pins down no single input: its rule needs weight rows that sum windows (not yet). */
const WINDOW_MEAN: LayerwiseRule<unknown> = {
  knownInputs: () => ({
    reason: 'mean pooling mixes each window, so no single pre-activation is known; '
      + 'its rule is not implemented yet',
  }),
};

function pool(name: string, run: typeof maxPool2d, layerwise: LayerwiseRule<PoolAttrs>): Op<PoolAttrs> {
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

export const MAX_POOL2D = pool('max_pool2d', maxPool2d, ARGMAX);
export const AVG_POOL2D = pool('avg_pool2d', avgPool2d, WINDOW_MEAN);

export const GLOBAL_AVG_POOL: Op<null> = {
  name: 'global_avg_pool',
  arity: 1,
  fields: [],
  attrs: () => null,
  shape: (_a, [x], where) => {
    expectRank(x, 3, 'an image [C, H, W]', where);
    return [x[0], 1, 1];
  },
  params: () => [],
  apply: ({ e }, [x]) => {
    const [n, c, h, w] = x.shape;
    return scale(e, sumTo(e, x, [n, c, 1, 1]), 1 / (h * w));
  },
  layerwise: WINDOW_MEAN,
};
