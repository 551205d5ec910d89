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
  gemm: KernelExports['gemm_f64'];
  unfold: KernelExports['unfold_f64'];
  unfoldT: KernelExports['unfoldT_f64'];
  fold: KernelExports['fold_f64'];
  transpose: KernelExports['transpose_f64'];
}

function lanes(arena: WasmArena, precision: Precision, threads: KernelThreads | null): Lanes {
  const f = arena.fn;
  const gemm = (name: 'gemm_f64' | 'gemm_f32'): Lanes['gemm'] => (threads
    ? (...args) => threads.gemm(name, ...args)
    : f[name]);
  return precision === 'f64'
    ? { bytes: 8, view: (a, o, n) => a.f64(o, n), gemm: gemm('gemm_f64'), unfold: f.unfold_f64,
      unfoldT: f.unfoldT_f64, fold: f.fold_f64, transpose: f.transpose_f64 }
    : { bytes: 4, view: (a, o, n) => a.f32(o, n), gemm: gemm('gemm_f32'), unfold: f.unfold_f32,
      unfoldT: f.unfoldT_f32, fold: f.fold_f32, transpose: f.transpose_f32 };
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

/** The arena's result copied (widened from float32) into an output array. */
function widened(v: Float64Array | Float32Array, alloc: Alloc): Float64Array {
  const out = alloc(v.length, false);
  out.set(v);
  return out;
}

/** x [n][c][p] into `dst` as [c][n·p] (the batch's channel-major layout), rounded to its lanes. */
function toChannelMajor(dst: Float64Array | Float32Array, x: Float64Array, c: number, n: number, p: number): void {
  if (n === 1) { dst.set(x); return; }
  for (let s = 0; s < n; s++) {
    for (let o = 0; o < c; o++) dst.set(x.subarray((s * c + o) * p, (s * c + o + 1) * p), (o * n + s) * p);
  }
}

/** The arena's channel-major result [c][n·p] copied (widened from float32) into an output [n][c][p]. */
function fromChannelMajor(v: Float64Array | Float32Array, c: number, n: number, p: number, alloc: Alloc): Float64Array {
  const out = alloc(v.length, false);
  if (n === 1) { out.set(v); return out; }
  for (let s = 0; s < n; s++) {
    for (let o = 0; o < c; o++) out.set(v.subarray((o * n + s) * p, (o * n + s + 1) * p), (s * c + o) * p);
  }
  return out;
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
    const k = taps(g), p = g.outH * g.outW, all = n * p, bands = bandsOf(g, n);
    const inSize = g.inC * g.inH * g.inW;
    const { offsets: [xo, wo, co, zo], end } = layout(l.bytes, n * inSize, g.outC * k, k * widestBand(bands), g.outC * all);
    arena.reserve(end);
    l.view(arena, xo, n * inSize).set(x);
    l.view(arena, wo, g.outC * k).set(w);
    const z = l.view(arena, zo, g.outC * all);
    if (b) for (let o = 0; o < g.outC; o++) z.fill(b[o], o * all, (o + 1) * all);
    else z.fill(0);
    for (const { s0, s1, h0, h1, each, c0, cols } of bands) {
      for (let s = s0; s < s1; s++) {
        l.unfold(xo + s * inSize * l.bytes, co + (s - s0) * each * l.bytes, ...geometryArgs(g), h0, h1, cols);
      }
      l.gemm(wo, co, zo + c0 * l.bytes, g.outC, cols, k, k, cols, all);
    }
    return fromChannelMajor(l.view(arena, zo, g.outC * all), g.outC, n, p, alloc);
  }

  /**
   * The taps are padded to whole GEMM blocks (`wide` columns, the padding's values discarded): a
   * first layer's 27 taps would otherwise leave 3 columns to the GEMM's scalar loop, as slow as the
   * other 24.
   */
  conv2dWeightGrad(g: ConvGeometry, n: number, x: Float64Array, dz: Float64Array, alloc: Alloc): Float64Array {
    const { arena, l } = this;
    const k = taps(g), wide = Math.ceil(k / BLOCK) * BLOCK, p = g.outH * g.outW, all = n * p, bands = bandsOf(g, n);
    const inSize = g.inC * g.inH * g.inW, widest = widestBand(bands);
    const { offsets: [xo, zo, co, wo], end } = layout(l.bytes, n * inSize, g.outC * all, wide * widest, g.outC * wide);
    arena.reserve(end);
    l.view(arena, xo, n * inSize).set(x);
    toChannelMajor(l.view(arena, zo, g.outC * all), dz, g.outC, n, p);
    l.view(arena, wo, g.outC * wide).fill(0);
    if (wide > k) l.view(arena, co, wide * widest).fill(0);
    for (const { s0, s1, h0, h1, each, c0, cols } of bands) {
      for (let s = s0; s < s1; s++) {
        l.unfoldT(xo + s * inSize * l.bytes, co + (s - s0) * each * wide * l.bytes, ...geometryArgs(g), h0, h1, wide);
      }
      l.gemm(zo + c0 * l.bytes, co, wo, g.outC, wide, cols, all, wide, wide);
    }
    const padded = l.view(arena, wo, g.outC * wide);
    if (wide === k) return widened(padded, alloc);
    const out = alloc(g.outC * k, false);
    for (let o = 0; o < g.outC; o++) out.set(padded.subarray(o * wide, o * wide + k), o * k);
    return out;
  }

  conv2dInputGrad(g: ConvGeometry, n: number, dz: Float64Array, w: Float64Array, alloc: Alloc): Float64Array {
    const { arena, l } = this;
    const k = taps(g), p = g.outH * g.outW, all = n * p, bands = bandsOf(g, n);
    const inSize = g.inC * g.inH * g.inW, widest = widestBand(bands);
    const { offsets: [zo, wi, wo, co, xo], end } = layout(
      l.bytes, g.outC * all, g.outC * k, g.outC * k, k * widest, n * inSize);
    arena.reserve(end);
    toChannelMajor(l.view(arena, zo, g.outC * all), dz, g.outC, n, p);
    l.view(arena, wi, g.outC * k).set(w);
    l.transpose(wi, wo, g.outC, k);
    l.view(arena, xo, n * inSize).fill(0);
    const col = l.view(arena, co, k * widest);
    for (const { s0, s1, h0, h1, each, c0, cols } of bands) {
      col.fill(0, 0, k * cols);
      l.gemm(wo, zo + c0 * l.bytes, co, k, cols, g.outC, g.outC, all, cols);
      for (let s = s0; s < s1; s++) {
        l.fold(co + (s - s0) * each * l.bytes, xo + s * inSize * l.bytes, ...geometryArgs(g), h0, h1, cols);
      }
    }
    return widened(l.view(arena, xo, n * inSize), alloc);
  }
}
