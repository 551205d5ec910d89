import type { Kernels } from './kernels.js';
import { JS_KERNELS } from './js/index.js';
import { createWasmKernels, wasmSimdAvailable, type Precision, type ThreadOptions } from './wasm/index.js';

export type { Precision } from './wasm/index.js';
export const PRECISIONS: readonly Precision[] = ['f64', 'f32'];

/** The default arithmetic of gradient matching (docs/DESIGN.md, "Decision: the compute kernels"). */
export const DEFAULT_PRECISION: Precision = 'f32';

export interface MatchingKernels {
  kernels: Kernels;
  /** What runs: 'wasm-f64', 'wasm-f32', or 'js-f64' where WebAssembly SIMD is missing. */
  engine: string;
  /** Set when the engine could not give what was asked (shown to the user once). */
  note?: string;
}

const fallback = (why: string): MatchingKernels => ({
  kernels: JS_KERNELS, engine: 'js-f64', note: `${why}: gradient matching runs the float64 JavaScript kernels`,
});

/**
 * The kernels for gradient matching in the asked precision: WebAssembly SIMD when this engine has it,
 * else the float64 JavaScript reference (which is then what runs, whatever was asked). With `threads`,
 * large convolutions are split across that many threads (the results do not change).
 */
export function matchingKernels(precision: Precision, threads?: ThreadOptions): MatchingKernels {
  if (!wasmSimdAvailable()) return fallback('WebAssembly SIMD is not available here');
  try {
    return { kernels: createWasmKernels(precision, threads), engine: `wasm-${precision}` };
  } catch (e) {
    // V8 reserves several GiB of address space per WebAssembly memory: under `ulimit -v` that fails
    if (e instanceof RangeError) return fallback('WebAssembly memory could not be reserved (address-space limit?)');
    throw e;
  }
}
