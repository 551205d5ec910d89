import { add } from '../autodiff/prims/arith.js';
import { fail } from '../core/errors.js';
import { formatShape, sameShape } from '../tensor/tensor.js';
import type { Op } from './op.js';

/**
 * Residual addition: combines two inputs of one shape, without parameters. No layer-wise rule: a known
 * sum does not say which part came from which branch.
 */
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
