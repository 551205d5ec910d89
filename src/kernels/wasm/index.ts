import { FRESH, type Alloc, type Kernels } from '../kernels.js';
import { jsKernels } from '../js/index.js';
import { WasmConv, type Precision } from './conv.js';
import { WasmArena } from './module.js';
import { KernelThreads, type SpawnKernelThread } from './threads.js';

export type { Precision } from './conv.js';
export { wasmSimdAvailable } from './module.js';
export type { SpawnKernelThread } from './threads.js';
export type { ThreadOptions };

/** Kernels that hold a WebAssembly instance and maybe threads: `close` ends the threads. */
export interface WasmKernels extends Kernels {
  readonly threads: number;
  close(): void;
}

/** Threads for the large GEMMs: how many in all (the caller's included) and how to start one. */
interface ThreadOptions { count: number; spawn: SpawnKernelThread }

/**
 * Kernels whose convolutions run in WebAssembly SIMD, in float64 or float32 arithmetic (inputs are
 * rounded to float32 on the way in, results widened on the way out); everything else is the JavaScript
 * reference. Each call returns a new set with its own module instance and memory; with `threads`
 * (count > 1) the memory is shared and large GEMMs are split across that many threads.
 */
export function createWasmKernels(precision: Precision, threads?: ThreadOptions): WasmKernels {
  const parallel = threads !== undefined && threads.count > 1;
  const arena = new WasmArena(parallel);
  const pool = parallel ? new KernelThreads(arena.fn, arena.module, arena.memory, threads.count, threads.spawn) : null;
  const conv = new WasmConv(arena, precision, pool);
  const withOutputs = (alloc: Alloc): WasmKernels => Object.freeze({
    ...jsKernels(alloc),
    conv2d: (g, n, x, w, b) => conv.conv2d(g, n, x, w, b, alloc),
    conv2dInputGrad: (g, n, dz, w) => conv.conv2dInputGrad(g, n, dz, w, alloc),
    conv2dWeightGrad: (g, n, x, dz) => conv.conv2dWeightGrad(g, n, x, dz, alloc),
    withOutputs,
    threads: pool ? pool.threads : 1,
    close: () => pool?.close(),
  } satisfies WasmKernels);
  return withOutputs(FRESH);
}
