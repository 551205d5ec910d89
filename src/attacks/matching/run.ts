import { fail } from '../../core/errors.js';
import { adam, lbfgs, type Objective, type RunLimits, type RunResult } from '../../optim/optimisers.js';
import { totalVariation } from '../../optim/regularisers.js';
import { Rng } from '../../core/rng.js';
import { JS_KERNELS } from '../../kernels/js/index.js';
import type { ServerPayload, SharedUpdate } from '../../threat/payload.js';
import { box, recoverLabels } from '../labels.js';
import type { AttackOptions, AttackResult } from '../types.js';
import { checkUpdate } from '../update.js';
import { adaptiveReading } from '../adaptive.js';
import { crowdLabels } from '../crowd.js';
import { matchingObjective, type GradientDistance } from './objective.js';

/**
 * What the gradient-matching attacks share: the labels (given, or recovered from the update), a
 * seeded random start per restart, the objective (gradient distance + total variation over the
 * batch), progress, and the result. Each attack supplies its distance, optimiser and defaults.
 */
export interface MatchingAttackSpec {
  method: string;
  distance: GradientDistance;
  defaultIterations: number;
  defaultTv: number;
  optimise: (
    f: Objective, x0: Float64Array, limits: RunLimits, options: AttackOptions, box: readonly [number, number],
  ) => RunResult;
}

export const adamOptimiser = (defaultLr: number): MatchingAttackSpec['optimise'] =>
  (f, x0, limits, o, range) =>
    adam(f, x0, { lr: o.lr ?? defaultLr, decayAt: [3 / 8, 5 / 8, 7 / 8], box: range }, limits);

export const lbfgsOptimiser: MatchingAttackSpec['optimise'] = (f, x0, limits) => lbfgs(f, x0, limits);

export function runMatchingAttack(
  spec: MatchingAttackSpec, payload: ServerPayload, shared: SharedUpdate, options: AttackOptions,
): AttackResult {
  const g = payload.model;
  // naively, a defended update is the gradients it reads as (threat/payload.ts); adaptively, each
  // declared defence is simulated on the candidate (attacks/adaptive.ts)
  const update = checkUpdate(g, shared);
  const reading = options.adaptive ? adaptiveReading(shared) : null;
  const kernels = options.kernels ?? JS_KERNELS;
  const warnings: string[] = [
    ...options.matchingNote ? [options.matchingNote] : [], ...reading?.warnings ?? []];
  let labels: number[], inferred = false, ambiguous = false;
  // adaptively, a secure-aggregation sum is the crowd's: the candidate holds every client's batch
  const crowd = reading?.rules.reduce((k, r) => k * (r.crowd ?? 1), 1) ?? 1;
  if (crowd > 1) {
    const r = crowdLabels(kernels, payload, update, crowd, options.seed);
    ({ labels, inferred, ambiguous } = r);
    warnings.push(`secure aggregation: reconstructing all ${labels.length} images of the ${crowd} clients' `
      + 'sum; their labels inferred from it' + (r.ambiguous ? ` (ambiguous: ${r.reason})` : ''));
  } else if (update.labels) {
    labels = [...update.labels];
  } else {
    const r = recoverLabels(kernels, payload, update, options.seed);
    labels = r.labels;
    inferred = true;
    ambiguous = r.ambiguous;
    if (r.ambiguous) {
      warnings.push(`label inference is ambiguous: ${r.reason}; using ${labels.join(', ')} `
        + `(give --label if you know ${labels.length === 1 ? 'it' : 'them'})`);
    }
  }
  const B = update.batch * crowd;
  const [C, H, W] = g.input;
  const shape = [B, C, H, W];
  const range = box(payload);
  const tv = options.tv ?? spec.defaultTv;
  const match = matchingObjective({
    kernels: options.matchingKernels ?? kernels, graph: g, params: payload.params, bnMode: payload.bnMode,
    target: reading?.target ?? update.gradients, labels,
    distance: spec.distance, rules: reading?.rules,
  }, shape);
  const objective: Objective = (x) => {
    const m = match(x);
    if (tv === 0) return m;
    const r = totalVariation(x, [B * C, H, W]);
    for (let k = 0; k < x.length; k++) m.grad[k] += tv * r.grad[k];
    return { value: m.value + tv * r.value, grad: m.grad };
  };
  const iterations = options.iterations ?? spec.defaultIterations;
  const restarts = options.restarts ?? 1;
  if (!Number.isInteger(restarts) || restarts < 1) fail(
    `restarts must be a whole number of at least 1, got ${restarts}`);
  const every = Math.max(1, Math.floor(iterations / 200));
  const t0 = performance.now();
  let best: RunResult | null = null, total = 0;
  for (let r = 0; r < restarts; r++) {
    const elapsed = (performance.now() - t0) / 1000;
    if (options.budgetSeconds !== undefined && r > 0 && elapsed >= options.budgetSeconds) break;
    // start: seeded Gaussian noise at the scale of natural images (sd a quarter of the valid range)
    const rng = new Rng(options.seed + r);
    const mid = (range[0] + range[1]) / 2, sd = (range[1] - range[0]) / 4;
    const x0 = Float64Array.from({ length: B * C * H * W }, () => mid + sd * rng.normal());
    const run = spec.optimise(objective, x0, {
      iterations,
      budgetSeconds: options.budgetSeconds === undefined
        ? undefined
        : Math.max(0, options.budgetSeconds - elapsed),
      onStep: options.onProgress && ((step, value, x) => {
        if (step % every === 0 || step === iterations) {
          const label = restarts > 1 ? `restart ${r + 1}/${restarts} ` : '';
          options.onProgress!({
            step, total: iterations, message: `${label}loss ${value.toExponential(3)}`,
            loss: value, current: x,
          });
        }
      }),
    }, options, range);
    total += run.iterations;
    if (!best || run.bestValue < best.bestValue) best = run;
  }
  if (best!.stoppedBy === 'budget') warnings.push(
    `stopped by the ${options.budgetSeconds} s budget; the best iterate is returned`);
  return {
    method: spec.method, images: { shape, data: best!.best }, labels, labelsInferred: inferred,
    labelAmbiguous: ambiguous, layers: [], warnings,
    iterations: total, stoppedBy: best!.stoppedBy,
    msPerIteration: total ? (performance.now() - t0) / total : 0, trace: best!.trace,
  };
}
