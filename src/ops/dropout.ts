import { fail } from '../core/errors.js';
import { describe } from '../model/chain-spec.js';
import { ONE_TO_ONE, type Op } from './op.js';

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
