import { reshape } from '../autodiff/prims/shape.js';
import { sizeOf } from '../tensor/tensor.js';
import { ONE_TO_ONE, type Op } from './op.js';

/** Moves values without parameters: [C, H, W] → [C·H·W], the same values in the same order. */
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
