import { fromBase64 } from '../../formats/base64.js';
import { KERNELS_WASM_BASE64 } from './binary.js';
import { KERNELS_SHARED_WASM_BASE64 } from './binary-shared.js';
import { CONTROL_BYTES } from './threads.js';

/** The exports of wasm/kernels.ts: pointers are byte offsets into the memory, sizes in elements. */
export interface KernelExports {
  gemm_f64: Gemm; gemm_f32: Gemm;
  unfold_f64: Unfold; unfold_f32: Unfold;
  unfoldT_f64: Unfold; unfoldT_f32: Unfold;
  fold_f64: Unfold; fold_f32: Unfold;
  transpose_f64: Transpose; transpose_f32: Transpose;
  /** n float64 at src to float32 at dst (rounded), and back (exact). */
  demote: Convert; promote: Convert;
  /**
   * A float64 batch [n][c][len] to channel-major rows (channel o's at o·ld) in float32 or float64, and
   * back to a float64 batch.
   */
  demote_to_channels: Channels; promote_from_channels: Channels;
  copy_to_channels: Channels; copy_from_channels: Channels;
}
type Convert = (src: number, dst: number, n: number) => void;
type Channels = (src: number, dst: number, n: number, c: number, len: number, ld: number) => void;
type Transpose = (src: number, dst: number, rows: number, cols: number) => void;
type Gemm = (a: number, b: number, c: number, m: number, n: number, k: number,
  lda: number, ldb: number, ldc: number) => void;
/** unfold, unfoldT and fold: `ld` is the unfolded matrix's row stride in elements. */
type Unfold = (src: number, dst: number, inC: number, inH: number, inW: number, outW: number,
  kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, ho0: number, ho1: number,
  ld: number) => void;

const PAGE = 65536;
/** wasm32 addresses 4 GiB; stay below so that offsets fit a signed 32-bit argument. */
const MAX_BYTES = 2 ** 31 - PAGE;
/** The shared module's declared maximum (scripts/build-wasm.mjs): 2 GiB. */
const SHARED_MAX_PAGES = 32768;

/** Whether this engine validates the module (WebAssembly with SIMD). */
export function wasmSimdAvailable(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(fromBase64(KERNELS_WASM_BASE64));
  } catch {
    return false;
  }
}

/**
 * One instance of the kernels module and its memory, which every call lays out afresh from offset
 * `BASE` (an arena: nothing lives in it between calls). Owned by one kernel set. A shared arena's
 * memory is also used by its kernel threads (threads.ts), whose control block lies below `BASE`.
 */
export class WasmArena {
  static readonly BASE = CONTROL_BYTES;
  readonly fn: KernelExports;
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;

  constructor(shared = false) {
    this.memory = new WebAssembly.Memory(
      shared ? { initial: 16, maximum: SHARED_MAX_PAGES, shared: true } : { initial: 16 });
    this.module = new WebAssembly.Module(fromBase64(shared ? KERNELS_SHARED_WASM_BASE64 : KERNELS_WASM_BASE64));
    const instance = new WebAssembly.Instance(this.module, { env: { memory: this.memory, abort: () => {} } });
    this.fn = instance.exports as unknown as KernelExports;
  }

  /** Makes the memory at least `bytes` long; views taken before are invalid afterwards. */
  reserve(bytes: number): void {
    if (bytes > MAX_BYTES) {
      throw new RangeError(`a kernel needs ${Math.ceil(bytes / 2 ** 20)} MiB, more than WebAssembly's 2 GiB`);
    }
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  f64(offset: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, offset, length);
  }

  f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, length);
  }
}
