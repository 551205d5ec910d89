import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import type { ConvGeometry, Kernels, PoolGeometry } from '../src/kernels/kernels.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { createWasmKernels, type Precision, type WasmKernels } from '../src/kernels/wasm/index.js';
import { WasmArena } from '../src/kernels/wasm/module.js';
import { KernelThreads, PARALLEL_MIN_MACS } from '../src/kernels/wasm/threads.js';
import { spawnKernelThread } from '../src/cli/threads.js';

/**
 * Properties of the WebAssembly kernels on seeded random shapes, edge shapes among them (1×1 inputs,
 * padding as wide as the kernel or wider, strides past the kernel, odd sizes, shapes large enough to
 * be split across threads), at one and two threads:
 * - unfold, its transpose and fold read only their input and write only their output (guard values
 *   around both), and equal index-by-index oracles to the bit;
 * - GEMM equals a plain loop to the bit (float32: rounded after each operation), leaves the columns
 *   between n and the leading dimension alone, and two threads give the same bytes as one;
 * - convolutions against the JavaScript reference: float64 forward and weight gradient to the bit
 *   (what docs/DESIGN.md promises), every result within a rounding bound per element, |err| ≤
 *   (d + 3)·u·Σ|terms| for a chain of d additions (u = 2⁻⁵³ or 2⁻²⁴; Σ|terms| is the reference
 *   run on |inputs|), two threads the same bytes as one;
 * - pooling (the JavaScript kernels in both engines) against index-by-index oracles.
 */
const SEED = 20261205;
const U = { f64: 2 ** -53, f32: 2 ** -24 };

const dim = (size: number, k: number, s: number, p: number) => Math.floor((size + 2 * p - k) / s) + 1;

function convGeometry(
  inC: number, inH: number, inW: number, outC: number, kh: number, kw: number,
  sh: number, sw: number, ph: number, pw: number,
): ConvGeometry {
  const outH = dim(inH, kh, sh, ph), outW = dim(inW, kw, sw, pw);
  return { inC, inH, inW, outC, outH, outW, kh, kw, sh, sw, ph, pw };
}

const EDGE_SHAPES: Array<[string, ConvGeometry, number]> = [
  ['1×1 input, 1×1 kernel', convGeometry(1, 1, 1, 1, 1, 1, 1, 1, 0, 0), 1],
  ['1×1 input, 3×3 kernel, pad 1', convGeometry(2, 1, 1, 3, 3, 3, 1, 1, 1, 1), 2],
  ['1×1 input, 2×2 kernel, pad 3 (wider than the kernel)', convGeometry(1, 1, 1, 2, 2, 2, 1, 1, 3, 3), 1],
  ['kernel wider than input and padding: 1 wide, pad 2, 5×5', convGeometry(1, 1, 1, 2, 5, 5, 1, 1, 2, 2), 1],
  ['stride past the kernel: 2×2 kernel, stride 4×3, 9×7', convGeometry(2, 9, 7, 3, 2, 2, 4, 3, 0, 1), 2],
  ['odd sizes, stride 2, pad 3 ≥ kernel 3', convGeometry(3, 7, 5, 5, 3, 3, 2, 2, 3, 3), 1],
  ['1-high rows, 1×5 kernel, stride 1×2', convGeometry(2, 1, 11, 3, 1, 5, 1, 2, 0, 2), 3],
  ['two bands, split across threads: 16→12, 3×3, 32×32', convGeometry(16, 32, 32, 12, 3, 3, 1, 1, 1, 1), 1],
];

const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));

/** A random geometry with a valid output; `large` ones are mostly big enough to be split. */
function randomShape(rng: Rng, large: boolean): [ConvGeometry, number] {
  for (;;) {
    const inC = large ? int(rng, 8, 24) : int(rng, 1, 4), outC = large ? int(rng, 8, 24) : int(rng, 1, 6);
    const inH = large ? int(rng, 16, 40) : int(rng, 1, 9), inW = large ? int(rng, 16, 40) : int(rng, 1, 9);
    const kh = int(rng, 1, 5), kw = int(rng, 1, 5), sh = int(rng, 1, 4), sw = int(rng, 1, 4);
    const ph = int(rng, 0, large ? 3 : 6), pw = int(rng, 0, large ? 3 : 6);
    const g = convGeometry(inC, inH, inW, outC, kh, kw, sh, sw, ph, pw);
    if (g.outH >= 1 && g.outW >= 1) return [g, int(rng, 1, large ? 2 : 3)];
  }
}

function shapes(): Array<[string, ConvGeometry, number]> {
  const rng = new Rng(SEED);
  const random = Array.from({ length: 48 }, (_, i) => randomShape(rng, i % 3 === 2));
  return [...EDGE_SHAPES, ...random.map(([g, n], i): [string, ConvGeometry, number] => [
    `random ${i}: ${g.inC}→${g.outC}, ${g.inH}×${g.inW}, kernel ${g.kh}×${g.kw}, stride ${g.sh}×${g.sw}, `
    + `pad ${g.ph}×${g.pw}, batch ${n}`, g, n])];
}

/** Float32 rounding where the kernels are float32. */
const rounding = (p: Precision) => (p === 'f64' ? (v: number) => v : Math.fround);
const normals = (rng: Rng, n: number) => Float64Array.from({ length: n }, () => rng.normal());
const abs = (a: Float64Array) => a.map(Math.abs);

/** |got − ref| ≤ (d + 3)·u·Σ|terms| (+ the smallest normal float32, for underflow) at every element. */
function assertWithin(
  got: Float64Array, ref: Float64Array, absSum: Float64Array, d: number, u: number, what: string,
): void {
  assert.equal(got.length, ref.length, what);
  const factor = (d + 3) * u * 1.001;
  for (let i = 0; i < got.length; i++) {
    const bound = factor * absSum[i] + 2 ** -126;
    assert.ok(Math.abs(got[i] - ref[i]) <= bound, `${what}[${i}]: ${got[i]} vs ${ref[i]} (bound ${bound})`);
  }
}

function convCalls(k: Kernels, g: ConvGeometry, n: number, seed: number) {
  const rng = new Rng(seed);
  const x = normals(rng, n * g.inC * g.inH * g.inW), w = normals(rng, g.outC * g.inC * g.kh * g.kw);
  const b = normals(rng, g.outC), dz = normals(rng, n * g.outC * g.outH * g.outW);
  return {
    inputs: { x, w, b, dz },
    forward: k.conv2d(g, n, x, w, b), inputGrad: k.conv2dInputGrad(g, n, dz, w),
    weightGrad: k.conv2dWeightGrad(g, n, x, dz),
  };
}

describe('WebAssembly convolutions against the JavaScript reference on random and edge shapes', () => {
  const sets: Record<string, WasmKernels> = {
    'f64, 1 thread': createWasmKernels('f64'), 'f32, 1 thread': createWasmKernels('f32'),
    'f64, 2 threads': createWasmKernels('f64', { count: 2, spawn: spawnKernelThread }),
    'f32, 2 threads': createWasmKernels('f32', { count: 2, spawn: spawnKernelThread }),
  };
  after(() => { for (const k of Object.values(sets)) k.close(); });
  let split = 0;
  for (const [name, g, n] of shapes()) {
    it(name, () => {
      const ref = convCalls(JS_KERNELS, g, n, 1);
      const { x, w, b, dz } = ref.inputs;
      const absSum = {
        forward: JS_KERNELS.conv2d(g, n, abs(x), abs(w), abs(b)),
        inputGrad: JS_KERNELS.conv2dInputGrad(g, n, abs(dz), abs(w)),
        weightGrad: JS_KERNELS.conv2dWeightGrad(g, n, abs(x), abs(dz)),
      };
      const taps = g.inC * g.kh * g.kw;
      // additions in each element's chain: bias and taps; samples × positions; channels, then taps
      const depth = {
        forward: taps + 1, weightGrad: n * g.outH * g.outW, inputGrad: g.outC * g.kh * g.kw + g.outC,
      };
      const got: Record<string, ReturnType<typeof convCalls>> = {};
      for (const [set, k] of Object.entries(sets)) {
        const r = got[set] = convCalls(k, g, n, 1);
        const precision: Precision = set.startsWith('f64') ? 'f64' : 'f32';
        for (const key of ['forward', 'inputGrad', 'weightGrad'] as const) {
          assertWithin(r[key], ref[key], absSum[key], depth[key], U[precision] + U.f64, `${set} ${key}`);
        }
        if (precision === 'f64') {
          assert.deepEqual(r.forward, ref.forward, `${set}: forward to the bit`);
          assert.deepEqual(r.weightGrad, ref.weightGrad, `${set}: weight gradient to the bit`);
        }
      }
      for (const p of ['f64', 'f32']) {
        const { inputs: _a, ...one } = got[`${p}, 1 thread`], { inputs: _b, ...two } = got[`${p}, 2 threads`];
        assert.deepEqual(two, one, `${p}: two threads, the same bytes as one`);
      }
      if (g.outC * g.outH * g.outW * taps >= PARALLEL_MIN_MACS) split++;
    });
  }
  it('some shapes were large enough to be split across the threads', () => assert.ok(split >= 5, `${split}`));
});

/** Guard values around every region: NaN around inputs (a read outside spreads), a constant around outputs. */
const GUARD = 8, OUT_GUARD = 7.25;

interface Lay { arena: WasmArena; es: number; view(o: number, n: number): Float64Array | Float32Array }

function arenaFor(precision: Precision, shared = false): Lay {
  const arena = new WasmArena(shared), es = precision === 'f64' ? 8 : 4;
  return {
    arena, es,
    view: (o, n) => (precision === 'f64' ? arena.f64(o, n) : arena.f32(o, n)),
  };
}

/** Regions of the given lengths, each with GUARD elements either side; returns their start offsets. */
function regions(l: Lay, lengths: number[]): number[] {
  let end = WasmArena.BASE + 64;
  const starts = lengths.map((n) => {
    const start = end + GUARD * l.es;
    end = start + (n + GUARD) * l.es + 16;
    return start;
  });
  l.arena.reserve(end);
  return starts;
}

function guard(l: Lay, start: number, n: number, value: number): void {
  l.view(start - GUARD * l.es, GUARD).fill(value);
  l.view(start + n * l.es, GUARD).fill(value);
}

function assertGuarded(l: Lay, start: number, n: number, value: number, what: string): void {
  for (const v of [...l.view(start - GUARD * l.es, GUARD), ...l.view(start + n * l.es, GUARD)]) {
    assert.ok(Object.is(v, value), `${what}: a guard value became ${v}`);
  }
}

/** The input element tap (c, i, j) of output (ho, wo) reads, or −1 in the padding. */
function inputAt(g: ConvGeometry, c: number, i: number, j: number, ho: number, wo: number): number {
  const y = ho * g.sh - g.ph + i, x = wo * g.sw - g.pw + j;
  return y < 0 || y >= g.inH || x < 0 || x >= g.inW ? -1 : (c * g.inH + y) * g.inW + x;
}

describe('unfold, unfoldT and fold: inside their buffers, equal to index oracles', () => {
  for (const precision of ['f64', 'f32'] as const) {
    it(`${precision}: every shape, every band of output rows`, () => {
      const l = arenaFor(precision), fn = l.arena.fn, round = rounding(precision);
      const [unfold, unfoldT, fold] = precision === 'f64'
        ? [fn.unfold_f64, fn.unfoldT_f64, fn.fold_f64] : [fn.unfold_f32, fn.unfoldT_f32, fn.fold_f32];
      const rng = new Rng(SEED + 1);
      for (const [name, g] of shapes()) {
        const taps = g.inC * g.kh * g.kw, inSize = g.inC * g.inH * g.inW;
        for (const [h0, h1] of [[0, g.outH], [Math.floor(g.outH / 2), g.outH], [0, Math.ceil(g.outH / 3)]]) {
          if (h1 <= h0) continue;
          // the unfolded rows `wide` apart (a band beside others): the columns between stay untouched
          const cols = (h1 - h0) * g.outW, ld = taps + 3, wide = cols + 3;
          const [xo, co, to, dxo] = regions(l, [inSize, taps * wide, cols * ld, inSize]);
          const x = normals(rng, inSize), dx0 = normals(rng, inSize), col = normals(rng, taps * wide);
          l.view(xo, inSize).set(x);
          guard(l, xo, inSize, NaN);
          l.view(co, taps * wide).fill(OUT_GUARD);
          guard(l, co, taps * wide, OUT_GUARD);
          l.view(to, cols * ld).fill(OUT_GUARD);
          guard(l, to, cols * ld, OUT_GUARD);
          const args = [g.inC, g.inH, g.inW, g.outW, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, h0, h1] as const;
          unfold(xo, co, ...args, wide);
          unfoldT(xo, to, ...args, ld);
          const what = `${name}, rows ${h0}–${h1}`;
          assertGuarded(l, co, taps * wide, OUT_GUARD, `unfold ${what}`);
          assertGuarded(l, to, cols * ld, OUT_GUARD, `unfoldT ${what}`);
          const unfolded = l.view(co, taps * wide), transposed = l.view(to, cols * ld);
          const want = new Float64Array(taps * wide).fill(OUT_GUARD);
          for (let t = 0; t < taps; t++) {
            const c = Math.floor(t / (g.kh * g.kw)), i = Math.floor(t / g.kw) % g.kh, j = t % g.kw;
            for (let ho = h0; ho < h1; ho++) for (let wo = 0; wo < g.outW; wo++) {
              const at = inputAt(g, c, i, j, ho, wo);
              want[t * wide + (ho - h0) * g.outW + wo] = at < 0 ? 0 : round(x[at]);
            }
          }
          assert.deepEqual(Float64Array.from(unfolded), want, `unfold ${what} (row stride ${wide})`);
          const wantT = new Float64Array(cols * ld).fill(OUT_GUARD);
          for (let t = 0; t < taps; t++) for (let q = 0; q < cols; q++) wantT[q * ld + t] = want[t * wide + q];
          assert.deepEqual(Float64Array.from(transposed), wantT, `unfoldT ${what} (row stride ${ld})`);
          // fold: each dx element gets its terms in tap order, as this oracle adds them
          // NaN between the band's columns: a read there would spread
          for (let t = 0; t < taps; t++) col.fill(NaN, t * wide + cols, (t + 1) * wide);
          l.view(co, taps * wide).set(col);
          guard(l, co, taps * wide, NaN);
          l.view(dxo, inSize).set(dx0);
          guard(l, dxo, inSize, OUT_GUARD);
          fold(co, dxo, ...args, wide);
          assertGuarded(l, dxo, inSize, OUT_GUARD, `fold ${what}`);
          const dx = Float64Array.from(dx0, round);
          for (let t = 0; t < taps; t++) {
            const c = Math.floor(t / (g.kh * g.kw)), i = Math.floor(t / g.kw) % g.kh, j = t % g.kw;
            for (let ho = h0; ho < h1; ho++) for (let wo = 0; wo < g.outW; wo++) {
              const at = inputAt(g, c, i, j, ho, wo);
              if (at >= 0) dx[at] = round(dx[at] + round(col[t * wide + (ho - h0) * g.outW + wo]));
            }
          }
          assert.deepEqual(Float64Array.from(l.view(dxo, inSize)), dx, `fold ${what}`);
        }
      }
    });
  }
});

describe('demote, promote and the batch layout: the conversions, inside their buffers', () => {
  it('float64 → float32 rounds as a Float32Array store, back is exact, inside the buffers', () => {
    const special = [0, -0, 1, -1, Infinity, -Infinity, 1 + 2 ** -24, 1 + 3 * 2 ** -24, 2 ** -149, 2 ** -150,
      3.4028235677973366e38, 3.5e38, -1e-46, Math.PI, 1 / 3];
    const rng = new Rng(SEED + 3);
    for (const n of [0, 1, 3, 4, 7, 16, special.length + 21]) {
      const l = arenaFor('f32'), fn = l.arena.fn;
      const x = Float64Array.from({ length: n }, (_, i) => special[i] ?? rng.normal() * 10 ** (i % 7));
      const [src, mid] = regions(l, [2 * n, n]);
      l.arena.f64(src, n).set(x);
      guard(l, mid, n, OUT_GUARD);
      fn.demote(src, mid, n);
      assertGuarded(l, mid, n, OUT_GUARD, `demote ${n}`);
      assert.deepEqual(l.arena.f32(mid, n), Float32Array.from(x), `demote ${n}`);
      l.arena.f64(src, n).fill(NaN);
      fn.promote(mid, src, n);
      assert.deepEqual(l.arena.f64(src, n), Float64Array.from(Float32Array.from(x)), `promote ${n}`);
    }
  });
  it('a batch [n][c][p] to channel-major rows ld apart and back, converting, inside the buffers', () => {
    const [n, c, p, ld] = [3, 5, 7, 3 * 7 + 5]; // even lengths keep the float64 views aligned
    const x = Float64Array.from({ length: n * c * p }, (_, i) => i + 1 / 3);
    for (const precision of ['f64', 'f32'] as const) {
      const l = arenaFor(precision), fn = l.arena.fn, round = rounding(precision);
      const [to, back] = precision === 'f64'
        ? [fn.copy_to_channels, fn.copy_from_channels] : [fn.demote_to_channels, fn.promote_from_channels];
      // float64 source and result in f32 units take twice the elements
      const wide = precision === 'f64' ? 1 : 2;
      const [src, rows, out] = regions(l, [wide * x.length, c * ld, wide * x.length]);
      l.arena.f64(src, x.length).set(x);
      l.view(rows, c * ld).fill(OUT_GUARD);
      guard(l, rows, c * ld, OUT_GUARD);
      to(src, rows, n, c, p, ld);
      assertGuarded(l, rows, c * ld, OUT_GUARD, `${precision} to channels`);
      const want = new Float64Array(c * ld).fill(OUT_GUARD);
      for (let s = 0; s < n; s++) {
        for (let o = 0; o < c; o++) {
          for (let q = 0; q < p; q++) want[o * ld + s * p + q] = round(x[(s * c + o) * p + q]);
        }
      }
      assert.deepEqual(Float64Array.from(l.view(rows, c * ld)), want, `${precision} to channels`);
      guard(l, out, wide * x.length, OUT_GUARD);
      back(rows, out, n, c, p, ld);
      assertGuarded(l, out, wide * x.length, OUT_GUARD, `${precision} from channels`);
      assert.deepEqual(l.arena.f64(out, x.length), x.map(round), `${precision} from channels`);
    }
  });
});

describe('GEMM: a plain loop to the bit, inside C\'s columns, the same bytes on two threads', () => {
  for (const precision of ['f64', 'f32'] as const) {
    it(`${precision}: random sizes and leading dimensions, small and split`, () => {
      const l = arenaFor(precision, true), round = rounding(precision);
      const threads = new KernelThreads(l.arena.fn, l.arena.module, l.arena.memory, 2, spawnKernelThread);
      try {
        const rng = new Rng(SEED + 2);
        let split = 0;
        for (let trial = 0; trial < 40; trial++) {
          const large = trial % 4 === 3;
          const m = large ? int(rng, 60, 90) : int(rng, 1, 13);
          const n = large ? int(rng, 100, 200) : int(rng, 1, 21);
          const k = large ? int(rng, 90, 140) : int(rng, 0, 17);
          const lda = k + int(rng, 0, 3), ldb = n + int(rng, 0, 9), ldc = n + int(rng, 0, 9);
          const [ao, bo, co] = regions(l, [m * lda, Math.max(1, k * ldb), m * ldc]);
          const a = normals(rng, m * lda), b = normals(rng, k * ldb), c0 = normals(rng, m * ldc);
          const want = Float64Array.from(c0, round);
          for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
            let s = want[i * ldc + j];
            for (let p = 0; p < k; p++) s = round(s + round(round(a[i * lda + p]) * round(b[p * ldb + j])));
            want[i * ldc + j] = s;
          }
          const what = `${m}×${k} · ${k}×${n} (lda ${lda}, ldb ${ldb}, ldc ${ldc})`;
          for (const parallel of [false, true]) {
            l.view(ao, m * lda).set(a);
            guard(l, ao, m * lda, NaN);
            l.view(bo, k * ldb).set(b);
            guard(l, bo, Math.max(1, k * ldb), NaN);
            l.view(co, m * ldc).set(c0);
            guard(l, co, m * ldc, OUT_GUARD);
            const args = [ao, bo, co, m, n, k, lda, ldb, ldc] as const;
            const name = precision === 'f64' ? 'gemm_f64' : 'gemm_f32';
            if (parallel) threads.gemm(name, ...args); else l.arena.fn[name](...args);
            assertGuarded(l, co, m * ldc, OUT_GUARD, what);
            const got = Float64Array.from(l.view(co, m * ldc));
            assert.deepEqual(got, want, `${what}, ${parallel ? 2 : 1} thread(s)`);
          }
          if (m * n * k >= PARALLEL_MIN_MACS) split++;
        }
        assert.ok(split >= 3, `only ${split} products were split`);
      } finally {
        threads.close();
      }
    });
  }
});

/** Pooling windows index by index: the first maximum, and mean with the padding counted as zeros. */
function poolOracle(g: PoolGeometry, n: number, x: Float64Array, dy: Float64Array) {
  const outSize = g.c * g.outH * g.outW;
  const max = new Float64Array(n * outSize), argmax = new Int32Array(n * outSize);
  const mean = new Float64Array(n * outSize), back = new Float64Array(x.length), inv = 1 / (g.kh * g.kw);
  for (let o = 0; o < n * outSize; o++) {
    const plane = Math.floor(o / (g.outH * g.outW)), ho = Math.floor(o / g.outW) % g.outH, wo = o % g.outW;
    let best = -Infinity, at = -1, sum = 0;
    for (let i = 0; i < g.kh; i++) for (let j = 0; j < g.kw; j++) {
      const y = ho * g.sh - g.ph + i, xx = wo * g.sw - g.pw + j;
      if (y < 0 || y >= g.inH || xx < 0 || xx >= g.inW) continue;
      const p = (plane * g.inH + y) * g.inW + xx;
      if (at < 0 || x[p] > best) { best = x[p]; at = p; }
      sum += x[p];
      back[p] += dy[o] * inv;
    }
    max[o] = best;
    argmax[o] = at;
    mean[o] = sum * inv;
  }
  return { max, argmax, mean, back };
}

describe('pooling in the matching kernels against index-by-index oracles', () => {
  const engines: Record<string, Kernels> = {
    js: JS_KERNELS, 'wasm f32, 2 threads': createWasmKernels('f32', { count: 2, spawn: spawnKernelThread }),
  };
  after(() => (engines['wasm f32, 2 threads'] as WasmKernels).close());
  it('random windows (padding up to half the window, strides past it, 1×1 inputs), to the bit', () => {
    const rng = new Rng(SEED + 3);
    for (let trial = 0; trial < 60; trial++) {
      const kh = int(rng, 1, 5), kw = int(rng, 1, 5), sh = int(rng, 1, 6), sw = int(rng, 1, 6);
      const ph = int(rng, 0, kh >> 1), pw = int(rng, 0, kw >> 1), c = int(rng, 1, 3), n = int(rng, 1, 2);
      const inH = Math.max(kh - 2 * ph, int(rng, 1, 11)), inW = Math.max(kw - 2 * pw, int(rng, 1, 11));
      const outH = dim(inH, kh, sh, ph), outW = dim(inW, kw, sw, pw);
      const g: PoolGeometry = { c, inH, inW, outH, outW, kh, kw, sh, sw, ph, pw };
      // ties on purpose: the first maximum must win
      const x = Float64Array.from({ length: n * c * inH * inW }, () => Math.round(rng.normal() * 2) / 2);
      const dy = normals(rng, n * c * g.outH * g.outW);
      const want = poolOracle(g, n, x, dy);
      for (const [engine, k] of Object.entries(engines)) {
        const what = `${engine}: ${JSON.stringify(g)}, batch ${n}`;
        const max = k.maxPool2d(g, n, x);
        assert.deepEqual(max.out, want.max, what);
        assert.deepEqual(max.argmax, want.argmax, what);
        assert.deepEqual(k.avgPool2d(g, n, x), want.mean, what);
        assert.deepEqual(k.avgPool2dTranspose(g, n, dy), want.back, what);
      }
    }
  });
  it('max: NaN takes over (the last one wins), infinities and signed zeros, with and without padding', () => {
    const rng = new Rng(SEED + 4);
    const special = [NaN, Infinity, -Infinity, 0, -0, 1, -1];
    for (const [kk, ph] of [[3, 0], [3, 1], [2, 0]]) {
      const outH = dim(6, kk, 2, ph), outW = outH;
      const g: PoolGeometry = { c: 2, inH: 6, inW: 6, outH, outW, kh: kk, kw: kk, sh: 2, sw: 2, ph, pw: ph };
      const x = Float64Array.from({ length: 2 * 2 * 36 }, () => special[int(rng, 0, special.length - 1)]);
      const want = { out: new Float64Array(4 * outH * outW), argmax: new Int32Array(4 * outH * outW) };
      for (let o = 0; o < 4 * outH * outW; o++) {
        const plane = Math.floor(o / (outH * outW)), ho = Math.floor(o / outW) % outH, wo = o % outW;
        let best = -Infinity, at = -1;
        for (let i = 0; i < kk; i++) for (let j = 0; j < kk; j++) {
          const y = ho * 2 - ph + i, xx = wo * 2 - ph + j;
          if (y < 0 || y >= 6 || xx < 0 || xx >= 6) continue;
          const p = plane * 36 + y * 6 + xx;
          if (x[p] > best || at < 0 || Number.isNaN(x[p])) { best = x[p]; at = p; }
        }
        want.out[o] = best;
        want.argmax[o] = at;
      }
      const got = JS_KERNELS.maxPool2d(g, 2, x);
      assert.deepEqual(got.out, want.out, `${kk}×${kk}, padding ${ph}`);
      assert.deepEqual(got.argmax, want.argmax, `${kk}×${kk}, padding ${ph}`);
    }
  });
});
