import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine, type Var } from '../src/autodiff/engine.js';
import { add, mul, scale } from '../src/autodiff/prims/arith.js';
import { conv2d, conv2dInputGrad, conv2dWeightGrad } from '../src/autodiff/prims/conv.js';
import { avgPool2d, maxPool2d } from '../src/autodiff/prims/pool.js';
import { broadcastTo, reshape, sumAll, sumTo } from '../src/autodiff/prims/shape.js';
import { crossEntropy, softmax } from '../src/autodiff/prims/softmax.js';
import { unary } from '../src/autodiff/prims/unary.js';
import { Rng } from '../src/core/rng.js';
import type { ConvGeometry, PoolGeometry, UnaryName } from '../src/kernels/kernels.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import type { Shape } from '../src/tensor/tensor.js';

/**
 * Every primitive against central finite differences, to first and to second order. First order:
 * the gradient of ⟨r, f(x…)⟩ for a random r. Second order: the gradient with respect to each input of
 * ⟨s, ∂⟨r, f⟩/∂(each input)⟩, i.e. of a recorded gradient, which is what gradient matching needs.
 */
const e = new Engine(JS_KERNELS);

function random(rng: Rng, shape: Shape, lo = -1, hi = 1): Float64Array {
  return Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * rng.uniform());
}

/** ⟨r, f(inputs)⟩ as a scalar Var, for a fixed random r of the output's shape. */
function probe(f: (xs: Var[]) => Var, seed: number): (xs: Var[]) => Var {
  let r: Float64Array | null = null;
  return (xs) => {
    const y = f(xs);
    r ??= random(new Rng(seed), y.shape);
    return sumAll(e, mul(e, y, e.constant({ shape: y.shape, data: r })));
  };
}

/** Largest |analytic − numeric| relative to the largest |numeric|, over every input entry. */
function worstError(value: (xs: Var[]) => Var, values: Float64Array[], shapes: Shape[], h: number): number {
  const leaves = values.map((v, i) => e.variable({ shape: shapes[i], data: v }));
  const grads = e.grad(value(leaves), leaves);
  let worst = 0, scaleMax = 0;
  values.forEach((v, i) => {
    for (let k = 0; k < v.length; k++) {
      const keep = v[k];
      v[k] = keep + h;
      const up = value(values.map((w, j) => e.variable({ shape: shapes[j], data: w }))).data[0];
      v[k] = keep - h;
      const down = value(values.map((w, j) => e.variable({ shape: shapes[j], data: w }))).data[0];
      v[k] = keep;
      const numeric = (up - down) / (2 * h);
      const analytic = grads[i] ? grads[i]!.data[k] : 0;
      worst = Math.max(worst, Math.abs(analytic - numeric));
      scaleMax = Math.max(scaleMax, Math.abs(numeric));
    }
  });
  return worst / Math.max(scaleMax, 1e-12);
}

/** First- and second-order checks of f at random inputs of the given shapes. */
function check(name: string, f: (xs: Var[]) => Var, shapes: Shape[], opts: { lo?: number; hi?: number; tol?: number; secondOrder?: boolean } = {}) {
  it(name, () => {
    const rng = new Rng(name.length * 7919);
    const values = shapes.map((s) => random(rng, s, opts.lo, opts.hi));
    const first = probe(f, 1);
    const tol = opts.tol ?? 1e-6;
    assert.ok(worstError(first, values, shapes, 1e-6) < tol, `first order: ${worstError(first, values, shapes, 1e-6)}`);
    if (opts.secondOrder === false) return;
    // second order: the inner gradients are recorded, then contracted with fixed random tensors
    const s = shapes.map((shape, i) => random(new Rng(100 + i), shape));
    const second = (xs: Var[]) => {
      const gs = e.grad(first(xs), xs, { createGraph: true });
      return gs.reduce<Var>((acc, g, i) => (g ? add(e, acc, sumAll(e, mul(e, g, e.constant({ shape: shapes[i], data: s[i] })))) : acc),
        e.constant({ shape: [1], data: new Float64Array(1) }));
    };
    const err = worstError(second, values, shapes, 1e-5);
    assert.ok(err < (opts.tol ?? 1e-6) * 10, `second order: ${err}`);
  });
}

const convGeom = (inC: number, inH: number, inW: number, outC: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number): ConvGeometry => ({
  inC, inH, inW, outC, kh, kw, sh, sw, ph, pw,
  outH: Math.floor((inH + 2 * ph - kh) / sh) + 1, outW: Math.floor((inW + 2 * pw - kw) / sw) + 1,
});

describe('autodiff primitives against finite differences (first and second order)', () => {
  const g = convGeom(2, 5, 6, 3, 3, 2, 2, 1, 1, 0);
  const zShape = [2, 3, g.outH, g.outW];
  check('conv2d (rectangular kernel, per-axis stride and padding, batch 2, bias)', ([x, w, b]) => conv2d(e, x, w, b, g), [[2, 2, 5, 6], [3, 2, 3, 2], [3]]);
  check('conv2d input gradient (transposed convolution)', ([dz, w]) => conv2dInputGrad(e, dz, w, g), [zShape, [3, 2, 3, 2]]);
  check('conv2d weight gradient', ([x, dz]) => conv2dWeightGrad(e, x, dz, g), [[2, 2, 5, 6], zShape]);
  const activations: [UnaryName, number, number, number][] = [
    ['tanh', 0, -2, 2], ['sigmoid', 0, -3, 3], ['softplus', 0, -3, 3], ['identity', 0, -1, 1], ['leaky_relu', 0.2, -1, 1], ['relu', 0, -1, 1],
    ['exp', 0, -1, 1], ['log', 0, 0.5, 2], ['rsqrt', 0, 0.5, 2], ['recip', 0, 0.5, 2], ['sqrt', 0, 0.5, 2], ['square', 0, -1, 1], ['abs', 0, -1, 1],
  ];
  for (const [name, param, lo, hi] of activations) {
    // kinks of relu/leaky_relu/abs at 0: random inputs avoid them almost surely, and FD steps of 1e-6 do not cross them
    check(`unary ${name}`, ([x]) => unary(e, x, name, param), [[2, 7]], { lo, hi });
  }
  check('mul, add, scale', ([a, b]) => scale(e, add(e, mul(e, a, b), a), -1.5), [[3, 4], [3, 4]]);
  check('sum_to and broadcast_to', ([x, v]) => mul(e, broadcastTo(e, sumTo(e, x, [1, 3, 1]), [2, 3, 4]), broadcastTo(e, v, [2, 3, 4])), [[2, 3, 4], [2, 1, 4]]);
  check('reshape', ([x]) => mul(e, reshape(e, x, [6, 2]), reshape(e, x, [6, 2])), [[2, 3, 2]]);
  const pool: PoolGeometry = { c: 2, inH: 5, inW: 5, outH: 3, outW: 3, kh: 2, kw: 2, sh: 2, sw: 2, ph: 1, pw: 1 };
  check('max_pool2d (padding; random inputs have no ties)', ([x]) => mul(e, maxPool2d(e, x, pool), maxPool2d(e, x, pool)), [[2, 2, 5, 5]]);
  check('avg_pool2d (padding counted as zeros)', ([x]) => mul(e, avgPool2d(e, x, pool), avgPool2d(e, x, pool)), [[2, 2, 5, 5]]);
  check('softmax', ([z]) => softmax(e, z), [[3, 5]], { lo: -2, hi: 2 });
  check('cross-entropy, mean over a batch of 3', ([z]) => crossEntropy(e, z, [4, 0, 4]), [[3, 5]], { lo: -2, hi: 2 });
});

describe('autodiff engine', () => {
  it('gradients accumulate over several uses, and constants get none', () => {
    const x = e.variable({ shape: [2], data: Float64Array.of(3, -2) });
    const c = e.constant({ shape: [2], data: Float64Array.of(5, 7) });
    const y = sumAll(e, add(e, mul(e, x, x), mul(e, x, c))); // Σ x² + c·x
    const [gx, gc] = e.grad(y, [x, c]);
    assert.deepEqual([...gx!.data], [2 * 3 + 5, 2 * -2 + 7]);
    assert.equal(gc, null);
  });
  it('without createGraph, gradients are values only (nothing recorded)', () => {
    const x = e.variable({ shape: [1], data: Float64Array.of(0.3) });
    const [g] = e.grad(unary(e, x, 'tanh'), [x]);
    assert.equal(g!.requiresGrad, false);
    const [g2] = e.grad(unary(e, x, 'tanh'), [x], { createGraph: true });
    assert.equal(g2!.requiresGrad, true);
    // d²tanh/dx² = −2 tanh (1 − tanh²)
    const [h] = e.grad(g2!, [x]);
    const t = Math.tanh(0.3);
    assert.ok(Math.abs(h!.data[0] + 2 * t * (1 - t * t)) < 1e-15);
  });
});
