import { scale } from '../autodiff/prims/arith.js';
import { sumTo } from '../autodiff/prims/shape.js';
import { expectRank } from './attrs.js';
import type { Op } from './op.js';
import { windowSums } from './pool-window.js';

/** Global mean pooling: each channel's mean over the whole image, [C, H, W] → [C, 1, 1]. */
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
  // the whole image is one window
  layerwise: {
    knownInputs: (_a, { inShape: [c, h, w] }, known) => windowSums(
      { c, inH: h, inW: w, outH: 1, outW: 1, kh: h, kw: w, sh: 1, sw: 1, ph: 0, pw: 0 }, known),
  },
};
