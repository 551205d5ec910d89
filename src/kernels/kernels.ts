import type { Shape } from '../tensor/tensor.js';

/**
 * The compute kernels behind the primitives, on flat float64 arrays, batch first. One object holds
 * them all; the reference implementation is plain JavaScript (kernels/js), and a faster one can
 * replace it without any op or primitive changing. Every kernel takes its float64 output from the set's
 * allocator: fresh arrays by default, or an owner's pool (`withOutputs`).
 */

/**
 * A float64 array of the given length, zero-filled (what `new Float64Array(length)` gives) unless
 * `zeroed` is false: then its contents are unspecified, for a kernel that writes every element.
 */
export type Alloc = (length: number, zeroed?: boolean) => Float64Array;

/** The default allocator. */
export const FRESH: Alloc = (length) => new Float64Array(length);

/**
 * A 2-D convolution's geometry for one sample (input C×H×W, kernel kh×kw, per-axis stride and
 * padding).
 */
export interface ConvGeometry {
  inC: number; inH: number; inW: number;
  outC: number; outH: number; outW: number;
  kh: number; kw: number;
  sh: number; sw: number;
  ph: number; pw: number;
}

/** A pooling window's geometry for one sample (channels unchanged). */
export interface PoolGeometry {
  c: number; inH: number; inW: number;
  outH: number; outW: number;
  kh: number; kw: number;
  sh: number; sw: number;
  ph: number; pw: number;
}

/** Elementwise functions and their derivatives (order 0, 1, 2) with an optional parameter (leaky slope). */
export type UnaryName =
  | 'identity' | 'tanh' | 'sigmoid' | 'softplus' | 'relu' | 'leaky_relu'
  | 'exp' | 'log' | 'rsqrt' | 'recip' | 'sqrt' | 'square' | 'abs';

/**
 * An operand of `addTerms`: x, x ⊙ y with y of x's shape, or, given `from`, y of shape `from`
 * broadcast up to the sum's (times x if given).
 */
export interface Term { x?: Float64Array; y?: Float64Array; from?: Shape }

export interface Kernels {
  /** z = w * x (+ b), n samples; the bias starts each sum. */
  conv2d(g: ConvGeometry, n: number, x: Float64Array, w: Float64Array, b: Float64Array | null): Float64Array;
  /** dx = wᵀ * dz (the transposed convolution), n samples. */
  conv2dInputGrad(g: ConvGeometry, n: number, dz: Float64Array, w: Float64Array): Float64Array;
  /** dw = Σ over samples of the correlation of x with dz. */
  conv2dWeightGrad(g: ConvGeometry, n: number, x: Float64Array, dz: Float64Array): Float64Array;
  /** Max over each window: values and, per output, the flat index of the chosen input (first maximum). */
  maxPool2d(g: PoolGeometry, n: number, x: Float64Array): { out: Float64Array; argmax: Int32Array };
  /** out[k] = x[index[k]]. */
  gather(x: Float64Array, index: Int32Array): Float64Array;
  /** out (of length size) with out[index[k]] += g[k]. */
  scatterAdd(g: Float64Array, index: Int32Array, size: number): Float64Array;
  /** Mean over each window, padding counted as zeros (PyTorch's count_include_pad). */
  avgPool2d(g: PoolGeometry, n: number, x: Float64Array): Float64Array;
  /** The transpose of avgPool2d. */
  avgPool2dTranspose(g: PoolGeometry, n: number, dy: Float64Array): Float64Array;
  /** f⁽ᵒʳᵈᵉʳ⁾(x) elementwise. */
  unary(name: UnaryName, order: number, param: number, x: Float64Array): Float64Array;
  /** a ⊙ f⁽ᵒʳᵈᵉʳ⁾(x), the same values as mul(a, unary(…, x)) in one pass where it is written out. */
  mulUnary(a: Float64Array, name: UnaryName, order: number, param: number, x: Float64Array): Float64Array;
  add(a: Float64Array, b: Float64Array): Float64Array;
  mul(a: Float64Array, b: Float64Array): Float64Array;
  scale(a: Float64Array, c: number): Float64Array;
  /**
   * a + b and a ⊙ b where b (of shape `from`) is broadcast up to a's shape `to`, never built: the
   * same values as add / mul after broadcastTo, without writing and reading the repeated array.
   */
  addBroadcast(a: Float64Array, b: Float64Array, from: Shape, to: Shape): Float64Array;
  mulBroadcast(a: Float64Array, b: Float64Array, from: Shape, to: Shape): Float64Array;
  /**
   * ((t₀ + t₁) + t₂) + … of two or more terms, each product rounded before it is added: the values of
   * add after mul / mulBroadcast, in that order, in one pass without writing the products or the
   * partial sums out (the matching step's adjoints are mostly such sums). With `reluMaskOf` (m), each
   * sum then times ReLU′(m) as mulUnary(·, 'relu', 1, 0, m) gives it (a ReLU's adjoint).
   */
  addTerms(terms: readonly Term[], to: Shape, reluMaskOf?: Float64Array): Float64Array;
  /** Sums x (of shape `from`) down to `to`: same rank, each dimension equal or 1. */
  sumTo(x: Float64Array, from: Shape, to: Shape): Float64Array;
  /** sumTo(mul(a, b), from, to) in one pass: the same products summed in the same order. */
  sumToMul(a: Float64Array, b: Float64Array, from: Shape, to: Shape): Float64Array;
  /** Repeats x (of shape `from`, each dimension equal to `to`'s or 1) up to `to`. */
  broadcastTo(x: Float64Array, from: Shape, to: Shape): Float64Array;
  /** Row-wise softmax of a [rows, cols] array (exp(v − max) / Σ). */
  softmax(x: Float64Array, rows: number, cols: number): Float64Array;
  /**
   * The same kernels taking every float64 output from `alloc` (a pool whose owner knows when the
   * outputs die: the matching objective's tape; see kernels/pool.ts).
   */
  withOutputs(alloc: Alloc): Kernels;
}
