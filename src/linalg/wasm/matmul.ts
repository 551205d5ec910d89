import { WasmArena } from '../../kernels/wasm/module.js';
import { matmulAdd } from '../matmul.js';

const ALIGN = 16;
/** Below this many multiply-adds the copies in and out cost more than the kernel saves. */
const MIN_WORK = 1 << 16;

/**
 * `matmulAdd` through the float64 GEMM of the compute kernels (wasm/kernels.ts), equal to it to the
 * bit. One workspace keeps one module instance for all its products (its memory grows to the
 * largest); its owner makes one per task. Where WebAssembly SIMD or the memory is missing (or the
 * matrices pass wasm32's 2 GiB), the reference runs.
 */
export class MatmulWorkspace {
  /** undefined: not made yet; null: WebAssembly is not available here. */
  private arena: WasmArena | null | undefined;

  add(c: Float64Array, a: Float64Array, b: Float64Array, m: number, n: number, k: number): void {
    if (m * n * k < MIN_WORK) return matmulAdd(c, a, b, m, n, k);
    const up = (elements: number) => Math.ceil((elements * 8) / ALIGN) * ALIGN;
    const ao = WasmArena.BASE, bo = ao + up(m * k), co = bo + up(k * n), end = co + up(m * n);
    const arena = this.reserve(end);
    if (!arena) return matmulAdd(c, a, b, m, n, k);
    arena.f64(ao, m * k).set(a.subarray(0, m * k));
    arena.f64(bo, k * n).set(b.subarray(0, k * n));
    arena.f64(co, m * n).set(c.subarray(0, m * n));
    arena.fn.gemm_f64(ao, bo, co, m, n, k, k, n, n);
    c.set(arena.f64(co, m * n));
  }

  private reserve(bytes: number): WasmArena | null {
    try {
      if (this.arena === undefined) this.arena = new WasmArena();
      this.arena?.reserve(bytes);
      return this.arena;
    } catch (e) {
      // no SIMD (then never again), a memory V8 could not reserve (ulimit -v), or beyond 2 GiB
      if (e instanceof WebAssembly.CompileError) this.arena = null;
      else if (!(e instanceof RangeError)) throw e;
      return null;
    }
  }
}

/** One product through a workspace of its own. */
export function matmulAddFast(
  c: Float64Array, a: Float64Array, b: Float64Array, m: number, n: number, k: number,
): void {
  new MatmulWorkspace().add(c, a, b, m, n, k);
}
