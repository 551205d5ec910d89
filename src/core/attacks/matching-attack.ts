import { checkLabel } from '../client.js';
import { checkTensors } from '../network.js';
import { attackLabel } from '../label.js';
import { matchingLoss, type GradientDistance } from '../matching.js';
import type { Objective, RunLimits, RunResult } from '../optim.js';
import { totalVariation } from '../regularisers.js';
import { Rng } from '../rng.js';
import type { AttackInput, AttackOptions, AttackResult } from './types.js';

/**
 * What the gradient-matching attacks share: label, seeded random start, objective (gradient
 * distance + TV), progress reporting and the result. Each attack supplies its distance, optimiser
 * and defaults.
 */
export interface MatchingAttackSpec {
  method: string;
  distance: GradientDistance;
  defaultIterations: number;
  defaultTv: number;
  optimise: (f: Objective, x0: Float64Array, limits: RunLimits, options: AttackOptions) => RunResult;
}

export function runMatchingAttack(spec: MatchingAttackSpec, input: AttackInput, options: AttackOptions): AttackResult {
  const { model, params, gradients } = input;
  checkTensors(model, gradients, 'gradients');
  const warnings: string[] = [];
  const { label, inferred, ambiguous } = attackLabel(model.layers[model.layers.length - 1],
    gradients[gradients.length - 1], input.label, warnings);
  checkLabel(model, label);
  const shape = model.spec.input;
  // Start: seeded Gaussian noise at the scale of natural images (std 1/4 of the valid range).
  const rng = new Rng(options.seed);
  const [lo, hi] = options.box ?? [-0.5, 0.5];
  const mid = (lo + hi) / 2, sd = (hi - lo) / 4;
  const x0 = Float64Array.from({ length: shape[0] * shape[1] * shape[2] }, () => mid + sd * rng.normal());
  const tv = options.tv ?? spec.defaultTv;
  const problem = { model, params, target: gradients, label, distance: spec.distance };
  const objective: Objective = (x) => {
    const m = matchingLoss(problem, x);
    if (tv === 0) return m;
    const r = totalVariation(x, shape);
    for (let k = 0; k < x.length; k++) m.grad[k] += tv * r.grad[k];
    return { value: m.value + tv * r.value, grad: m.grad };
  };
  const iterations = options.iterations ?? spec.defaultIterations;
  const every = Math.max(1, Math.floor(iterations / 200));
  const run = spec.optimise(objective, x0, {
    iterations,
    budgetSeconds: options.budgetSeconds,
    onStep: options.onProgress && ((step, value, x) => {
      if (step % every === 0 || step === iterations) options.onProgress!({ step, total: iterations, message: `loss ${value.toExponential(3)}`, loss: value, current: x });
    }),
  }, options);
  if (run.stoppedBy === 'budget') warnings.push(`stopped by the ${options.budgetSeconds} s budget after ${run.iterations} of ${iterations} iterations; the best iterate is returned`);
  return {
    method: spec.method, label, labelInferred: inferred, labelAmbiguous: ambiguous, image: run.best,
    layers: [], warnings,
    iterations: run.iterations, stoppedBy: run.stoppedBy, msPerIteration: run.msPerIteration, trace: run.trace,
  };
}
