import type { ConvGeometry } from '../../kernels/kernels.js';
import type { Engine, Primitive, Var } from '../engine.js';
import { reshape, sumTo } from './shape.js';

/**
 * The convolution and its two transposes. They are bilinear and each one's VJP is made of the other
 * two, so the family is closed under differentiation to any order. Shapes: x [N, C, H, W],
 * w [O, C, kh, kw], b [O], z [N, O, oh, ow].
 */
export const CONV2D: Primitive<ConvGeometry> = {
  name: 'conv2d',
  forward: (k, [x, w, b], g) => ({
    out: {
      shape: [x.shape[0], g.outC, g.outH, g.outW],
      data: k.conv2d(g, x.shape[0], x.data, w.data, b ? b.data : null),
    },
  }),
  vjp: (e, { inputs: [x, w, b], attrs: geom }, g, [dx, dw, db]) => [
    dx ? conv2dInputGrad(e, g, w, geom) : null,
    dw ? conv2dWeightGrad(e, x, g, geom) : null,
    ...(b ? [db ? reshape(e, sumTo(e, g, [1, geom.outC, 1, 1]), [geom.outC]) : null] : []),
  ],
};

export const CONV2D_INPUT_GRAD: Primitive<ConvGeometry> = {
  name: 'conv2d_input_grad',
  forward: (k, [dz, w], g) => ({
    out: {
      shape: [dz.shape[0], g.inC, g.inH, g.inW], data: k.conv2dInputGrad(g, dz.shape[0], dz.data, w.data),
    },
  }),
  vjp: (e, { inputs: [dz, w], attrs: geom }, g, [ddz, dw]) => [
    ddz ? conv2d(e, g, w, null, geom) : null,
    dw ? conv2dWeightGrad(e, g, dz, geom) : null,
  ],
};

export const CONV2D_WEIGHT_GRAD: Primitive<ConvGeometry> = {
  name: 'conv2d_weight_grad',
  forward: (k, [x, dz], g) => ({
    out: { shape: [g.outC, g.inC, g.kh, g.kw], data: k.conv2dWeightGrad(g, x.shape[0], x.data, dz.data) },
  }),
  vjp: (e, { inputs: [x, dz], attrs: geom }, g, [dx, ddz]) => [
    dx ? conv2dInputGrad(e, dz, g, geom) : null,
    ddz ? conv2d(e, x, g, null, geom) : null,
  ],
};

export const conv2d = (e: Engine, x: Var, w: Var, b: Var | null, g: ConvGeometry): Var =>
  e.apply(CONV2D, b ? [x, w, b] : [x, w], g);
export const conv2dInputGrad = (e: Engine, dz: Var, w: Var, g: ConvGeometry): Var =>
  e.apply(CONV2D_INPUT_GRAD, [dz, w], g);
export const conv2dWeightGrad = (e: Engine, x: Var, dz: Var, g: ConvGeometry): Var =>
  e.apply(CONV2D_WEIGHT_GRAD, [x, dz], g);
