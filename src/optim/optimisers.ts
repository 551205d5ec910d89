/**
 * First-order optimisers for the gradient-matching attacks: Adam and L-BFGS. Both minimise an
 * objective given as value+gradient, keep the best iterate, and stop on an iteration count or a
 * wall-clock budget (performance.now, available in browsers and Node alike).
 */
import { dot } from '../linalg/vec.js';

export type Objective = (x: Float64Array) => { value: number; grad: Float64Array };

export interface RunLimits {
  iterations: number;
  budgetSeconds?: number;
  /** Called after each iteration with the current point and value. */
  onStep?: (step: number, value: number, x: Float64Array) => void;
}

export interface RunResult {
  best: Float64Array;
  bestValue: number;
  iterations: number;
  stoppedBy: 'iterations' | 'budget' | 'converged';
  /** Objective value after each iteration. */
  trace: number[];
  msPerIteration: number;
}

function clockedLoop(
  limits: RunLimits, x0: Float64Array,
  step: (it: number) => { value: number; x: Float64Array; done?: boolean },
): RunResult {
  const t0 = performance.now();
  let best = x0.slice(), bestValue = Infinity, it = 0;
  let stoppedBy: RunResult['stoppedBy'] = 'iterations';
  const trace: number[] = [];
  while (it < limits.iterations) {
    if (limits.budgetSeconds !== undefined && (performance.now() - t0) / 1000 >= limits.budgetSeconds) {
      stoppedBy = 'budget';
      break;
    }
    const r = step(it);
    it++;
    trace.push(r.value);
    if (r.value < bestValue) { bestValue = r.value; best = r.x.slice(); }
    limits.onStep?.(it, r.value, r.x);
    if (r.done) { stoppedBy = 'converged'; break; }
  }
  return {
    best, bestValue, iterations: it, stoppedBy, trace,
    msPerIteration: it > 0 ? (performance.now() - t0) / it : 0,
  };
}

export interface AdamSettings {
  lr: number;
  /** Multiply the rate by 0.1 at these fractions of the iterations (Geiping et al. use 3/8, 5/8, 7/8). */
  decayAt?: number[];
  /** Keep every coordinate in [lo, hi] after each step (the image's valid range). */
  box?: readonly [number, number];
}

export function adam(f: Objective, x0: Float64Array, s: AdamSettings, limits: RunLimits): RunResult {
  const x = x0.slice(), n = x.length;
  const m = new Float64Array(n), v = new Float64Array(n);
  const b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const decay = (s.decayAt ?? []).map((q) => Math.floor(q * limits.iterations));
  return clockedLoop(limits, x0, (it) => {
    const { value, grad } = f(x);
    const lr = s.lr * 0.1 ** decay.filter((d) => it >= d).length;
    const c1 = 1 - b1 ** (it + 1), c2 = 1 - b2 ** (it + 1);
    for (let k = 0; k < n; k++) {
      m[k] = b1 * m[k] + (1 - b1) * grad[k];
      v[k] = b2 * v[k] + (1 - b2) * grad[k] * grad[k];
      x[k] -= (lr * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + eps);
      if (s.box) x[k] = Math.min(s.box[1], Math.max(s.box[0], x[k]));
    }
    return { value, x };
  });
}

/**
 * L-BFGS (two-loop recursion, memory 10) with a backtracking Armijo line search. One iteration is
 * one accepted step; the line search may evaluate the objective more than once. With a box, the start
 * and every trial point are projected into it, and the Armijo test uses the step actually taken:
 * measured against the unprojected t·∇f·d, a start outside the box (or a coordinate held at a bound)
 * made every trial fail however small t was, and the run stopped after one iteration.
 */
export function lbfgs(
  f: Objective, x0: Float64Array, limits: RunLimits, memory = 10, box?: readonly [number, number],
): RunResult {
  const n = x0.length;
  let x = box ? x0.map((v) => Math.min(box[1], Math.max(box[0], v))) : x0.slice();
  let cur = f(x);
  const ss: Float64Array[] = [], ys: Float64Array[] = [];
  return clockedLoop(limits, x, () => {
    // search direction d = −H g
    const q = cur.grad.slice();
    const alpha: number[] = [];
    for (let k = ss.length - 1; k >= 0; k--) {
      const a = dot(ss[k], q) / dot(ys[k], ss[k]);
      alpha[k] = a;
      axpy(-a, ys[k], q);
    }
    const gamma = ss.length
      ? dot(ss[ss.length - 1], ys[ys.length - 1]) / dot(ys[ys.length - 1], ys[ys.length - 1])
      : Math.min(1, 1 / Math.max(1e-300, Math.sqrt(dot(cur.grad, cur.grad))));
    for (let k = 0; k < n; k++) q[k] *= gamma;
    for (let k = 0; k < ss.length; k++) {
      const b = dot(ys[k], q) / dot(ys[k], ss[k]);
      axpy(alpha[k] - b, ss[k], q);
    }
    const d = q.map((v) => -v);
    let slope = dot(d, cur.grad);
    if (!(slope < 0)) {
      ss.length = 0;
      ys.length = 0;
      for (let k = 0; k < n; k++) d[k] = -cur.grad[k];
      slope = dot(d, cur.grad);
    }
    let t = 1;
    let next = cur, xn = x;
    for (let tries = 0; tries < 30; tries++) {
      xn = x.slice();
      axpy(t, d, xn);
      // projected step: trial points are clamped into the box (then the Armijo test decides)
      if (box) for (let k = 0; k < n; k++) xn[k] = Math.min(box[1], Math.max(box[0], xn[k]));
      next = f(xn);
      const predicted = box ? dot(cur.grad, xn.map((v, k) => v - x[k])) : t * slope;
      if (Number.isFinite(next.value) && next.value <= cur.value + 1e-4 * predicted) break;
      t *= 0.5;
    }
    if (!(next.value < cur.value)) return { value: cur.value, x, done: true };
    const sv = xn.map((v, k) => v - x[k]), yv = next.grad.map((v, k) => v - cur.grad[k]);
    if (dot(sv, yv) > 1e-12 * Math.sqrt(dot(sv, sv) * dot(yv, yv))) {
      ss.push(sv); ys.push(yv);
      if (ss.length > memory) { ss.shift(); ys.shift(); }
    }
    x = xn;
    cur = next;
    return { value: cur.value, x };
  });
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let k = 0; k < y.length; k++) y[k] += a * x[k];
}
