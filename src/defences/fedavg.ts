import type { Var } from '../autodiff/engine.js';
import { add, scale } from '../autodiff/prims/arith.js';
import type { ParamMap } from '../model/graph.js';
import type { SimulatedStep } from './adaptive.js';
import type { ClientOutput, Defence } from './types.js';
import { num } from './types.js';

/**
 * FedAvg local training: the client takes E plain SGD steps of rate η on its batch, each on the update
 * the step beneath computes at the current weights (so defences listed before fedavg act on every
 * local step: per-example clipping and noise make it DP-SGD), and shares θ_E − θ0. The delta is
 * accumulated as such, Δ ← Δ − η·g, with θ = θ0 + Δ, so one step shares exactly −η·g.
 */
export const fedavg: Defence = {
  name: 'fedavg',
  description: 'FedAvg: E local SGD steps of rate η on the batch; the client shares θ_E − θ0',
  options: [
    { name: 'steps', kind: 'int', min: 1, max: 1e6, help: 'local SGD steps E' },
    { name: 'lr', kind: 'number', min: 0, aboveMin: true, max: 1e3, default: 0.1, help: 'learning rate η' },
  ],
  once: true,
  strength: { option: 'steps', stronger: 'higher' },
  wrap: (inner, p) => (params, batch) => {
    const steps = num(p, 'steps'), lr = num(p, 'lr');
    let delta: Map<string, Float64Array> | undefined, first: ClientOutput | undefined;
    for (let t = 0; t < steps; t++) {
      const at: ParamMap = delta === undefined ? params : moved(params, delta);
      const out = inner(at, batch);
      first ??= out;
      delta ??= new Map([...out.tensors].map(([k, v]) => [k, new Float64Array(v.length)]));
      for (const [k, d] of delta) {
        const g = out.tensors.get(k)!;
        for (let i = 0; i < d.length; i++) d[i] -= lr * g[i];
      }
    }
    return { tensors: delta!, form: { kind: 'delta', steps, lr }, loss: first!.loss };
  },
  // the client's E steps unrolled on the candidate and differentiated through (a multi-step attack)
  adapt: (p) => ({
    simulate: (inner, e): SimulatedStep => (theta, batch) => {
      const steps = num(p, 'steps'), lr = num(p, 'lr');
      let delta = new Map<string, Var>();
      for (let t = 0; t < steps; t++) {
        const at = t === 0 ? theta : new Map([...theta].map(([k, w]) => {
          const d = delta.get(k);
          return [k, d ? add(e, w, d) : w];
        }));
        const next = new Map(delta);
        for (const [k, v] of inner(at, batch)) {
          const d = delta.get(k), step = scale(e, v, -lr);
          next.set(k, d ? add(e, d, step) : step);
        }
        delta = next;
      }
      return delta;
    },
  }),
};

/** θ0 + Δ for the trained tensors; buffers (batch-norm statistics) as they were. */
function moved(params: ParamMap, delta: ReadonlyMap<string, Float64Array>): ParamMap {
  return new Map([...params].map(([k, w]) => {
    const d = delta.get(k);
    return [k, d ? w.map((x, i) => x + d[i]) : w];
  }));
}
