import type { PoolGeometry } from '../../kernels/kernels.js';
import type { Shape } from '../../tensor/tensor.js';
import type { Engine, Primitive, Var } from '../engine.js';

/**
 * Pooling. Max pooling picks, per window, one input (the first maximum); its VJP scatters the adjoint
 * back to those inputs, and gathering and scattering by a fixed index are each other's VJP (the
 * choice of maximum is piecewise constant: no second-order term). Mean pooling is linear: it and
 * its transpose are each other's VJP.
 */
interface Indexed { index: Int32Array; shape: Shape }

export const GATHER: Primitive<Indexed> = {
  name: 'gather',
  forward: (k, [x], a) => ({ out: { shape: a.shape, data: k.gather(x.data, a.index) } }),
  vjp: (e, { inputs: [x], attrs: a }, g) => [scatterAdd(e, g, a.index, x.shape)],
};

export const SCATTER_ADD: Primitive<Indexed> = {
  name: 'scatter_add',
  forward: (k, [g], a) => ({
    out: { shape: a.shape, data: k.scatterAdd(g.data, a.index, a.shape.reduce((p, q) => p * q, 1)) },
  }),
  vjp: (e, { inputs: [g], attrs: a }, adj) => [gather(e, adj, a.index, g.shape)],
};

export const gather = (e: Engine, x: Var, index: Int32Array, shape: Shape): Var =>
  e.apply(GATHER, [x], { index, shape: [...shape] });
export const scatterAdd = (e: Engine, g: Var, index: Int32Array, shape: Shape): Var =>
  e.apply(SCATTER_ADD, [g], { index, shape: [...shape] });

/** Max pooling: the indices come from the values, then it is a gather. */
export function maxPool2d(e: Engine, x: Var, geom: PoolGeometry): Var {
  const { argmax } = e.kernels.maxPool2d(geom, x.shape[0], x.data);
  return gather(e, x, argmax, [x.shape[0], geom.c, geom.outH, geom.outW]);
}

export const AVG_POOL2D: Primitive<PoolGeometry> = {
  name: 'avg_pool2d',
  forward: (k, [x], g) => ({
    out: { shape: [x.shape[0], g.c, g.outH, g.outW], data: k.avgPool2d(g, x.shape[0], x.data) },
  }),
  vjp: (e, { attrs }, g) => [e.apply(AVG_POOL2D_TRANSPOSE, [g], attrs)],
};

export const AVG_POOL2D_TRANSPOSE: Primitive<PoolGeometry> = {
  name: 'avg_pool2d_transpose',
  forward: (k, [dy], g) => ({
    out: { shape: [dy.shape[0], g.c, g.inH, g.inW], data: k.avgPool2dTranspose(g, dy.shape[0], dy.data) },
  }),
  vjp: (e, { attrs }, g) => [e.apply(AVG_POOL2D, [g], attrs)],
};

export const avgPool2d = (e: Engine, x: Var, geom: PoolGeometry): Var => e.apply(AVG_POOL2D, [x], geom);
