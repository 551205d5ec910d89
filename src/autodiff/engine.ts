import type { Kernels } from '../kernels/kernels.js';
import type { Tensor } from '../tensor/tensor.js';
import { add } from './prims/arith.js';

/**
 * Reverse-mode differentiation on a tape, to any order. A primitive computes its output from tensors
 * with the engine's kernels and states its vector-Jacobian product in terms of other primitives; so
 * when gradients are taken with `createGraph`, their computation is itself recorded and can be
 * differentiated again. That is how the gradient-matching attacks get ∂/∂x of a distance between the
 * gradients x produces and the shared ones (double backprop; docs/METHOD.md §7, docs/DESIGN.md).
 */
export interface Primitive<A = unknown, S = unknown> {
  readonly name: string;
  /** The output (and whatever the VJP needs later) from the inputs' values. */
  forward(k: Kernels, inputs: readonly Tensor[], attrs: A): { out: Tensor; saved?: S };
  /**
   * Adjoints of the inputs, given the adjoint `g` of the output; null where an input gets none
   * (an index, a constant) or is not `needed` (on no path to what is differentiated: computing it
   * would be wasted). Written with primitives, so that it can be recorded.
   */
  vjp(e: Engine, node: Recorded<A, S>, g: Var, needed: readonly boolean[]): (Var | null)[];
}

export interface Recorded<A = unknown, S = unknown> {
  readonly inputs: readonly Var[];
  readonly output: Var;
  readonly attrs: A;
  readonly saved: S | undefined;
}

interface TapeEntry {
  prim: Primitive<unknown, unknown>;
  rec: Recorded;
}

/** A value in a computation: its tensor and, when it depends on something being differentiated, how. */
export class Var {
  /** @internal set once by the engine */
  entry: TapeEntry | null = null;
  constructor(readonly value: Tensor, readonly engine: Engine, readonly isLeaf: boolean) {}

  get shape() { return this.value.shape; }
  get data() { return this.value.data; }
  /** Whether gradients can flow to it. */
  get requiresGrad(): boolean { return this.isLeaf || this.entry !== null; }
}

export interface GradOptions {
  /** The adjoint of the output (default: ones, for a scalar). */
  seed?: Var;
  /** Record the gradient computation so that it can be differentiated again. */
  createGraph?: boolean;
}

export class Engine {
  private recording = true;

  constructor(readonly kernels: Kernels) {}

  /** A value gradients never flow to. */
  constant(t: Tensor): Var {
    return new Var(t, this, false);
  }

  /** A leaf to differentiate with respect to. */
  variable(t: Tensor): Var {
    return new Var(t, this, true);
  }

  apply<A, S>(prim: Primitive<A, S>, inputs: readonly Var[], attrs: A): Var {
    for (const v of inputs) if (v.engine !== this) throw new Error(
      `${prim.name}: inputs come from another engine`);
    const { out, saved } = prim.forward(this.kernels, inputs.map((v) => v.value), attrs);
    const result = new Var(out, this, false);
    if (this.recording && inputs.some((v) => v.requiresGrad)) {
      result.entry = {
        prim: prim as Primitive<unknown, unknown>, rec: { inputs, output: result, attrs, saved },
      };
    }
    return result;
  }

  /** Runs f without recording (values only). */
  noGrad<T>(f: () => T): T {
    const was = this.recording;
    this.recording = false;
    try { return f(); } finally { this.recording = was; }
  }

  /**
   * d(output)/d(each of wrt) contracted with the seed: one Var per `wrt` (null where the output does
   * not depend on it). With createGraph the result is differentiable again.
   */
  grad(output: Var, wrt: readonly Var[], opts: GradOptions = {}): (Var | null)[] {
    const order = this.topological(output);
    // only values on a path from `wrt` to the output need adjoints
    const onPath = new Set<Var>(wrt.filter((w) => w.requiresGrad));
    for (const v of order)
      if (v.entry && v.entry.rec.inputs.some((u) => onPath.has(u))) onPath.add(v);
    const seed = opts.seed
      ?? this.constant({ shape: output.shape, data: new Float64Array(output.data.length).fill(1) });
    const adjoint = new Map<Var, Var>([[output, seed]]);
    const run = () => {
      for (let i = order.length - 1; i >= 0; i--) {
        const v = order[i];
        const g = adjoint.get(v);
        if (!g || !v.entry || !onPath.has(v)) continue;
        const { prim, rec } = v.entry;
        const grads = prim.vjp(this, rec, g, rec.inputs.map((u) => onPath.has(u)));
        rec.inputs.forEach((input, k) => {
          const gk = grads[k];
          if (!gk || !onPath.has(input)) return;
          const prev = adjoint.get(input);
          adjoint.set(input, prev ? add(this, prev, gk) : gk);
        });
      }
    };
    if (opts.createGraph) run(); else this.noGrad(run);
    return wrt.map((w) => adjoint.get(w) ?? null);
  }

  /** Every recorded Var the output depends on, inputs before the values computed from them. */
  private topological(output: Var): Var[] {
    const order: Var[] = [];
    const seen = new Set<Var>();
    const stack: [Var, boolean][] = [[output, false]];
    while (stack.length) {
      const [v, expanded] = stack.pop()!;
      if (expanded) { order.push(v); continue; }
      if (seen.has(v)) continue;
      seen.add(v);
      stack.push([v, true]);
      if (v.entry)
        for (const u of v.entry.rec.inputs) if (!seen.has(u) && u.requiresGrad) stack.push([u, false]);
    }
    return order;
  }
}
