import { fromBase64 } from '../../formats/base64.js';
import { LINALG_WASM_BASE64 } from './binary.js';

const PAGE = 65536;
/** wasm32 addresses 4 GiB; stay below so that offsets fit a signed 32-bit argument. */
const MAX_BYTES = 2 ** 31 - PAGE;

/**
 * One instance of wasm/linalg.ts's module over a fresh memory of at least `bytes`, or null where
 * WebAssembly SIMD or that memory cannot be had (the caller then runs its JavaScript reference).
 * Used by the multifrontal kernels (frontal.ts); dense.ts has its own loader.
 */
export function linalgInstance(bytes: number): { exports: WebAssembly.Exports; buffer: ArrayBuffer } | null {
  if (bytes > MAX_BYTES || typeof WebAssembly !== 'object') return null;
  try {
    const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE)) });
    const module = new WebAssembly.Module(fromBase64(LINALG_WASM_BASE64));
    const instance = new WebAssembly.Instance(module, { env: { memory, abort: () => {} } });
    return { exports: instance.exports, buffer: memory.buffer };
  } catch (e) {
    // no SIMD, or a memory V8 could not reserve (ulimit -v)
    if (e instanceof RangeError || e instanceof WebAssembly.CompileError) return null;
    throw e;
  }
}

/** Rounds a byte count up to 16 (v128 alignment of each array). */
export const up16 = (b: number) => Math.ceil(b / 16) * 16;
