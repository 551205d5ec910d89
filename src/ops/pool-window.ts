import { maxPool2d } from '../autodiff/prims/pool.js';
import { fail } from '../core/errors.js';
import type { PoolGeometry } from '../kernels/kernels.js';
import type { Shape } from '../tensor/tensor.js';
import { expectRank, pair, slide } from './attrs.js';
import type { LayerwiseRule, Op } from './op.js';

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

/** A mean of a window pins down no single input: its rule needs weight rows that sum windows (not yet). */
export const WINDOW_MEAN: LayerwiseRule<unknown> = {
  knownInputs: () => ({
    reason: 'mean pooling mixes each window, so no single pre-activation is known; '
      + 'its rule is not implemented yet',
  }),
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
