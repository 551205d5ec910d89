import { linalgInstance, up16 } from './instance.js';
import { frontKernelJs, type FrontKernel } from '../multifrontal.js';

/**
 * The multifrontal Cholesky's dense front elimination in WebAssembly SIMD (`frontchol` in
 * wasm/linalg.ts), equal to the bit to linalg/multifrontal.ts's eliminateFront: the same pivots,
 * drops and factor. One module instance per factorisation, its memory sized for the largest front;
 * every front is assembled straight into that memory (no copy in), then its columns are copied out.
 * Falls back to the JavaScript kernel where WebAssembly SIMD or the memory is not available.
 */
type FrontChol = (f: number, fm: number, k: number, diag: number, tol: number, allowDrop: number,
  dropped: number, out: number) => number;

export function frontKernelWasm(maxFront: number): FrontKernel {
  const fBytes = up16(maxFront * maxFront * 8), diagAt = fBytes, dropAt = diagAt + up16(maxFront * 8);
  const outAt = dropAt + up16(maxFront);
  const wasm = linalgInstance(outAt + 16);
  if (!wasm) return frontKernelJs();
  const frontchol = wasm.exports.frontchol as FrontChol, buffer = wasm.buffer;
  const out = new Float64Array(buffer, outAt, 2);
  return {
    front: (fm) => new Float64Array(buffer, 0, fm * fm).fill(0),
    diag: (k) => new Float64Array(buffer, diagAt, k).fill(0),
    drops: (k) => new Uint8Array(buffer, dropAt, k).fill(0),
    eliminate: (fm, k, tol, allowDrop, pivots, _drops) => {
      out.set(pivots);
      const failed = frontchol(0, fm, k, diagAt, tol, allowDrop ? 1 : 0, dropAt, outAt);
      pivots.set(out);
      return failed;
    },
  };
}
