import type { Shape } from '../../tensor/tensor.js';
import type { Engine, Primitive, Var } from '../engine.js';
import { BroadcastTensor, ProductTensor } from './lazy.js';

/** Reductions to a smaller shape, broadcasts back up, and reshapes: each the other's VJP. */

export const SUM_TO: Primitive<Shape> = {
  name: 'sum_to',
  // a product not built yet is summed as it is formed (the same values)
  forward: (k, [x], to) => ({
    out: {
      shape: to,
      data: x instanceof ProductTensor && !x.built
        ? k.sumToMul(x.a.data, x.b.data, x.shape, to) : k.sumTo(x.data, x.shape, to),
    },
  }),
  vjp: (e, { inputs: [x] }, g) => [broadcastTo(e, g, x.shape)],
};

export const BROADCAST_TO: Primitive<Shape> = {
  name: 'broadcast_to',
  forward: (k, [x], to) => ({ out: new BroadcastTensor(to, x, k) }),
  vjp: (e, { inputs: [x] }, g) => [sumTo(e, g, x.shape)],
};

export const RESHAPE: Primitive<Shape> = {
  name: 'reshape',
  forward: (_k, [x], to) => ({ out: { shape: to, data: x.data } }),
  vjp: (e, { inputs: [x] }, g) => [reshape(e, g, x.shape)],
};

export const sumTo = (e: Engine, x: Var, to: Shape): Var => e.apply(SUM_TO, [x], [...to]);
export const broadcastTo = (e: Engine, x: Var, to: Shape): Var => e.apply(BROADCAST_TO, [x], [...to]);
export const reshape = (e: Engine, x: Var, to: Shape): Var => e.apply(RESHAPE, [x], [...to]);
/** The sum of every element, as a [1] tensor. */
export const sumAll = (e: Engine, x: Var): Var => reshape(e, sumTo(e, x, x.shape.map(() => 1)), [1]);
