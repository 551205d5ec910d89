import { WasmArena } from '../../kernels/wasm/module.js';
import { matmulAdd } from '../matmul.js';

const ALIGN = 16;
/** Below this many multiply-adds the copies in and out cost more than the kernel saves. */
const MIN_WORK = 1 << 16;

/**
 * `matmulAdd` through the float64 GEMM of the compute kernels (wasm/kernels.ts), equal to it to the
 * bit. Each call instantiates its own module on a memory sized for the three matrices; where
 * WebAssembly SIMD or that memory is missing (or the matrices pass wasm32's 2 GiB), the reference runs.
 */
export function matmulAddFast(
  c: Float64Array, a: Float64Array, b: Float64Array, m: number, n: number, k: number,
): void {
  if (m * n * k < MIN_WORK) return matmulAdd(c, a, b, m, n, k);
  const up = (elements: number) => Math.ceil((elements * 8) / ALIGN) * ALIGN;
  const ao = WasmArena.BASE, bo = ao + up(m * k), co = bo + up(k * n), end = co + up(m * n);
  let arena: WasmArena;
  try {
    arena = new WasmArena();
    arena.reserve(end);
  } catch (e) {
    // no SIMD, a memory V8 could not reserve (ulimit -v), or beyond wasm32's 2 GiB
    if (e instanceof RangeError || e instanceof WebAssembly.CompileError) return matmulAdd(c, a, b, m, n, k);
    throw e;
  }
  arena.f64(ao, m * k).set(a.subarray(0, m * k));
  arena.f64(bo, k * n).set(b.subarray(0, k * n));
  arena.f64(co, m * n).set(c.subarray(0, m * n));
  arena.fn.gemm_f64(ao, bo, co, m, n, k, k, n, n);
  c.set(arena.f64(co, m * n));
}
