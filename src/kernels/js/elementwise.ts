import { makeActivation, type ActivationName } from '../../model/chain-activations.js';
import { fail } from '../../core/errors.js';
import type { Shape } from '../../tensor/tensor.js';
import type { UnaryName } from '../kernels.js';

/**
 * Elementwise kernels. The activations' values and derivatives come from model/chain-activations.ts, the
 * functions the layer-wise analysis inverts, so both see the same numbers.
 */
type Fn = (v: number) => number;

const ACTIVATION_NAMES: readonly string[] = ['identity', 'tanh', 'sigmoid', 'softplus', 'relu', 'leaky_relu'];

/** f, f′, f″ of the non-activation functions. */
const MATH: Record<string, readonly [Fn, Fn, Fn]> = {
  exp: [Math.exp, Math.exp, Math.exp],
  log: [Math.log, (v) => 1 / v, (v) => -1 / (v * v)],
  rsqrt: [(v) => 1 / Math.sqrt(v), (v) => -0.5 / (v * Math.sqrt(v)), (v) => 0.75 / (v * v * Math.sqrt(v))],
  recip: [(v) => 1 / v, (v) => -1 / (v * v), (v) => 2 / (v * v * v)],
  sqrt: [Math.sqrt, (v) => 0.5 / Math.sqrt(v), (v) => -0.25 / (v * Math.sqrt(v))],
  square: [(v) => v * v, (v) => 2 * v, () => 2],
  abs: [Math.abs, Math.sign, () => 0],
};

function unaryFn(name: UnaryName, order: number, param: number): Fn {
  if (order < 0 || order > 2) fail(`derivatives of order ${order} are not available (up to 2)`);
  if (ACTIVATION_NAMES.includes(name)) {
    const a = makeActivation(name as ActivationName, param || undefined);
    return [a.f, a.df, a.d2f][order];
  }
  return MATH[name][order];
}

export function unary(name: UnaryName, order: number, param: number, x: Float64Array): Float64Array {
  const f = unaryFn(name, order, param);
  const out = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) out[k] = f(x[k]);
  return out;
}

export function add(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let k = 0; k < a.length; k++) out[k] = a[k] + b[k];
  return out;
}

export function mul(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let k = 0; k < a.length; k++) out[k] = a[k] * b[k];
  return out;
}

export function scale(a: Float64Array, c: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let k = 0; k < a.length; k++) out[k] = a[k] * c;
  return out;
}

/**
 * Visits every element of `big` (row-major) with the flat index of its counterpart in `small`
 * (same rank, each dimension equal or 1): an odometer over `big` keeps that index with one addition
 * per step, no index array.
 */
function walk(big: Shape, small: Shape, visit: (k: number, t: number) => void): void {
  const rank = big.length;
  const n = big.reduce((a, b) => a * b, 1);
  if (small.every((d) => d === 1)) { for (let k = 0; k < n; k++) visit(k, 0); return; }
  const stride = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) { stride[d] = small[d] === 1 ? 0 : s; s *= small[d]; }
  const idx = new Array<number>(rank).fill(0);
  let t = 0;
  for (let k = 0; k < n; k++) {
    visit(k, t);
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < big[d]) { t += stride[d]; break; }
      t -= (big[d] - 1) * stride[d];
      idx[d] = 0;
    }
  }
}

export function sumTo(x: Float64Array, from: Shape, to: Shape): Float64Array {
  const out = new Float64Array(to.reduce((a, b) => a * b, 1));
  if (out.length === 1) {
    let s = 0;
    for (let k = 0; k < x.length; k++) s += x[k];
    out[0] = s;
    return out;
  }
  walk(from, to, (k, t) => { out[t] += x[k]; });
  return out;
}

export function broadcastTo(x: Float64Array, from: Shape, to: Shape): Float64Array {
  const out = new Float64Array(to.reduce((a, b) => a * b, 1));
  if (x.length === 1) return out.fill(x[0]);
  walk(to, from, (k, t) => { out[k] = x[t]; });
  return out;
}

export function softmax(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, x[o + c]);
    let s = 0;
    for (let c = 0; c < cols; c++) { out[o + c] = Math.exp(x[o + c] - max); s += out[o + c]; }
    for (let c = 0; c < cols; c++) out[o + c] /= s;
  }
  return out;
}
