import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import type { ConvGeometry, Kernels, Term, UnaryName } from '../src/kernels/kernels.js';
import { unaryElement } from '../src/kernels/js/elementwise.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { matchingKernels } from '../src/kernels/select.js';
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { PARALLEL_MIN_MACS } from '../src/kernels/wasm/threads.js';
import { spawnKernelThread } from '../src/cli/threads.js';
import { wasmSimdAvailable } from '../src/kernels/wasm/module.js';
import type { Shape } from '../src/tensor/tensor.js';
import { OutputPool } from '../src/kernels/pool.js';
import { matchingObjective } from '../src/attacks/matching/objective.js';
import { graphFromJson, presetSpec } from '../src/model/presets.js';
import { initParams } from '../src/model/params.js';
import { simulateClient } from '../src/threat/client.js';

/** The WebAssembly kernels against the JavaScript reference, and the reference against index-by-index oracles. */

function random(rng: Rng, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal());
}

function geometry(
  inC: number, inH: number, inW: number, outC: number, kh: number, kw: number,
  sh: number, sw: number, ph: number, pw: number,
): ConvGeometry {
  const outH = Math.floor((inH + 2 * ph - kh) / sh) + 1, outW = Math.floor((inW + 2 * pw - kw) / sw) + 1;
  return { inC, inH, inW, outC, outH, outW, kh, kw, sh, sw, ph, pw };
}

/** Edges of the blocking (rows not a multiple of 4, columns not of 4 or 8), padding, strides, rectangles. */
const CASES: Array<{ name: string; g: ConvGeometry; n: number }> = [
  { name: '3→6, 5×5, pad 2, 13×11, batch 2', g: geometry(3, 13, 11, 6, 5, 5, 1, 1, 2, 2), n: 2 },
  { name: '1→5, 3×2, stride 2×1, pad 1×0, 9×7', g: geometry(1, 9, 7, 5, 3, 2, 2, 1, 1, 0), n: 1 },
  { name: '4→9, 4×4, stride 2, pad 1, 16×16, batch 3', g: geometry(4, 16, 16, 9, 4, 4, 2, 2, 1, 1), n: 3 },
  { name: '7→3, 1×1, 5×5', g: geometry(7, 5, 5, 3, 1, 1, 1, 1, 0, 0), n: 1 },
  // kernel wider than the input: some taps read only padding
  { name: '2→3, 5×5, pad 2, 3×2', g: geometry(2, 3, 2, 3, 5, 5, 1, 1, 2, 2), n: 2 },
  { name: '3→4, 3×3, stride 3, pad 1, 10×11', g: geometry(3, 10, 11, 4, 3, 3, 3, 3, 1, 1), n: 1 },
  // 144 taps × 32 columns: the unfolded input spans two bands of output rows
  { name: '16→12, 3×3, pad 1, 32×32 (two bands)', g: geometry(16, 32, 32, 12, 3, 3, 1, 1, 1, 1), n: 1 },
  // 36 taps × 576 positions: six whole samples to a GEMM, then one (bands of samples, one GEMM each)
  {
    name: '4→8, 3×3, pad 1, 24×24, batch 7 (bands of samples)', g: geometry(4, 24, 24, 8, 3, 3, 1, 1, 1, 1), n: 7,
  },
  // 27 taps, padded to 32 columns in the weight gradient's GEMM; batch 3 in one band
  { name: '3→5, 3×3, stride 2, pad 1, 15×15, batch 3', g: geometry(3, 15, 15, 5, 3, 3, 2, 2, 1, 1), n: 3 },
];

function maxRelative(a: Float64Array, b: Float64Array): number {
  let err = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / scale;
}

function convCalls(k: Kernels, c: (typeof CASES)[number], rng: Rng) {
  const { g, n } = c;
  const x = random(rng, n * g.inC * g.inH * g.inW), w = random(rng, g.outC * g.inC * g.kh * g.kw);
  const b = random(rng, g.outC), dz = random(rng, n * g.outC * g.outH * g.outW);
  return {
    forward: k.conv2d(g, n, x, w, b), unbiased: k.conv2d(g, n, x, w, null),
    inputGrad: k.conv2dInputGrad(g, n, dz, w), weightGrad: k.conv2dWeightGrad(g, n, x, dz),
  };
}

describe('WebAssembly convolution kernels against the JavaScript reference', () => {
  it('Node 20 has WebAssembly SIMD', () => assert.ok(wasmSimdAvailable()));
  const f64 = createWasmKernels('f64'), f32 = createWasmKernels('f32');
  for (const c of CASES) {
    it(`${c.name}: float64 forward and weight gradient to the bit, input gradient to 1e-14`, () => {
      const ref = convCalls(JS_KERNELS, c, new Rng(7)), got = convCalls(f64, c, new Rng(7));
      // same summation order as the reference (bias, then taps; samples, then positions)
      assert.deepEqual(got.forward, ref.forward);
      assert.deepEqual(got.unbiased, ref.unbiased);
      assert.deepEqual(got.weightGrad, ref.weightGrad);
      // sums over output channels first: another order, so rounding differs
      assert.ok(maxRelative(got.inputGrad, ref.inputGrad) < 1e-14, `${maxRelative(got.inputGrad, ref.inputGrad)}`);
    });
    it(`${c.name}: float32 within float32 rounding`, () => {
      const ref = convCalls(JS_KERNELS, c, new Rng(7)), got = convCalls(f32, c, new Rng(7));
      for (const key of ['forward', 'unbiased', 'inputGrad', 'weightGrad'] as const) {
        const e = maxRelative(got[key], ref[key]);
        assert.ok(e < 2e-6 && e > 0, `${key}: ${e}`);
      }
    });
  }
  it('the same call twice gives the same bytes, and a second kernel set the same as the first', () => {
    const c = CASES[2];
    const a = convCalls(f32, c, new Rng(3)), b = convCalls(f32, c, new Rng(3));
    const other = convCalls(createWasmKernels('f32'), c, new Rng(3));
    assert.deepEqual(a, b);
    assert.deepEqual(a, other);
  });
  it('two and three kernel threads give the same bytes as one (slices are whole columns)', () => {
    for (const c of CASES.filter((x) => /two bands|bands of samples/.test(x.name))) {
      // the GEMM of one band (its columns: rows of one sample, or whole samples) must be split
      const macs = c.g.outC * c.g.outH * c.g.outW * c.g.inC * 9 * (c.n > 1 ? 6 : 0.5);
      assert.ok(macs >= PARALLEL_MIN_MACS, `${c.name}: the case must be split`);
      for (const precision of ['f64', 'f32'] as const) {
        const one = convCalls(createWasmKernels(precision), c, new Rng(9));
        for (const count of [2, 3]) {
          const k = createWasmKernels(precision, { count, spawn: spawnKernelThread });
          try {
            assert.equal(k.threads, count);
            assert.deepEqual(convCalls(k, c, new Rng(9)), one, `${c.name}: ${precision}, ${count} threads`);
          } finally {
            k.close();
          }
        }
      }
    }
  });
  it('matchingKernels gives WebAssembly kernels in the asked precision', () => {
    assert.equal(matchingKernels('f32').engine, 'wasm-f32');
    assert.equal(matchingKernels('f64').engine, 'wasm-f64');
    assert.equal(matchingKernels('f64').note, undefined);
  });
});

/** sumTo and broadcastTo index by index: the oracle of the run-wise reference kernels. */
function oracleIndex(shape: Shape, small: Shape, flat: number): number {
  let t = 0;
  for (let d = 0, rest = flat, size = shape.reduce((a, b) => a * b, 1); d < shape.length; d++) {
    size /= shape[d];
    const i = Math.floor(rest / size);
    rest -= i * size;
    t = t * small[d] + (small[d] === 1 ? 0 : i);
  }
  return t;
}

describe('reference sumTo and broadcastTo against index-by-index oracles', () => {
  const shapes: Array<[Shape, Shape]> = [
    [[2, 3, 4, 5], [1, 3, 1, 1]], [[2, 3, 4, 5], [2, 1, 4, 1]], [[2, 3, 4, 5], [1, 1, 1, 1]],
    [[2, 3, 4, 5], [2, 3, 4, 5]], [[1, 3, 1, 5], [1, 1, 1, 5]], [[4, 1, 6], [1, 1, 6]], [[1, 1], [1, 1]],
    [[3, 2, 2, 7], [3, 1, 2, 1]],
  ];
  for (const [big, small] of shapes) {
    it(`${big.join('×')} ↔ ${small.join('×')}, to the bit`, () => {
      const rng = new Rng(11);
      const x = random(rng, big.reduce((a, b) => a * b, 1)), v = random(rng, small.reduce((a, b) => a * b, 1));
      const sum = new Float64Array(v.length), wide = new Float64Array(x.length);
      for (let k = 0; k < x.length; k++) {
        sum[oracleIndex(big, small, k)] += x[k];
        wide[k] = v[oracleIndex(big, small, k)];
      }
      assert.deepEqual(JS_KERNELS.sumTo(x, big, small), sum);
      assert.deepEqual(JS_KERNELS.broadcastTo(v, small, big), wide);
    });
  }
});

describe('reference unary loops against their per-element functions', () => {
  const values = Float64Array.from([
    0, -0, 1e-300, -1e-300, 0.5, -0.5, 3, -3, 25, -25, 700, -700, 1e9, -1e9, 0.125, Infinity, -Infinity, NaN]);
  const rng = new Rng(5);
  const x = Float64Array.from([...values, ...random(rng, 200)]);
  const positive = x.map(Math.abs).map((v) => v + 1e-3);
  const names: UnaryName[] = ['identity', 'tanh', 'sigmoid', 'softplus', 'relu', 'leaky_relu', 'square', 'rsqrt'];
  for (const name of names) {
    for (const param of name === 'leaky_relu' ? [0, 0.2] : [0]) {
      it(`${name}${param ? ` (slope ${param})` : ''}: orders 0–2 to the bit`, () => {
        const input = name === 'rsqrt' ? positive : x;
        for (let order = 0; order <= 2; order++) {
          const f = unaryElement(name, order, param);
          assert.deepEqual(JS_KERNELS.unary(name, order, param, input), input.map((v) => f(v)), `order ${order}`);
        }
      });
    }
  }
});

describe('one-pass kernels against the primitives they stand for', () => {
  const shapes: Array<[Shape, Shape]> = [
    [[2, 3, 4, 5], [1, 3, 1, 1]], [[2, 3, 4, 5], [2, 1, 4, 1]], [[2, 3, 4, 5], [1, 1, 1, 1]],
    [[2, 3, 4, 5], [2, 3, 4, 5]], [[1, 3, 1, 5], [1, 1, 1, 5]], [[8, 16, 1, 1], [1, 16, 1, 1]],
    [[2, 3, 40, 30], [1, 3, 1, 1]], // runs longer than addTerms' chunks
  ];
  for (const [big, small] of shapes) {
    it(`${big.join('×')} ← ${small.join('×')}: addBroadcast, mulBroadcast, sumToMul to the bit`, () => {
      const rng = new Rng(13);
      const a = random(rng, big.reduce((p, q) => p * q, 1)), b = random(rng, small.reduce((p, q) => p * q, 1));
      const wide = JS_KERNELS.broadcastTo(b, small, big);
      assert.deepEqual(JS_KERNELS.addBroadcast(a, b, small, big), JS_KERNELS.add(a, wide));
      assert.deepEqual(JS_KERNELS.mulBroadcast(a, b, small, big), JS_KERNELS.mul(a, wide));
      const c = random(rng, a.length);
      assert.deepEqual(JS_KERNELS.sumToMul(a, c, big, small), JS_KERNELS.sumTo(JS_KERNELS.mul(a, c), big, small));
    });
    it(`${big.join('×')} ← ${small.join('×')}: addTerms, any 2 or 3 kinds of term`, () => {
      const rng = new Rng(19);
      const n = big.reduce((p, q) => p * q, 1), m = small.reduce((p, q) => p * q, 1);
      const k = JS_KERNELS;
      const [x, y, u, w] = [random(rng, n), random(rng, n), random(rng, n), random(rng, n)];
      const [v, z] = [random(rng, m), random(rng, m)];
      const other: Shape = small.map((d, i) => (i === 1 ? big[1] : 1)); // a per-channel broadcast
      const zc = random(rng, other.reduce((p, q) => p * q, 1));
      const v2 = random(rng, n); // a ReLU's input, for the mask
      // each term with the values it stands for
      const terms: Array<[Term, Float64Array]> = [
        [{ x }, x], [{ x: u, y: w }, k.mul(u, w)],
        [{ x: y, y: v, from: small }, k.mulBroadcast(y, v, small, big)],
        [{ x: w, y: z, from: small }, k.mulBroadcast(w, z, small, big)],
        [{ x: u, y: zc, from: other }, k.mulBroadcast(u, zc, other, big)],
        [{ y: v, from: small }, k.broadcastTo(v, small, big)],
        [{ y: zc, from: other }, k.broadcastTo(zc, other, big)],
      ];
      for (const [ta, va] of terms) {
        for (const [tb, vb] of terms) {
          assert.deepEqual(k.addTerms([ta, tb], big), k.add(va, vb));
          assert.deepEqual(k.addTerms([ta, tb], big, v2), k.mulUnary(k.add(va, vb), 'relu', 1, 0, v2));
          for (const [tc, vc] of terms) {
            assert.deepEqual(k.addTerms([ta, tb, tc], big), k.add(k.add(va, vb), vc));
          }
        }
      }
    });
  }
  it('mulUnary: mul by unary, to the bit, with signed zeros, infinities and NaN on both sides', () => {
    const special = [0, -0, 1, -1, 0.5, -2.5, Infinity, -Infinity, NaN, 1e-310, -1e-310];
    const x = Float64Array.from(special.flatMap((v) => special.map(() => v)));
    const a = Float64Array.from(special.flatMap(() => special));
    for (const [name, param] of [['relu', 0], ['leaky_relu', 0], ['leaky_relu', 0.2], ['tanh', 0]] as const) {
      for (let order = 0; order <= 2; order++) {
        assert.deepEqual(JS_KERNELS.mulUnary(a, name, order, param, x),
          JS_KERNELS.mul(a, JS_KERNELS.unary(name, order, param, x)), `${name} ${param} order ${order}`);
      }
    }
  });
});

describe('output pool', () => {
  it('recycled arrays give the kernels the same bytes as fresh ones, zero-filled where asked', () => {
    const pool = new OutputPool();
    const k = JS_KERNELS.withOutputs(pool.take);
    const rng = new Rng(17);
    const x = random(rng, 2 * 3 * 4 * 5), v = random(rng, 3);
    const run = (kk: Kernels) => [
      kk.mul(x, x), kk.sumTo(x, [2, 3, 4, 5], [1, 3, 1, 1]), kk.mulBroadcast(x, v, [1, 3, 1, 1], [2, 3, 4, 5]),
      kk.scatterAdd(x, Int32Array.from({ length: x.length }, (_, i) => i % 7), 7),
    ];
    const fresh = run(JS_KERNELS);
    const first = run(k);
    assert.deepEqual(first, fresh);
    pool.release();
    for (const a of first) a.fill(NaN); // stale contents
    assert.deepEqual(run(k), fresh);
    const again = pool.take(7);
    assert.notEqual(again, first[3]); // first[3] is taken by the second run
    assert.deepEqual(again, new Float64Array(7));
  });
  it('a matching objective gives the same bytes on every evaluation and keeps none of its arrays', () => {
    const model = graphFromJson(presetSpec('convnet_bn')!, 'convnet_bn');
    const params = initParams(model, 0);
    const rng = new Rng(3);
    const shape = [2, ...model.input];
    const x = random(rng, shape.reduce((p, q) => p * q, 1)).map((v) => v / 4);
    const labels = [1, 2];
    const target = simulateClient(JS_KERNELS, model, params, 'train', { shape, data: x.map((v) => -v) }, labels)
      .update.gradients;
    const objective = (k: Kernels) => matchingObjective(
      { kernels: k, graph: model, params, bnMode: 'train', target, labels, distance: 'cosine' }, shape);
    // the same kernels allocating fresh arrays: the pool is the only difference
    const wasm = createWasmKernels('f64');
    const reference = objective({ ...wasm, withOutputs: () => wasm })(x);
    const pooled = objective(wasm);
    const first = pooled(x), second = pooled(x);
    assert.equal(first.value, reference.value);
    assert.deepEqual(first.grad, reference.grad);
    assert.deepEqual(second.grad, reference.grad);
    assert.notEqual(first.grad, second.grad);
  });
});
