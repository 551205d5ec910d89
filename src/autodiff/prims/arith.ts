import type { Engine, Primitive, Var } from '../engine.js';
import { sameShape, formatShape } from '../../tensor/tensor.js';

/** Elementwise sum, product and scaling of tensors of one shape. */

const sameShapes = (
  name: string, a: { shape: readonly number[] }, b: { shape: readonly number[] },
) => {
  if (!sameShape(a.shape, b.shape)) throw new Error(
    `${name}: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} differ`);
};

export const ADD: Primitive = {
  name: 'add',
  forward: (k, [a, b]) => {
    sameShapes('add', a, b);
    return { out: { shape: a.shape, data: k.add(a.data, b.data) } };
  },
  vjp: (_e, _n, g) => [g, g],
};

export const MUL: Primitive = {
  name: 'mul',
  forward: (k, [a, b]) => {
    sameShapes('mul', a, b);
    return { out: { shape: a.shape, data: k.mul(a.data, b.data) } };
  },
  vjp: (e, { inputs: [a, b] }, g, [da, db]) => [da ? mul(e, g, b) : null, db ? mul(e, g, a) : null],
};

export const SCALE: Primitive<number> = {
  name: 'scale',
  forward: (k, [a], c) => ({ out: { shape: a.shape, data: k.scale(a.data, c) } }),
  vjp: (e, { attrs: c }, g) => [scale(e, g, c)],
};

export const add = (e: Engine, a: Var, b: Var): Var => e.apply(ADD, [a, b], undefined);
export const mul = (e: Engine, a: Var, b: Var): Var => e.apply(MUL, [a, b], undefined);
export const scale = (e: Engine, a: Var, c: number): Var => e.apply(SCALE, [a], c);
export const sub = (e: Engine, a: Var, b: Var): Var => add(e, a, scale(e, b, -1));
