import { fromBase64 } from '../../formats/base64.js';
import { LINALG_WASM_BASE64 } from './binary.js';
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

const PAGE = 65536;
/** wasm32 addresses 4 GiB; stay below so that offsets fit a signed 32-bit argument. */
const MAX_BYTES = 2 ** 31 - PAGE;

export function frontKernelWasm(maxFront: number): FrontKernel {
  const up = (b: number) => Math.ceil(b / 16) * 16;
  const fBytes = up(maxFront * maxFront * 8), diagAt = fBytes, dropAt = diagAt + up(maxFront * 8);
  const outAt = dropAt + up(maxFront), bytes = outAt + 16;
  let frontchol: FrontChol, buffer: ArrayBuffer;
  try {
    if (bytes > MAX_BYTES || typeof WebAssembly !== 'object') return frontKernelJs();
    const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE)) });
    const module = new WebAssembly.Module(fromBase64(LINALG_WASM_BASE64));
    const instance = new WebAssembly.Instance(module, { env: { memory, abort: () => {} } });
    frontchol = instance.exports.frontchol as FrontChol;
    buffer = memory.buffer;
  } catch (e) {
    // no SIMD, or a memory V8 could not reserve (ulimit -v)
    if (e instanceof RangeError || e instanceof WebAssembly.CompileError) return frontKernelJs();
    throw e;
  }
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
