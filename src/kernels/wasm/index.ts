import type { Kernels } from '../kernels.js';
import { JS_KERNELS } from '../js/index.js';
import { WasmConv, type Precision } from './conv.js';
import { WasmArena } from './module.js';

export type { Precision } from './conv.js';
export { wasmSimdAvailable } from './module.js';

/**
 * Kernels whose convolutions run in WebAssembly SIMD, in float64 or float32 arithmetic (inputs are
 * rounded to float32 on the way in, results widened on the way out); everything else is the JavaScript
 * reference. Each call returns a new set with its own module instance and memory.
 */
export function createWasmKernels(precision: Precision): Kernels {
  const conv = new WasmConv(new WasmArena(), precision);
  return Object.freeze({
    ...JS_KERNELS,
    conv2d: conv.conv2d.bind(conv),
    conv2dInputGrad: conv.conv2dInputGrad.bind(conv),
    conv2dWeightGrad: conv.conv2dWeightGrad.bind(conv),
  });
}
