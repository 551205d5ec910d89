import { conv2d } from '../autodiff/prims/conv.js';
import { reshape } from '../autodiff/prims/shape.js';
import { MAX_FEATURES } from '../core/limits.js';
import { bool, expectRank, int, uniformInit } from './attrs.js';
import { makeActivation } from '../model/chain-activations.js';
import type { Op } from './op.js';

/**
 * Fully connected layer, PyTorch's Linear: weight [out, in], optional bias [out], on [N, in] inputs.
 * Computed as a 1×1 convolution of [N, in, 1, 1]: the same kernels, summing in the same order as a
 * convolution whose kernel covers a whole C×H×W input (what the chain models always did).
 */
export interface LinearAttrs { out: number; bias: boolean }

export const LINEAR: Op<LinearAttrs> = {
  name: 'linear',
  arity: 1,
  fields: ['out', 'bias'],
  attrs: (raw, where) => ({
    out: int(raw, 'out', where, 1, MAX_FEATURES), bias: bool(raw, 'bias', where, true),
  }),
  shape: (a, [x], where) => {
    expectRank(x, 1, 'features [F] (put a flatten node before it)', where);
    return [a.out];
  },
  params: (a, [x]) => {
    const init = uniformInit(x[0]);
    return [
      { suffix: 'weight', shape: [a.out, x[0]], trainable: true, init },
      ...(a.bias ? [{ suffix: 'bias', shape: [a.out], trainable: true, init }] : []),
    ];
  },
  apply: ({ e }, [x], p, a) => {
    const [n, f] = x.shape;
    const geom = {
      inC: f, inH: 1, inW: 1, outC: a.out, outH: 1, outW: 1, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0,
    };
    const z = conv2d(
      e, reshape(e, x, [n, f, 1, 1]), reshape(e, p.weight, [a.out, f, 1, 1]), p.bias ?? null, geom);
    return reshape(e, z, [n, a.out]);
  },
  // a linear layer on features is a convolution whose 1×1 kernel covers all of them
  system: {
    geometry: (a, [f], index) => ({
      index, type: 'linear', inC: f, inH: 1, inW: 1, outC: a.out, outH: 1, outW: 1,
      kh: 1, kw: 1, stride: 1, pad: 0, bias: a.bias, activation: makeActivation('identity'),
    }),
  },
};
