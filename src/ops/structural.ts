import { add } from '../autodiff/prims/arith.js';
import { reshape } from '../autodiff/prims/shape.js';
import { fail } from '../core/errors.js';
import { describe } from '../model/chain-spec.js';
import { formatShape, sameShape, sizeOf } from '../tensor/tensor.js';
import { ONE_TO_ONE, type Op } from './op.js';

/** Ops that move or combine values without parameters: flatten, residual addition, dropout. */

export const FLATTEN: Op<null> = {
  name: 'flatten',
  arity: 1,
  fields: [],
  attrs: () => null,
  shape: (_a, [x]) => [sizeOf(x)],
  params: () => [],
  apply: ({ e }, [x]) => reshape(e, x, [x.shape[0], sizeOf(x.shape.slice(1))]),
  layerwise: ONE_TO_ONE,
};

export const ADD: Op<null> = {
  name: 'add',
  arity: 2,
  fields: [],
  attrs: () => null,
  shape: (_a, [x, y], where) => {
    if (!sameShape(x, y)) fail(where(
      `adds inputs of shapes ${formatShape(x)} and ${formatShape(y)}; they must be equal`));
    return x;
  },
  params: () => [],
  apply: ({ e }, [x, y]) => add(e, x, y),
};

/** Dropout is the identity when the model is evaluated, which is when gradients are shared here. */
export const DROPOUT: Op<{ p: number }> = {
  name: 'dropout',
  arity: 1,
  fields: ['p'],
  attrs: (raw, where) => {
    const p = raw.p ?? 0.5;
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) fail(where(
      `"p" must be a number in [0, 1), got ${describe(p)}`));
    return { p };
  },
  shape: (_a, [x]) => x,
  params: () => [],
  apply: (_ctx, [x]) => x,
  layerwise: ONE_TO_ONE,
};
