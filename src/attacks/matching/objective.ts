import { Engine, type Var } from '../../autodiff/engine.js';
import { add, mul, scale } from '../../autodiff/prims/arith.js';
import { sumAll } from '../../autodiff/prims/shape.js';
import { crossEntropy } from '../../autodiff/prims/softmax.js';
import { unary } from '../../autodiff/prims/unary.js';
import type { Kernels } from '../../kernels/kernels.js';
import { OutputPool } from '../../kernels/pool.js';
import { paramVars } from '../../model/gradients.js';
import { forwardGraph, type Graph, type ParamMap } from '../../model/graph.js';
import type { BnMode } from '../../ops/op.js';
import type { Shape } from '../../tensor/tensor.js';
import type { AdaptiveRule, SimulatedStep } from '../../defences/adaptive.js';
import { combinedMask } from '../adaptive.js';

/**
 * Gradient matching on any graph and batch: the distance between the gradients a candidate batch
 * produces and the shared ones, and its gradient with respect to the candidate. The candidate's
 * gradients are taken with the computation recorded, the distance is built on them, and the
 * engine differentiates the whole (double backprop). Started from a node (`from`), the candidate is
 * that node's output and the sub-network after it is matched (the hybrid attack's per-layer step);
 * only the tensors the loss then depends on are compared.
 */
export type GradientDistance = 'l2' | 'cosine' | 'cosine-whole';

/** PyTorch's cosine_similarity eps as Inverting Gradients calls it. */
export const COSINE_EPS = 1e-10;

export interface MatchingProblem {
  kernels: Kernels;
  graph: Graph;
  params: ParamMap;
  bnMode: BnMode;
  /** The shared gradients, by parameter name. */
  target: ParamMap;
  /** One label per candidate sample. */
  labels: readonly number[];
  distance: GradientDistance;
  /** The candidate is the output of this node instead of the graph's input. */
  from?: number;
  /**
   * An adaptive attacker's rules, one per declared defence in the client's order (defences/
   * adaptive.ts): `target` is then the update as received (a weight delta as such), not as read naively.
   */
  rules?: readonly AdaptiveRule[];
}

export interface MatchingValue {
  value: number;
  /** ∂value/∂candidate. */
  grad: Float64Array;
}

/** A prepared objective: x (with its batch shape) ↦ distance and gradient. */
export function matchingObjective(p: MatchingProblem, shape: Shape): (x: Float64Array) => MatchingValue {
  const trainable = p.graph.params.filter((q) => q.trainable);
  const rules = p.rules ?? [];
  const distance = [...rules].reverse().find((r) => r.distance)?.distance ?? p.distance;
  const mask = combinedMask(rules);
  // the received tensors as compared: the masked coordinates dropped
  const target = new Map(trainable.map((q) => {
    const t = p.target.get(q.name)!, m = mask.get(q.name);
    return [q.name, m ? t.map((v, i) => v * m[i]) : t];
  }));
  const targetNorms = new Map(trainable.map((q) => [
    q.name, Math.sqrt(target.get(q.name)!.reduce((s, v) => s + v * v, 0)),
  ]));
  // every array on the tape dies when an evaluation returns: recycle them (kernels/pool.ts)
  const pool = new OutputPool();
  const kernels = p.kernels.withOutputs(pool.take);
  return (x) => {
    try {
      return evaluate(x);
    } finally {
      pool.release();
    }
  };

  function evaluate(x: Float64Array): MatchingValue {
    const e = new Engine(kernels);
    const candidate = e.variable({ shape, data: x });
    const vars = paramVars(e, p.graph, p.params, true);
    // the client's step on the candidate, wrapped by each defence's simulation in the client's order
    const step = rules.reduce<SimulatedStep>(
      (inner, r) => (r.simulate ? r.simulate(inner, e) : inner), plainStep(e, p));
    const shared = step(vars, { images: candidate, labels: p.labels });
    let total: Var | null = null;
    let constant = 0;
    // the whole-gradient cosine's sums over every tensor compared
    let dotAll: Var | null = null, normAll: Var | null = null, targetSq = 0;
    trainable.forEach((q) => {
      const m = mask.get(q.name);
      const raw = shared.get(q.name);
      if (!raw) return; // a tensor before the sub-network's start
      const g = m ? mul(e, raw, e.constant({ shape: q.shape, data: m })) : raw;
      const t = e.constant({ shape: q.shape, data: target.get(q.name)! });
      let term: Var | null;
      if (typeof distance === 'function') {
        term = distance(e, g, t.value);
      } else if (distance === 'cosine-whole') {
        const dot = sumAll(e, mul(e, g, t)), gg = sumAll(e, mul(e, g, g));
        dotAll = dotAll ? add(e, dotAll, dot) : dot;
        normAll = normAll ? add(e, normAll, gg) : gg;
        targetSq += targetNorms.get(q.name)! ** 2;
        return;
      } else if (distance === 'l2') {
        const d = add(e, g, scale(e, t, -1));
        term = sumAll(e, mul(e, d, d));
      } else {
        // 1 − cos(g, t) per tensor (Geiping et al.), with their guard:
        // ⟨g, t⟩/max(‖g‖·‖t‖, ε). A tensor whose gradient is zero up to rounding (a conv bias
        // before a batch norm in train mode) then contributes about 1 and almost no gradient,
        // instead of the cosine of two rounding errors.
        const tn = targetNorms.get(q.name)!;
        const gg = sumAll(e, mul(e, g, g));
        const dot = sumAll(e, mul(e, g, t));
        constant += 1;
        if (tn === 0 || gg.data[0] === 0) return;
        term = negativeCosine(e, dot, gg, tn);
      }
      total = total ? add(e, total, term) : term;
    });
    if (dotAll && normAll) {
      // 1 − ⟨G, G*⟩/max(‖G‖·‖G*‖, ε) over all tensors as one vector (Geiping et al.'s Eq. 4)
      const tn = Math.sqrt(targetSq);
      constant = 1;
      if (tn > 0 && (normAll as Var).data[0] > 0) total = negativeCosine(e, dotAll, normAll, tn);
    }
    if (!total) return { value: constant, grad: new Float64Array(x.length) };
    const [gx] = e.grad(total, [candidate]);
    // copied out of the pool, which reuses the tape's arrays in the next evaluation
    return { value: (total as Var).data[0] + constant, grad: gx ? gx.data.slice() : new Float64Array(x.length) };
  }
}

/**
 * −⟨g, t⟩/max(‖g‖·‖t‖, ε) from ⟨g, t⟩ and ‖g‖² on the tape and ‖t‖ (a constant): the cosine term of
 * both cosine distances, with PyTorch's guard against two near-zero norms.
 */
function negativeCosine(e: Engine, dot: Var, gg: Var, tn: number): Var {
  const cos = Math.sqrt(gg.data[0]) * tn < COSINE_EPS
    ? scale(e, dot, 1 / COSINE_EPS)
    : scale(e, mul(e, dot, unary(e, gg, 'rsqrt')), 1 / tn);
  return scale(e, cos, -1);
}

/**
 * The plain client step on the candidate: the mean cross-entropy gradients at the weights given,
 * recorded (createGraph) so the distance built on them can be differentiated back to the candidate.
 */
function plainStep(e: Engine, p: MatchingProblem): SimulatedStep {
  const trainable = p.graph.params.filter((q) => q.trainable);
  return (theta, batch) => {
    const start = p.from === undefined ? { x: batch.images } : { node: p.from, value: batch.images };
    const values = forwardGraph({ e, bnMode: p.bnMode }, p.graph, theta, start);
    const loss = crossEntropy(e, values[p.graph.output], batch.labels);
    const grads = e.grad(loss, trainable.map((q) => theta.get(q.name)!), { createGraph: true });
    const out = new Map<string, Var>();
    trainable.forEach((q, i) => { if (grads[i]) out.set(q.name, grads[i]!); });
    return out;
  };
}
