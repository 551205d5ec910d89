import type { Alloc, ConvGeometry } from '../kernels.js';
import { WasmArena, type KernelExports } from './module.js';
import type { KernelThreads } from './threads.js';

/**
 * Convolutions as GEMMs over the unfolded input (im2col), in WebAssembly: one GEMM per band of the
 * batch, a band being several whole samples or, for a large image, some output rows of one, so the
 * unfolded matrix stays bounded (about `BAND` elements) whatever the image. Forward and weight
 * gradient sum each element in the reference kernels' order (bias, then the taps (c, i, j); samples,
 * then positions); the input gradient sums over output channels first. Banding changes no sum.
 */
export type Precision = 'f64' | 'f32';

const BAND = 1 << 17;
/** Columns of C per GEMM block in float32 (two f32x4 vectors); float64's 4 divides it. */
const BLOCK = 8;
const ALIGN = 16;

interface Lanes {
  bytes: number;
  view(arena: WasmArena, offset: number, length: number): Float64Array | Float32Array;
  /**
   * Writes `data` at `at` in the lanes' type through float64 `scratch` (as long); with `batch`, data
   * is a batch [n][c][p] and lands channel-major (channel o's row at o·ld).
   */
  put(arena: WasmArena, at: number, data: Float64Array, scratch: number, batch?: Batch): void;
  /** `length` elements at `at` as a float64 output through `scratch` (with `batch`, back from rows). */
  take(
    arena: WasmArena, at: number, length: number, scratch: number, alloc: Alloc, batch?: Batch,
  ): Float64Array;
  gemm: KernelExports['gemm_f64'];
  unfold: KernelExports['unfold_f64'];
  unfoldT: KernelExports['unfoldT_f64'];
  fold: KernelExports['fold_f64'];
  transpose: KernelExports['transpose_f64'];
}

/** A batch [n][c][p] in channel-major rows ld elements apart: [n, c, p, ld]. */
type Batch = readonly [number, number, number, number];

/** The arena's float64 values copied into an output array. */
function copied(v: Float64Array, alloc: Alloc): Float64Array {
  const out = alloc(v.length, false);
  out.set(v);
  return out;
}

/**
 * The lanes of a precision. Values go in and out as float64 memory copies through the scratch, and
 * float32 converts in WebAssembly (SIMD), transposing a batch's blocks in the same pass: typed-array
 * sets converting element by element, one per sample and channel, cost ~12 % of a batch's
 * convolution profile.
 */
function lanes(arena: WasmArena, precision: Precision, threads: KernelThreads | null): Lanes {
  const f = arena.fn;
  const gemm = (name: 'gemm_f64' | 'gemm_f32'): Lanes['gemm'] => (threads
    ? (...args) => threads.gemm(name, ...args)
    : f[name]);
  return precision === 'f64'
    ? {
      bytes: 8, view: (a, o, n) => a.f64(o, n),
      put: (a, at, data, s, batch) => {
        if (!batch) { a.f64(at, data.length).set(data); return; }
        a.f64(s, data.length).set(data);
        f.copy_to_channels(s, at, ...batch);
      },
      take: (a, at, n, s, alloc, batch) => {
        if (!batch) return copied(a.f64(at, n), alloc);
        f.copy_from_channels(at, s, ...batch);
        return copied(a.f64(s, n), alloc);
      },
      gemm: gemm('gemm_f64'), unfold: f.unfold_f64, unfoldT: f.unfoldT_f64, fold: f.fold_f64,
      transpose: f.transpose_f64,
    }
    : {
      bytes: 4, view: (a, o, n) => a.f32(o, n),
      put: (a, at, data, s, batch) => {
        a.f64(s, data.length).set(data);
        if (batch) f.demote_to_channels(s, at, ...batch);
        else f.demote(s, at, data.length);
      },
      take: (a, at, n, s, alloc, batch) => {
        if (batch) f.promote_from_channels(at, s, ...batch);
        else f.promote(at, s, n);
        return copied(a.f64(s, n), alloc);
      },
      gemm: gemm('gemm_f32'), unfold: f.unfold_f32, unfoldT: f.unfoldT_f32, fold: f.fold_f32,
      transpose: f.transpose_f32,
    };
}

/** Consecutive regions of the arena after its base, each aligned for v128 loads. */
function layout(bytesPer: number, ...lengths: number[]): { offsets: number[]; end: number } {
  const offsets: number[] = [];
  let end = WasmArena.BASE;
  for (const n of lengths) {
    offsets.push(end);
    end += Math.ceil((n * bytesPer) / ALIGN) * ALIGN;
  }
  return { offsets, end };
}

const taps = (g: ConvGeometry) => g.inC * g.kh * g.kw;
const geometryArgs = (g: ConvGeometry) => [g.inC, g.inH, g.inW, g.outW, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw] as const;

/**
 * A band of the unfolded input: samples [s0, s1), output rows [h0, h1) of each. Its columns are
 * `each` positions per sample, side by side: in the batch's channel-major layout [outC][n·p] they
 * are the contiguous columns [c0, c0 + cols), so one GEMM covers the band whatever its samples.
 */
interface Band { s0: number; s1: number; h0: number; h1: number; each: number; c0: number; cols: number }

/**
 * The bands of a batch: as many whole samples as fit in about BAND elements unfolded (so that the
 * GEMMs are large enough to split across threads), or bands of output rows of one sample when a
 * whole one does not fit.
 */
function bandsOf(g: ConvGeometry, n: number): Band[] {
  const k = taps(g), p = g.outH * g.outW;
  const perBand = Math.floor(BAND / (k * p));
  const bands: Band[] = [];
  if (perBand >= 1) {
    for (let s0 = 0; s0 < n; s0 += perBand) {
      const s1 = Math.min(n, s0 + perBand);
      bands.push({ s0, s1, h0: 0, h1: g.outH, each: p, c0: s0 * p, cols: (s1 - s0) * p });
    }
    return bands;
  }
  const rows = Math.max(1, Math.floor(BAND / (k * g.outW)));
  for (let s = 0; s < n; s++) {
    for (let h0 = 0; h0 < g.outH; h0 += rows) {
      const h1 = Math.min(g.outH, h0 + rows), cols = (h1 - h0) * g.outW;
      bands.push({ s0: s, s1: s + 1, h0, h1, each: cols, c0: s * p + h0 * g.outW, cols });
    }
  }
  return bands;
}

const widestBand = (bands: Band[]) => Math.max(...bands.map((b) => b.cols));


/**
 * The row stride of a batch's channel-major matrix [C][n·p]: padded by 16 elements, so that the rows
 * a GEMM block reads together do not share cache sets when n·p is a power of two (8 KiB apart at
 * batch 8, 16² positions, f32: the input gradient ran 35 % slower than per sample). One sample needs
 * no layout: its [C][p] is the batch.
 */
const rowStride = (n: number, p: number) => (n > 1 ? n * p + 16 : p);
const batchOf = (n: number, c: number, p: number, ld: number): Batch | undefined =>
  (n > 1 ? [n, c, p, ld] : undefined);

/** Reserves the regions up to `end` and float64 scratch after them for `longest` elements: its offset. */
function reserve(arena: WasmArena, end: number, longest: number): number {
  arena.reserve(end + longest * 8);
  return end;
}

export class WasmConv {
  private readonly l: Lanes;

  constructor(private readonly arena: WasmArena, precision: Precision, threads: KernelThreads | null = null) {
    this.l = lanes(arena, precision, threads);
  }

  conv2d(
    g: ConvGeometry, n: number, x: Float64Array, w: Float64Array, b: Float64Array | null, alloc: Alloc,
  ): Float64Array {
    const { arena, l } = this;
    const k = taps(g), p = g.outH * g.outW, ld = rowStride(n, p), bands = bandsOf(g, n);
    const inSize = g.inC * g.inH * g.inW, outSize = g.outC * n * p;
    const { offsets: [xo, wo, co, zo], end } = layout(
      l.bytes, n * inSize, g.outC * k, k * widestBand(bands), g.outC * ld);
    const scratch = reserve(arena, end, Math.max(n * inSize, g.outC * k, outSize));
    l.put(arena, xo, x, scratch);
    l.put(arena, wo, w, scratch);
    const z = l.view(arena, zo, g.outC * ld);
    if (b) for (let o = 0; o < g.outC; o++) z.fill(b[o], o * ld, o * ld + n * p);
    else z.fill(0);
    for (const { s0, s1, h0, h1, each, c0, cols } of bands) {
      for (let s = s0; s < s1; s++) {
        l.unfold(xo + s * inSize * l.bytes, co + (s - s0) * each * l.bytes, ...geometryArgs(g), h0, h1, cols);
      }
      l.gemm(wo, co, zo + c0 * l.bytes, g.outC, cols, k, k, cols, ld);
    }
    return l.take(arena, zo, outSize, scratch, alloc, batchOf(n, g.outC, p, ld));
  }

  /**
   * The taps are padded to whole GEMM blocks (`wide` columns, the padding's values discarded): a
   * first layer's 27 taps would otherwise leave 3 columns to the GEMM's scalar loop, as slow as the
   * other 24.
   */
  conv2dWeightGrad(g: ConvGeometry, n: number, x: Float64Array, dz: Float64Array, alloc: Alloc): Float64Array {
    const { arena, l } = this;
    const k = taps(g), wide = Math.ceil(k / BLOCK) * BLOCK;
    const p = g.outH * g.outW, ld = rowStride(n, p), bands = bandsOf(g, n);
    const inSize = g.inC * g.inH * g.inW, widest = widestBand(bands), outSize = g.outC * n * p;
    const { offsets: [xo, zo, co, wo], end } = layout(
      l.bytes, n * inSize, g.outC * ld, wide * widest, g.outC * wide);
    const scratch = reserve(arena, end, Math.max(n * inSize, outSize, g.outC * k));
    l.put(arena, xo, x, scratch);
    l.put(arena, zo, dz, scratch, batchOf(n, g.outC, p, ld));
    const dw = l.view(arena, wo, g.outC * wide).fill(0);
    if (wide > k) l.view(arena, co, wide * widest).fill(0);
    for (const { s0, s1, h0, h1, each, c0, cols } of bands) {
      for (let s = s0; s < s1; s++) {
        const at = co + (s - s0) * each * wide * l.bytes;
        l.unfoldT(xo + s * inSize * l.bytes, at, ...geometryArgs(g), h0, h1, wide);
      }
      l.gemm(zo + c0 * l.bytes, co, wo, g.outC, wide, cols, ld, wide, wide);
    }
    // rows of `wide` to rows of k, in place (each row moves towards the start)
    if (wide > k) for (let o = 1; o < g.outC; o++) dw.copyWithin(o * k, o * wide, o * wide + k);
    return l.take(arena, wo, g.outC * k, scratch, alloc);
  }

  conv2dInputGrad(g: ConvGeometry, n: number, dz: Float64Array, w: Float64Array, alloc: Alloc): Float64Array {
    const { arena, l } = this;
    const k = taps(g), p = g.outH * g.outW, ld = rowStride(n, p), bands = bandsOf(g, n);
    const inSize = g.inC * g.inH * g.inW, widest = widestBand(bands), outSize = g.outC * n * p;
    const { offsets: [zo, wi, wo, co, xo], end } = layout(
      l.bytes, g.outC * ld, g.outC * k, g.outC * k, k * widest, n * inSize);
    const scratch = reserve(arena, end, Math.max(n * inSize, outSize, g.outC * k));
    l.put(arena, zo, dz, scratch, batchOf(n, g.outC, p, ld));
    l.put(arena, wi, w, scratch);
    l.transpose(wi, wo, g.outC, k);
    l.view(arena, xo, n * inSize).fill(0);
    const col = l.view(arena, co, k * widest);
    for (const { s0, s1, h0, h1, each, c0, cols } of bands) {
      col.fill(0, 0, k * cols);
      l.gemm(wo, zo + c0 * l.bytes, co, k, cols, g.outC, g.outC, ld, cols);
      for (let s = s0; s < s1; s++) {
        l.fold(co + (s - s0) * each * l.bytes, xo + s * inSize * l.bytes, ...geometryArgs(g), h0, h1, cols);
      }
    }
    return l.take(arena, xo, n * inSize, scratch, alloc);
  }
}
