import { FRESH, type Alloc, type Kernels } from '../kernels.js';
import * as conv from './conv.js';
import * as ew from './elementwise.js';
import * as pool from './pool.js';

/** The reference kernels in plain JavaScript, their outputs taken from `alloc`. */
export function jsKernels(alloc: Alloc = FRESH): Kernels {
  return Object.freeze({
    conv2d: (g, n, x, w, b) => conv.conv2d(g, n, x, w, b, alloc),
    conv2dInputGrad: (g, n, dz, w) => conv.conv2dInputGrad(g, n, dz, w, alloc),
    conv2dWeightGrad: (g, n, x, dz) => conv.conv2dWeightGrad(g, n, x, dz, alloc),
    maxPool2d: (g, n, x) => pool.maxPool2d(g, n, x, alloc),
    gather: (x, index) => pool.gather(x, index, alloc),
    scatterAdd: (g, index, size) => pool.scatterAdd(g, index, size, alloc),
    avgPool2d: (g, n, x) => pool.avgPool2d(g, n, x, alloc),
    avgPool2dTranspose: (g, n, dy) => pool.avgPool2dTranspose(g, n, dy, alloc),
    unary: (name, order, param, x) => ew.unary(name, order, param, x, alloc),
    mulUnary: (a, name, order, param, x) => ew.mulUnary(a, name, order, param, x, alloc),
    add: (a, b) => ew.add(a, b, alloc),
    mul: (a, b) => ew.mul(a, b, alloc),
    scale: (a, c) => ew.scale(a, c, alloc),
    addBroadcast: (a, b, from, to) => ew.addBroadcast(a, b, from, to, alloc),
    mulBroadcast: (a, b, from, to) => ew.mulBroadcast(a, b, from, to, alloc),
    addTerms: (terms, to, reluMaskOf) => ew.addTerms(terms, to, reluMaskOf, alloc),
    sumTo: (x, from, to) => ew.sumTo(x, from, to, alloc),
    sumToMul: (a, b, from, to) => ew.sumToMul(a, b, from, to, alloc),
    broadcastTo: (x, from, to) => ew.broadcastTo(x, from, to, alloc),
    softmax: (x, rows, cols) => ew.softmax(x, rows, cols, alloc),
    withOutputs: jsKernels,
  } satisfies Kernels);
}

/** The reference kernels in plain JavaScript: the oracle every faster implementation is tested against. */
export const JS_KERNELS: Kernels = jsKernels();
