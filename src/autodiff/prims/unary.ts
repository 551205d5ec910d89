import type { UnaryName } from '../../kernels/kernels.js';
import type { Engine, Primitive, Var } from '../engine.js';
import { mul } from './arith.js';
import { DerivativeTensor } from './lazy.js';

/**
 * f⁽ᵏ⁾(x) elementwise for the activations and a few functions (exp, log, rsqrt, ...). The VJP of the
 * k-th derivative multiplies by the (k+1)-th, so second-order differentiation needs f″ and no more.
 */
export interface UnaryAttrs {
  name: UnaryName;
  order: number;
  /** leaky_relu's slope. */
  param: number;
}

/**
 * Functions whose first derivative is piecewise constant: its own derivative is zero wherever it
 * exists, so the VJP of f′ and above contributes nothing and is left out (no zero tensors computed,
 * multiplied and added: half the elementwise work of a ReLU network's double backprop).
 */
const PIECEWISE_LINEAR: readonly UnaryName[] = ['identity', 'relu', 'leaky_relu', 'abs'];

export const UNARY: Primitive<UnaryAttrs> = {
  name: 'unary',
  forward: (k, [x], a) => ({
    out: a.order >= 1 && PIECEWISE_LINEAR.includes(a.name)
      ? new DerivativeTensor(x, a.name, a.order, a.param, k)
      : { shape: x.shape, data: k.unary(a.name, a.order, a.param, x.data) },
  }),
  vjp: (e, { inputs: [x], attrs: a }, g) => {
    const next = { ...a, order: a.order + 1 };
    if (!PIECEWISE_LINEAR.includes(a.name)) return [mul(e, g, e.apply(UNARY, [x], next))];
    if (a.order >= 1) return [null];
    // f′ is piecewise constant: left off the tape (its VJP is zero), so that differentiating this
    // product again does not compute the adjoint of f′ (a full product) only to drop it
    return [mul(e, g, e.noGrad(() => e.apply(UNARY, [x], { ...a, order: 1 })))];
  },
};

export const unary = (e: Engine, x: Var, name: UnaryName, param = 0, order = 0): Var =>
  e.apply(UNARY, [x], { name, order, param });
