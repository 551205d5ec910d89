import { conv2d } from '../autodiff/prims/conv.js';
import { MAX_FEATURES } from '../core/limits.js';
import type { ConvGeometry } from '../kernels/kernels.js';
import type { Shape } from '../tensor/tensor.js';
import { bool, expectRank, int, pair, slide, uniformInit } from './attrs.js';
import { makeActivation } from '../model/chain-activations.js';
import type { Op } from './op.js';

/** 2-D convolution, PyTorch's Conv2d: weight [out, in, kh, kw], optional bias [out]. */
export interface Conv2dAttrs {
  out: number;
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  bias: boolean;
}

export function convGeometry(
  a: Conv2dAttrs, [c, h, w]: Shape, where: (s: string) => string = (s) => s,
): ConvGeometry {
  const [kh, kw] = a.kernel, [sh, sw] = a.stride, [ph, pw] = a.padding;
  return {
    inC: c, inH: h, inW: w, outC: a.out, kh, kw, sh, sw, ph, pw,
    outH: slide(h, kh, sh, ph, where, 'kernel'), outW: slide(w, kw, sw, pw, where, 'kernel'),
  };
}

export const CONV2D: Op<Conv2dAttrs> = {
  name: 'conv2d',
  arity: 1,
  fields: ['out', 'kernel', 'stride', 'padding', 'bias'],
  attrs: (raw, where) => ({
    out: int(raw, 'out', where, 1, MAX_FEATURES), kernel: pair(raw, 'kernel', where, 1),
    stride: pair(raw, 'stride', where, 1, [1, 1]),
    padding: pair(raw, 'padding', where, 0, [0, 0]), bias: bool(raw, 'bias', where, true),
  }),
  shape: (a, [x], where) => {
    expectRank(x, 3, 'an image [C, H, W]', where);
    const g = convGeometry(a, x, where);
    return [g.outC, g.outH, g.outW];
  },
  params: (a, [x]) => {
    const init = uniformInit(x[0] * a.kernel[0] * a.kernel[1]);
    return [
      { suffix: 'weight', shape: [a.out, x[0], ...a.kernel], trainable: true, init },
      ...(a.bias ? [{ suffix: 'bias', shape: [a.out], trainable: true, init }] : []),
    ];
  },
  apply: ({ e }, [x], p, a) => conv2d(e, x, p.weight, p.bias ?? null, convGeometry(a, x.shape.slice(1))),
  system: {
    geometry: (a, inShape, index) => {
      const g = convGeometry(a, inShape);
      if (g.kh !== g.kw || g.sh !== g.sw || g.ph !== g.pw) {
        return {
          reason: 'its kernel, stride or padding differs between height and width, '
            + 'which the layer systems do not handle yet',
        };
      }
      return {
        index, type: 'conv', inC: g.inC, inH: g.inH, inW: g.inW, outC: g.outC, outH: g.outH, outW: g.outW,
        kh: g.kh, kw: g.kw, stride: g.sh, pad: g.ph, bias: a.bias, activation: makeActivation('identity'),
      };
    },
  },
};
