import type { Alloc, ConvGeometry } from '../kernels.js';
import { WasmArena, type KernelExports } from './module.js';
import type { KernelThreads } from './threads.js';

/**
 * Convolutions as GEMMs over the unfolded input (im2col), in WebAssembly. The unfolded matrix is built
 * a band of output rows at a time, so its memory stays bounded (about `BAND` elements) whatever the
 * image. Forward and weight gradient sum each element in the reference kernels' order (bias, then
 * the taps (c, i, j); samples, then positions); the input gradient sums over output channels first.
 */
export type Precision = 'f64' | 'f32';

const BAND = 1 << 17;
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

/** Output rows per band: the unfolded band (taps × rows·outW) stays near BAND elements. */
const bandRows = (g: ConvGeometry) => Math.max(1, Math.min(g.outH, Math.floor(BAND / (taps(g) * g.outW))));
const taps = (g: ConvGeometry) => g.inC * g.kh * g.kw;
const geometryArgs = (g: ConvGeometry) => [g.inC, g.inH, g.inW, g.outW, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw] as const;

/** The arena's result copied (widened from float32) into an output array. */
function widened(v: Float64Array | Float32Array, alloc: Alloc): Float64Array {
  const out = alloc(v.length, false);
  out.set(v);
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
    const k = taps(g), p = g.outH * g.outW, rows = bandRows(g);
    const inSize = g.inC * g.inH * g.inW, outSize = g.outC * p;
    const { offsets: [xo, wo, co, zo], end } = layout(l.bytes, n * inSize, g.outC * k, k * rows * g.outW, n * outSize);
    arena.reserve(end);
    l.view(arena, xo, n * inSize).set(x);
    l.view(arena, wo, g.outC * k).set(w);
    const z = l.view(arena, zo, n * outSize);
    if (b) for (let s = 0; s < n; s++) for (let o = 0; o < g.outC; o++) z.fill(b[o], s * outSize + o * p, s * outSize + (o + 1) * p);
    else z.fill(0);
    for (let s = 0; s < n; s++) {
      for (let h0 = 0; h0 < g.outH; h0 += rows) {
        const h1 = Math.min(g.outH, h0 + rows), cols = (h1 - h0) * g.outW;
        l.unfold(xo + s * inSize * l.bytes, co, ...geometryArgs(g), h0, h1);
        l.gemm(wo, co, zo + (s * outSize + h0 * g.outW) * l.bytes, g.outC, cols, k, k, cols, p);
      }
    }
    return widened(l.view(arena, zo, n * outSize), alloc);
  }

  conv2dWeightGrad(g: ConvGeometry, n: number, x: Float64Array, dz: Float64Array, alloc: Alloc): Float64Array {
    const { arena, l } = this;
    const k = taps(g), p = g.outH * g.outW, rows = bandRows(g);
    const inSize = g.inC * g.inH * g.inW, outSize = g.outC * p;
    const { offsets: [xo, zo, co, wo], end } = layout(l.bytes, n * inSize, n * outSize, k * rows * g.outW, g.outC * k);
    arena.reserve(end);
    l.view(arena, xo, n * inSize).set(x);
    l.view(arena, zo, n * outSize).set(dz);
    l.view(arena, wo, g.outC * k).fill(0);
    for (let s = 0; s < n; s++) {
      for (let h0 = 0; h0 < g.outH; h0 += rows) {
        const h1 = Math.min(g.outH, h0 + rows), cols = (h1 - h0) * g.outW;
        l.unfoldT(xo + s * inSize * l.bytes, co, ...geometryArgs(g), h0, h1, k);
        l.gemm(zo + (s * outSize + h0 * g.outW) * l.bytes, co, wo, g.outC, k, cols, p, k, k);
      }
    }
    return widened(l.view(arena, wo, g.outC * k), alloc);
  }

  conv2dInputGrad(g: ConvGeometry, n: number, dz: Float64Array, w: Float64Array, alloc: Alloc): Float64Array {
    const { arena, l } = this;
    const k = taps(g), p = g.outH * g.outW, rows = bandRows(g);
    const inSize = g.inC * g.inH * g.inW, outSize = g.outC * p;
    const { offsets: [zo, wi, wo, co, xo], end } = layout(
      l.bytes, n * outSize, g.outC * k, g.outC * k, k * rows * g.outW, n * inSize);
    arena.reserve(end);
    l.view(arena, zo, n * outSize).set(dz);
    l.view(arena, wi, g.outC * k).set(w);
    l.transpose(wi, wo, g.outC, k);
    l.view(arena, xo, n * inSize).fill(0);
    const col = l.view(arena, co, k * rows * g.outW);
    for (let s = 0; s < n; s++) {
      for (let h0 = 0; h0 < g.outH; h0 += rows) {
        const h1 = Math.min(g.outH, h0 + rows), cols = (h1 - h0) * g.outW;
        col.fill(0, 0, k * cols);
        l.gemm(wo, zo + (s * outSize + h0 * g.outW) * l.bytes, co, k, cols, g.outC, g.outC, p, cols);
        l.fold(co, xo + s * inSize * l.bytes, ...geometryArgs(g), h0, h1);
      }
    }
    return widened(l.view(arena, xo, n * inSize), alloc);
  }
}
