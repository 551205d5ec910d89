import type { Kernels } from '../kernels.js';
import { conv2d, conv2dInputGrad, conv2dWeightGrad } from './conv.js';
import { add, broadcastTo, mul, scale, softmax, sumTo, unary } from './elementwise.js';
import { avgPool2d, avgPool2dTranspose, gather, maxPool2d, scatterAdd } from './pool.js';

/** The reference kernels in plain JavaScript: the oracle every faster implementation is tested against. */
export const JS_KERNELS: Kernels = Object.freeze({
  conv2d, conv2dInputGrad, conv2dWeightGrad, maxPool2d, gather, scatterAdd, avgPool2d, avgPool2dTranspose,
  unary, add, mul, scale, sumTo, broadcastTo, softmax,
});
