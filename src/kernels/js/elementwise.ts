import { makeActivation, type ActivationName } from '../../model/chain-activations.js';
import { fail } from '../../core/errors.js';
import { sameShape, type Shape } from '../../tensor/tensor.js';
import { FRESH, type Alloc, type Term, type UnaryName } from '../kernels.js';
import {
  addMulRange, addMulScalarRange, addRange, addScalarRange, dotRange, mulAddMulRange, mulAddMulScalarRange,
  mulAddScalarRange, mulRange, mulReluMaskRange, mulScalarAddMulScalarRange, mulScalarAddScalarRange,
  mulScalarRange, sumRange,
} from './unrolled.js';

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

/**
 * The hot functions written out as loops, one literal each: a loop that calls f per element through
 * one call site sees every function and cannot inline any (measured 30–50 ns an element for ReLU).
 * Each expression is the one in chain-activations.ts or MATH, so the values are the same to the bit
 * (tested against them).
 */
type Loop = (x: Float64Array, out: Float64Array, param: number) => void;
const LOOPS: Partial<Record<UnaryName, readonly [Loop, Loop, Loop]>> = {
  // the ReLUs pick their value by index, not by a branch on the sign (a coin toss for activations:
  // 8.2 → 2.9 ns an element, random signs); the same choice, so the same values
  relu: [
    (x, o) => {
      const pick = new Float64Array(2); // [0, x]
      for (let k = 0; k < x.length; k++) { const v = x[k]; pick[1] = v; o[k] = pick[+(v > 0)]; }
    },
    (x, o) => { for (let k = 0; k < x.length; k++) o[k] = +(x[k] > 0); },
    (_x, o) => { o.fill(0); },
  ],
  leaky_relu: [
    (x, o, s) => {
      const pick = new Float64Array(2); // [s·x, x]
      for (let k = 0; k < x.length; k++) {
        const v = x[k];
        pick[0] = s * v; pick[1] = v;
        o[k] = pick[+(v >= 0)];
      }
    },
    (x, o, s) => {
      const pick = Float64Array.of(s, 1);
      for (let k = 0; k < x.length; k++) o[k] = pick[+(x[k] >= 0)];
    },
    (_x, o) => { o.fill(0); },
  ],
  identity: [(x, o) => { o.set(x); }, (_x, o) => { o.fill(1); }, (_x, o) => { o.fill(0); }],
  tanh: [
    (x, o) => { for (let k = 0; k < x.length; k++) o[k] = Math.tanh(x[k]); },
    (x, o) => { for (let k = 0; k < x.length; k++) o[k] = 1 - Math.tanh(x[k]) ** 2; },
    (x, o) => { for (let k = 0; k < x.length; k++) { const t = Math.tanh(x[k]); o[k] = -2 * t * (1 - t * t); } },
  ],
  sigmoid: [
    (x, o) => { for (let k = 0; k < x.length; k++) o[k] = 1 / (1 + Math.exp(-x[k])); },
    (x, o) => { for (let k = 0; k < x.length; k++) { const v = 1 / (1 + Math.exp(-x[k])); o[k] = v * (1 - v); } },
    (x, o) => {
      for (let k = 0; k < x.length; k++) { const v = 1 / (1 + Math.exp(-x[k])); o[k] = v * (1 - v) * (1 - 2 * v); }
    },
  ],
  square: [
    (x, o) => { for (let k = 0; k < x.length; k++) o[k] = x[k] * x[k]; },
    (x, o) => { for (let k = 0; k < x.length; k++) o[k] = 2 * x[k]; },
    (_x, o) => { o.fill(2); },
  ],
  rsqrt: [
    (x, o) => { for (let k = 0; k < x.length; k++) o[k] = 1 / Math.sqrt(x[k]); },
    (x, o) => { for (let k = 0; k < x.length; k++) o[k] = -0.5 / (x[k] * Math.sqrt(x[k])); },
    (x, o) => { for (let k = 0; k < x.length; k++) o[k] = 0.75 / (x[k] * x[k] * Math.sqrt(x[k])); },
  ],
};

export function unary(
  name: UnaryName, order: number, param: number, x: Float64Array, alloc: Alloc = FRESH,
): Float64Array {
  const f = unaryFn(name, order, param); // validates the order and leaky_relu's slope
  const out = alloc(x.length, false);
  const loop = LOOPS[name]?.[order];
  if (loop) loop(x, out, param || 0.01);
  else for (let k = 0; k < x.length; k++) out[k] = f(x[k]);
  return out;
}

/**
 * a ⊙ f′(x) for the ReLU-like masks, written out: the same product a·f′ as mul's, f′ as LOOPS has it
 * (1 or 0, 1 or the slope; NaN compares false in both) but chosen without a branch — +(x > 0) and an
 * indexed load, since the signs of pre-activations are a coin toss and a mispredicted branch per
 * element made this 8 ns an element against 2.5 (72k elements, CPU time).
 */
type MaskLoop = (a: Float64Array, x: Float64Array, o: Float64Array, slope: number) => void;
const MUL_DERIVATIVE: Partial<Record<UnaryName, MaskLoop>> = {
  relu: (a, x, o) => mulReluMaskRange(a, x, o, 0, x.length),
  leaky_relu: (a, x, o, s) => {
    const slope = Float64Array.of(s, 1);
    for (let k = 0; k < x.length; k++) o[k] = a[k] * slope[+(x[k] >= 0)];
  },
};

export function mulUnary(
  a: Float64Array, name: UnaryName, order: number, param: number, x: Float64Array, alloc: Alloc = FRESH,
): Float64Array {
  const loop = order === 1 ? MUL_DERIVATIVE[name] : undefined;
  if (!loop) return mul(a, unary(name, order, param, x), alloc);
  unaryFn(name, order, param); // validates leaky_relu's slope
  const out = alloc(x.length, false);
  loop(a, x, out, param || 0.01);
  return out;
}

/** The per-element function of `unary` (for tests of the written-out loops). */
export const unaryElement = unaryFn;

export function add(a: Float64Array, b: Float64Array, alloc: Alloc = FRESH): Float64Array {
  const out = alloc(a.length, false);
  addRange(a, b, out, 0, a.length, 0);
  return out;
}

export function mul(a: Float64Array, b: Float64Array, alloc: Alloc = FRESH): Float64Array {
  const out = alloc(a.length, false);
  mulRange(a, b, out, 0, a.length, 0);
  return out;
}

export function scale(a: Float64Array, c: number, alloc: Alloc = FRESH): Float64Array {
  const out = alloc(a.length, false);
  mulScalarRange(a, c, out, 0, a.length);
  return out;
}

/**
 * The broadcast pattern of `big` against `small` (same rank, each dimension of `small` equal or 1) as
 * runs: adjacent dimensions that are both kept or both broadcast merge into one, so that a per-channel
 * pattern [N, C, H, W] ↔ [1, C, 1, 1] becomes three runs with a contiguous innermost one.
 */
interface Runs { size: number[]; kept: boolean[] }

function runsOf(big: Shape, small: Shape): Runs {
  const size: number[] = [], kept: boolean[] = [];
  for (let d = 0; d < big.length; d++) {
    if (big[d] === 1) continue;
    const keep = small[d] !== 1;
    if (kept.length && kept[kept.length - 1] === keep) size[size.length - 1] *= big[d];
    else { size.push(big[d]); kept.push(keep); }
  }
  return { size, kept };
}

/**
 * Visits `big` (row-major) a contiguous innermost run at a time: `visit(k, t, len, kept)` covers big's
 * elements k..k+len−1, whose counterparts in `small` are t..t+len−1 if the run is kept, else t alone.
 * Elements are visited in row-major order, so sums accumulate in the same order as one by one.
 */
function walkRuns(big: Shape, small: Shape, visit: (k: number, t: number, len: number, kept: boolean) => void): void {
  const { size, kept } = runsOf(big, small);
  const r = size.length;
  if (r === 0) { visit(0, 0, 1, true); return; }
  const stride = new Array<number>(r);
  for (let d = r - 1, s = 1; d >= 0; d--) { stride[d] = kept[d] ? s : 0; if (kept[d]) s *= size[d]; }
  const inner = size[r - 1], innerKept = kept[r - 1];
  const outer = size.slice(0, r - 1).reduce((a, b) => a * b, 1);
  const idx = new Array<number>(r - 1).fill(0);
  let t = 0;
  for (let o = 0, k = 0; o < outer; o++, k += inner) {
    visit(k, t, inner, innerKept);
    for (let d = r - 2; d >= 0; d--) {
      if (++idx[d] < size[d]) { t += stride[d]; break; }
      t -= (size[d] - 1) * stride[d];
      idx[d] = 0;
    }
  }
}

export function sumTo(x: Float64Array, from: Shape, to: Shape, alloc: Alloc = FRESH): Float64Array {
  const out = alloc(to.reduce((a, b) => a * b, 1));
  walkRuns(from, to, (k, t, len, kept) => {
    if (kept) addRange(out, x, out, t, t + len, k - t);
    else out[t] = sumRange(x, k, k + len, out[t]);
  });
  return out;
}

export function sumToMul(
  a: Float64Array, b: Float64Array, from: Shape, to: Shape, alloc: Alloc = FRESH,
): Float64Array {
  const out = alloc(to.reduce((p, q) => p * q, 1));
  walkRuns(from, to, (k, t, len, kept) => {
    if (kept) { for (let j = 0; j < len; j++) out[t + j] += a[k + j] * b[k + j]; return; }
    out[t] = dotRange(a, b, k, k + len, out[t]);
  });
  return out;
}

export function broadcastTo(x: Float64Array, from: Shape, to: Shape, alloc: Alloc = FRESH): Float64Array {
  const out = alloc(to.reduce((a, b) => a * b, 1), false);
  walkRuns(to, from, (k, t, len, kept) => {
    if (kept) out.set(x.subarray(t, t + len), k);
    else out.fill(x[t], k, k + len);
  });
  return out;
}

/** out = a ∘ b (+ or ×) with b broadcast from `from` to a's shape `to`, a contiguous run at a time. */
export function addBroadcast(
  a: Float64Array, b: Float64Array, from: Shape, to: Shape, alloc: Alloc = FRESH,
): Float64Array {
  const out = alloc(a.length, false);
  walkRuns(to, from, (k, t, len, kept) => {
    if (kept) addRange(a, b, out, k, k + len, t - k);
    else addScalarRange(a, b[t], out, k, k + len);
  });
  return out;
}

export function mulBroadcast(
  a: Float64Array, b: Float64Array, from: Shape, to: Shape, alloc: Alloc = FRESH,
): Float64Array {
  const out = alloc(a.length, false);
  walkRuns(to, from, (k, t, len, kept) => {
    if (kept) mulRange(a, b, out, k, k + len, t - k);
    else mulScalarRange(a, b[t], out, k, k + len);
  });
  return out;
}

/** How a term reads within one contiguous run (see RunTerm). */
const enum Kind { Plain, Product, ScaledByScalar, Scalar, Shifted }

/**
 * A term within one contiguous run: x alone, x ⊙ y at an index shift (y of x's shape, or a
 * broadcast's source where the run keeps its dimensions), x times a broadcast scalar v, or a
 * broadcast alone: v, or y at a shift. One object per term, updated run by run (a batch of 8×8 maps
 * has thousands of runs: fresh objects for each were a garbage collection's worth per step).
 */
class RunTerm {
  kind = Kind.Plain;
  shift = 0;
  v = 0;
  constructor(readonly x: Float64Array | undefined, readonly y: Float64Array | undefined,
    readonly broadcast: boolean) {}

  at(k: number, s: number, kept: boolean): this {
    const { x, y } = this;
    if (!y) { this.kind = Kind.Plain; return this; }
    const shift = this.broadcast ? s - k : 0;
    if (this.broadcast && !kept) { this.v = y[s]; this.kind = x ? Kind.ScaledByScalar : Kind.Scalar; }
    else { this.shift = shift; this.kind = x ? Kind.Product : Kind.Shifted; }
    return this;
  }

  /** out[k..end) = this term. */
  write(out: Float64Array, k: number, end: number): void {
    const { x, y, v, shift } = this;
    switch (this.kind) {
      case Kind.Plain: for (let i = k; i < end; i++) out[i] = x![i]; break;
      case Kind.Product: mulRange(x!, y!, out, k, end, shift); break;
      case Kind.ScaledByScalar: mulScalarRange(x!, v, out, k, end); break;
      case Kind.Scalar: out.fill(v, k, end); break;
      case Kind.Shifted: for (let i = k; i < end; i++) out[i] = y![i + shift]; break;
    }
  }

  /** out[k..end) += this term (rounded first, as its own array would be). */
  addTo(out: Float64Array, k: number, end: number): void {
    const { x, y, v, shift } = this;
    switch (this.kind) {
      case Kind.Plain: addRange(out, x!, out, k, end, 0); break;
      case Kind.Product: addMulRange(out, x!, y!, out, k, end, shift); break;
      case Kind.ScaledByScalar: addMulScalarRange(out, x!, v, out, k, end); break;
      case Kind.Scalar: addScalarRange(out, v, out, k, end); break;
      case Kind.Shifted: addRange(out, y!, out, k, end, shift); break;
    }
  }
}

/**
 * out[k..end) = p + q in one pass for the pairs the matching step meets (p's kind ≤ q's: sums
 * commute, the values do not depend on the order); others as p written, then q added to it.
 */
function addPair(p: RunTerm, q: RunTerm, out: Float64Array, k: number, end: number): void {
  if (p.kind > q.kind) { addPair(q, p, out, k, end); return; }
  const pair = p.kind * 8 + q.kind;
  switch (pair) {
    case Kind.Plain * 8 + Kind.Plain: addRange(p.x!, q.x!, out, k, end, 0); return;
    case Kind.Plain * 8 + Kind.Product: addMulRange(p.x!, q.x!, q.y!, out, k, end, q.shift); return;
    case Kind.Plain * 8 + Kind.ScaledByScalar: addMulScalarRange(p.x!, q.x!, q.v, out, k, end); return;
    case Kind.Plain * 8 + Kind.Scalar: addScalarRange(p.x!, q.v, out, k, end); return;
    case Kind.Product * 8 + Kind.Product:
      mulAddMulRange(p.x!, p.y!, p.shift, q.x!, q.y!, q.shift, out, k, end); return;
    case Kind.Product * 8 + Kind.ScaledByScalar:
      mulAddMulScalarRange(p.x!, p.y!, p.shift, q.x!, q.v, out, k, end); return;
    case Kind.Product * 8 + Kind.Scalar: mulAddScalarRange(p.x!, p.y!, p.shift, q.v, out, k, end); return;
    case Kind.ScaledByScalar * 8 + Kind.ScaledByScalar:
      mulScalarAddMulScalarRange(p.x!, p.v, q.x!, q.v, out, k, end); return;
    case Kind.ScaledByScalar * 8 + Kind.Scalar: mulScalarAddScalarRange(p.x!, p.v, q.v, out, k, end); return;
    default: p.write(out, k, end); q.addTo(out, k, end);
  }
}

/**
 * Elements per chunk of a sum of three or more terms: the first two are added into the output and
 * the others into it in turn a chunk at a time, so the partial sums are reread from L1, not memory.
 */
const CHUNK = 512;

export function addTerms(
  terms: readonly Term[], to: Shape, reluMaskOf?: Float64Array, alloc: Alloc = FRESH,
): Float64Array {
  const out = alloc(to.reduce((a, b) => a * b, 1), false);
  const from = terms.find((t) => t.from)?.from;
  // broadcasts from another shape walk differently: those are built first
  const run = terms.map((t) => {
    if (!t.from) return new RunTerm(t.x, t.y, false);
    if (sameShape(t.from, from!)) return new RunTerm(t.x, t.y, true);
    const built = t.x ? mulBroadcast(t.x, t.y!, t.from, to, alloc) : broadcastTo(t.y!, t.from, to, alloc);
    return new RunTerm(built, undefined, false);
  });
  const visit = (k: number, s: number, len: number, kept: boolean) => {
    for (const r of run) r.at(k, s, kept);
    for (let c = k, end = k + len; c < end; c += CHUNK) {
      const stop = Math.min(end, c + CHUNK);
      addPair(run[0], run[1], out, c, stop);
      for (let i = 2; i < run.length; i++) run[i].addTo(out, c, stop);
      if (reluMaskOf) mulReluMaskRange(out, reluMaskOf, out, c, stop);
    }
  };
  if (from) walkRuns(to, from, visit); else visit(0, 0, out.length, true);
  return out;
}

export function softmax(x: Float64Array, rows: number, cols: number, alloc: Alloc = FRESH): Float64Array {
  const out = alloc(x.length, false);
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
