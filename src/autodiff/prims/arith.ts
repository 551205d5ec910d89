import type { Engine, Primitive, Var } from '../engine.js';
import type { Kernels, Term } from '../../kernels/kernels.js';
import { sameShape, formatShape, type Tensor } from '../../tensor/tensor.js';
import {
  BroadcastProductTensor, BroadcastTensor, DerivativeTensor, ProductTensor, SumTensor,
} from './lazy.js';

/** Elementwise sum, product and scaling of tensors of one shape. */

const sameShapes = (
  name: string, a: { shape: readonly number[] }, b: { shape: readonly number[] },
) => {
  if (!sameShape(a.shape, b.shape)) throw new Error(
    `${name}: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} differ`);
};

/**
 * a ∘ b for a commutative ∘ (IEEE sums and products are: the values do not depend on the order), with
 * a broadcast operand read from its source.
 */
function combine(
  a: Tensor, b: Tensor, full: (a: Float64Array, b: Float64Array) => Float64Array,
  broadcast: Kernels['addBroadcast'],
): Float64Array {
  if (b instanceof BroadcastTensor) return broadcast(a.data, b.source.data, b.source.shape, b.shape);
  if (a instanceof BroadcastTensor) return broadcast(b.data, a.source.data, a.source.shape, a.shape);
  return full(a.data, b.data);
}

/**
 * A tensor as an operand of addTerms: a product or a broadcast not built yet as what it is made of,
 * anything else as its values.
 */
function termOf(t: Tensor): Term {
  if (t instanceof ProductTensor && !t.built) return { x: t.a.data, y: t.b.data };
  if (t instanceof BroadcastProductTensor && !t.built) {
    return { x: t.a.data, y: t.b.source.data, from: t.b.source.shape };
  }
  if (t instanceof BroadcastTensor) return { y: t.source.data, from: t.source.shape };
  return { x: t.data };
}

const lazySum = (t: Tensor): t is SumTensor => t instanceof SumTensor && !t.built;

export const ADD: Primitive = {
  name: 'add',
  forward: (k, [a, b]) => {
    sameShapes('add', a, b);
    if (a instanceof BroadcastTensor && b instanceof BroadcastTensor) {
      return { out: { shape: a.shape, data: combine(a, b, k.add, k.addBroadcast) } };
    }
    // summed with its products and broadcasts (and the sums it is added to next) in one pass when
    // read: a sum continues a partial sum on either side (+ commutes), never two (that would reassociate)
    const terms = lazySum(a) ? [...a.terms, termOf(b)]
      : lazySum(b) ? [...b.terms, termOf(a)] : [termOf(a), termOf(b)];
    return { out: new SumTensor(a.shape, terms, k) };
  },
  vjp: (_e, _n, g) => [g, g],
};

export const MUL: Primitive = {
  name: 'mul',
  forward: (k, [a, b]) => {
    sameShapes('mul', a, b);
    const d = b instanceof DerivativeTensor ? b : a instanceof DerivativeTensor ? a : null;
    if (d) {
      const other = d === b ? a : b;
      // a ReLU's adjoint summed over its uses: masked as it is summed (the same values)
      if (d.name === 'relu' && d.order === 1 && lazySum(other)) {
        return { out: { shape: a.shape, data: k.addTerms(other.terms, a.shape, d.x.data) } };
      }
      return { out: { shape: a.shape, data: k.mulUnary(other.data, d.name, d.order, d.param, d.x.data) } };
    }
    if (a instanceof BroadcastTensor && b instanceof BroadcastTensor) {
      return { out: { shape: a.shape, data: combine(a, b, k.mul, k.mulBroadcast) } };
    }
    if (b instanceof BroadcastTensor) return { out: new BroadcastProductTensor(a, b, k) };
    if (a instanceof BroadcastTensor) return { out: new BroadcastProductTensor(b, a, k) };
    return { out: new ProductTensor(a, b, k) };
  },
  vjp: (e, { inputs: [a, b] }, g, [da, db]) => [da ? mul(e, g, b) : null, db ? mul(e, g, a) : null],
};

export const SCALE: Primitive<number> = {
  name: 'scale',
  // a broadcast scaled is the scaled source broadcast (the same values)
  forward: (k, [a], c) => ({
    out: a instanceof BroadcastTensor
      ? new BroadcastTensor(a.shape, { shape: a.source.shape, data: k.scale(a.source.data, c) }, k)
      : { shape: a.shape, data: k.scale(a.data, c) },
  }),
  vjp: (e, { attrs: c }, g) => [scale(e, g, c)],
};

export const add = (e: Engine, a: Var, b: Var): Var => e.apply(ADD, [a, b], undefined);
export const mul = (e: Engine, a: Var, b: Var): Var => e.apply(MUL, [a, b], undefined);
export const scale = (e: Engine, a: Var, c: number): Var => e.apply(SCALE, [a], c);
export const sub = (e: Engine, a: Var, b: Var): Var => add(e, a, scale(e, b, -1));
