import type { AttackOptions, AttackResult } from '../types.js';
import type { Kernels } from '../../kernels/kernels.js';
import { chainGradients, chainParams, chainView, type ChainView } from '../../model/chain.js';
import type { GradientUpdate, ServerPayload, SharedUpdate } from '../../threat/payload.js';
import { JS_KERNELS } from '../../kernels/js/index.js';
import { checkUpdate } from '../update.js';
import { closedFormReport, layerReport, type LayerReport } from '../../analysis/reports.js';
import type { Activation } from '../../model/chain-activations.js';
import { layerInputGrad } from './conv.js';
import { fail } from '../../core/errors.js';
import { attackLabel } from './label.js';
import { solveLayer, type LayerSolution, type SolveOptions } from '../../solve/layersolve.js';
import { checkSolvable } from '../../core/memory.js';
import { SolverCache } from '../../solve/solver-cache.js';
import { checkTensors, throughActivation, type Params } from '../../model/chain-tensors.js';
import type { ChainModel, LayerGeometry, PooledGeometry } from '../../model/chain-spec.js';
import { buildLayerSystem, cropPadding, type LayerSystem } from '../../solve/system.js';
import type { RunLimits, RunResult } from '../../optim/optimisers.js';
import { poolWindows, solvePooledLayer, unpool } from './pooled.js';
import { solveBlock } from './block.js';
import { ACTIVE } from './active.js';
import { layerwiseReading, type LayerwiseReading } from './adaptive.js';
import { filledLastDelta, lastLayerInput } from './closed-form.js';
import { priorMoments, withNoisePrior } from './noise-prior.js';
import type { ResidualBlock } from '../../model/blocks.js';

/**
 * What the layer-wise attacks work on: the chain view of the model (conv/linear layers with one
 * activation each) with per-layer parameters and gradients, and the graph-level payload and update
 * for refinements that match gradients (hybrid).
 */
export interface LayerwiseInput {
  model: ChainModel;
  params: Params;
  gradients: Params;
  label?: number;
  net: { payload: ServerPayload; update: GradientUpdate; view: ChainView; kernels: Kernels };
  /** With --adaptive on a defended update: what the declared defences' rules tell the recursion. */
  adaptive?: LayerwiseReading;
}

/**
 * The chain view of an attack's inputs, or one line saying why the layer-wise attacks cannot run.
 */
export function chainInput(
  method: string, payload: ServerPayload, shared: SharedUpdate, options: AttackOptions,
): LayerwiseInput {
  // a defended update is attacked naively: as the gradients it reads as (threat/payload.ts)
  const update = checkUpdate(payload.model, shared);
  if (update.batch !== 1) fail(`${method} reconstructs one image from its gradients; `
    + `this update is of a batch of ${update.batch} (ig and dlg attack batches)`);
  const view = chainView(payload.model, payload.bnMode);
  if ('reason' in view) fail(`${method} needs a chain of conv/linear layers, each with one activation `
    + `(eval batch norm, pooling and residual blocks included): ${view.reason} `
    + '(ig and dlg run on any graph)');
  const adaptive = options.adaptive ? layerwiseReading(method, shared, view, payload.params) : null;
  return {
    model: view.model, params: chainParams(view, payload.params),
    gradients: chainGradients(view, update.gradients, payload.params), label: update.labels?.[0],
    net: { payload, update, view, kernels: options.kernels ?? JS_KERNELS },
    ...(adaptive ? { adaptive } : {}),
  };
}

/** What the recursion returns, before it becomes an AttackResult. */
export interface LayerwiseResult {
  label: number;
  labelInferred: boolean;
  labelAmbiguous: boolean;
  /** The reconstructed input of the first layer, CHW. */
  image: Float64Array;
  layers: LayerReport[];
  warnings: string[];
}

export function toAttackResult(
  method: string, r: LayerwiseResult & Partial<AttackResult>, input: LayerwiseInput,
): AttackResult {
  const { image, label, labelInferred, ...rest } = r;
  return {
    ...rest, method, images: { shape: [1, ...input.net.payload.model.input], data: image },
    labels: [label], labelsInferred: labelInferred,
  };
}

/**
 * The backward, layer-by-layer recursion that the analytic attacks share: the last (linear) layer's
 * input in closed form, x = Σ_j db_j·dW_j / Σ_j db_j²; then for each earlier layer: invert the
 * activation of the layer above, pull dL/dz back through it, solve the layer's weight, gradient and
 * padding constraints in the minimum-norm least-squares sense, and (optionally) let `refine`
 * improve that solution before going down.
 */
export interface LayerContext {
  layer: number;
  system: LayerSystem;
  solution: LayerSolution;
  report: LayerReport;
  /** The least-squares estimate of this layer's (unpadded) input. */
  estimate: Float64Array;
  label: number;
  /** dL/dz of this layer, as pulled back from the layer above. */
  dz: Float64Array;
  /** The run's solver settings (tolerance, cache, memory ceiling), for refinements that solve too. */
  solve: SolveOptions;
}

/** Returns the layer's input to continue with (the estimate, or an improvement of it). */
export type Refine = (ctx: LayerContext) => Float64Array;

export function layerwise(
  method: string, input: LayerwiseInput, options: AttackOptions, refine?: Refine,
): LayerwiseResult {
  const { model, params, gradients } = input;
  checkTensors(model, gradients, 'gradients');
  checkSolvable(model);
  const L = model.layers.length;
  const last = model.layers[L - 1];
  if (last.type !== 'linear' || !last.bias) fail(`${method} needs a final linear layer with a bias `
    + '(its input comes from dL/dW and dL/db)');
  const warnings: string[] = [...input.adaptive?.warnings ?? []];
  const kept = input.adaptive?.kept ?? [];
  const solve: SolveOptions = {
    tol: options.tol, cache: options.solver ?? new SolverCache(), maxBytes: options.maxBytes,
  };
  const { label, inferred, ambiguous } = attackLabel(last, gradients[L - 1], input.label, warnings);
  if (!Number.isInteger(label) || label < 0 || label >= model.classes) fail(
    `label must be an integer in 0..${model.classes - 1}, got ${label}`);

  const lastKept = kept[L - 1] ?? null;
  let db = gradients[L - 1].bias!;
  if (db.every((v) => v === 0)) fail('the last layer\'s bias gradient is all zero: '
    + 'nothing to reconstruct from (was the loss already zero?)');
  const closed = lastLayerInput(db, gradients[L - 1].weight, last.outC, lastKept);
  let x: Float64Array = closed.x;
  if (closed.unknown > 0) warnings.push(`layer ${L - 1}: ${closed.unknown} of ${x.length} inputs have no `
    + 'surviving pair of bias and weight gradient entries; left to the layer below');
  // a pruned dL/dz of the last layer is refilled from the model's loss at x: every layer below uses it
  if (lastKept?.bias?.includes(0)) db = filledLastDelta(
    last, params[L - 1].weight, params[L - 1].bias!, x, label, db, lastKept.bias);
  const dzTop = db;
  // dL/d(output of the layer below), from the layer above: a function, since a block pulls back
  // through two paths
  let pullDown = () => layerInputGrad(input.net.kernels, last, params[L - 1].weight, dzTop);

  const reports: LayerReport[] = new Array(L);
  reports[L - 1] = closedFormReport(last, closed.unknown);
  for (let i = L - 2; i >= 0; i--) {
    const g = model.layers[i];
    options.onProgress?.({ step: L - 2 - i, total: L - 1, message: `layer ${i}` });
    if (!g.activation.invertible && !g.activation.partial) fail(`layer ${i}: activation ${g.activation.name} `
      + `is not invertible, ${method} cannot pass it`);
    // An exactly determined layer above must give values inside the activation's range; if not,
    // the gradients do not come from this model. A least-squares estimate may stray: clip it.
    // (Under noise read adaptively, nothing is exact: clip.)
    const determined = reports[i + 1].rankDeficiency === 0 && !reports[i + 1].estimated
      && !input.adaptive?.noiseStd;
    const invert = (a: Float64Array) => invertActivation(a, i, g.activation, determined, warnings);
    const step = g.block
      ? blockStep(input, { ...g, block: g.block }, x, pullDown(), invert, solve)
      : g.pool
        ? pooledStep(input, { ...g, pool: g.pool }, x, pullDown(), invert, solve)
        : plainStep(input, g, x, pullDown(), invert, solve);
    if (g.block && kept[i]) warnings.push(`layer ${i}: pruned entries inside a residual block `
      + 'are read naively (its gradient rows combine two layers)');
    const estimated = step.estimated.join('; ');
    for (const e of step.estimated) warnings.push(`layer ${i}: ${e} (an estimate: docs/METHOD.md §2)`);
    reports[i] = { ...layerReport(step.system, step.solution), ...(estimated ? { estimated } : {}) };
    x = step.x;
    if (refine) x = refine({
      layer: i, system: step.system, solution: step.solution, report: reports[i], estimate: x, label,
      dz: step.dz, solve,
    });
    pullDown = step.pullDown;
  }
  options.onProgress?.({ step: L - 1, total: L - 1, message: 'done' });
  return { label, labelInferred: inferred, labelAmbiguous: ambiguous, image: x, layers: reports, warnings };
}

/** One layer of the recursion solved: its system and input, and how to pull δ below it. */
interface Step {
  system: LayerSystem;
  solution: LayerSolution;
  /** The layer's input (unpadded). */
  x: Float64Array;
  /** dL/dz of the layer (a block: dL/d(add output)). */
  dz: Float64Array;
  pullDown: () => Float64Array;
  /** What was estimated rather than known, if anything. */
  estimated: string[];
}

type Invert = (a: Float64Array) => { z: Float64Array; known: Uint8Array | null };

function plainStep(
  input: LayerwiseInput, g: LayerGeometry, out: Float64Array, da: Float64Array, invert: Invert,
  solve: SolveOptions,
): Step {
  const i = g.index;
  const { z, known } = invert(out);
  const dz = throughActivation(g, da, z);
  const system = buildLayerSystem(g, {
    weight: input.params[i].weight, bias: input.params[i].bias, z, dz, dW: input.gradients[i].weight,
    ...(known ? { known } : {}), ...keptRows(input, i),
  });
  const solution = solveLayer(system, solve);
  // under noise of a known std the input is the most probable one, not the least-squares one
  // (its factors differ from the plain system's: not through the run's cache)
  const sigma = input.adaptive?.noiseStd ?? 0;
  const prior = sigma > 0 ? withNoisePrior(system, priorMoments(input, i, solution.x), sigma) : null;
  const x = prior ? solveLayer(prior, { ...solve, cache: undefined }).x : solution.x;
  return {
    system, solution, x: cropPadding(system, x), dz, estimated: [],
    pullDown: () => layerInputGrad(input.net.kernels, g, input.params[i].weight, dz),
  };
}

/** The gradient rows that are equations, when the adaptive reading dropped some (pruning). */
function keptRows(input: LayerwiseInput, i: number): { gradientMask?: Uint8Array } {
  const k = input.adaptive?.kept[i];
  return k ? { gradientMask: k.weight } : {};
}

const SPREAD: Record<PooledGeometry['pool']['kind'], string> = {
  max: 'max pooling hides its winners: each window spread over its positions',
  avg: 'mean pooling of an activation gives each window\'s mean only: spread over its positions',
};

function pooledStep(
  input: LayerwiseInput, g: PooledGeometry, pooled: Float64Array,
  dPooled: Float64Array, invert: Invert, solve: SolveOptions,
): Step {
  const i = g.index;
  const r = solvePooledLayer({
    g, tensors: input.params[i], dW: input.gradients[i].weight, pooled, dPooled, solve, invert,
    ...keptRows(input, i),
  });
  return {
    system: r.system, solution: r.solution, x: cropPadding(r.system, r.solution.x), dz: r.dz,
    estimated: r.estimated ? [SPREAD[g.pool.kind]] : [],
    pullDown: () => layerInputGrad(input.net.kernels, g, input.params[i].weight, r.dz),
  };
}

function blockStep(
  input: LayerwiseInput, g: LayerGeometry & { block: ResidualBlock }, out: Float64Array, dOut: Float64Array,
  invert: Invert, solve: SolveOptions,
): Step {
  const estimated: string[] = [];
  let a = out, da = dOut;
  if (g.pool) {
    const size = g.outC * g.outH * g.outW;
    ({ a, da } = unpool(poolWindows(g.pool), size, out, dOut));
    estimated.push(SPREAD[g.pool.kind]);
  }
  const { z, known } = invert(a);
  const dAdd = throughActivation(g, da, z);
  const { payload, update, kernels } = input.net;
  const r = solveBlock({
    kernels, block: g.block, index: g.index, params: payload.params, gradients: update.gradients, z, known,
    dAdd, solve,
  });
  estimated.push(`the active set of "${g.block.relu.name}" inside the block is estimated (`
    + `${r.changed} units changed in its second pass)`);
  return { system: r.system, solution: r.solution, x: r.x, dz: dAdd, pullDown: r.inputGrad, estimated };
}

// Values this close to the edge of an activation's range are clipped to it before inverting.
const EDGE = 1e-6;

function invertActivation(
  a: Float64Array, layer: number, act: Activation, strict: boolean, warnings: string[],
): { z: Float64Array; known: Uint8Array | null } {
  if (act.partial) return activeSet(a, layer, act, strict, warnings);
  const [lo, hi] = act.range;
  const loIn = Number.isFinite(lo) ? lo + EDGE * Math.max(1, Math.abs(lo)) : lo;
  const hiIn = Number.isFinite(hi) ? hi - EDGE * Math.max(1, Math.abs(hi)) : hi;
  let clipped = 0;
  const z = new Float64Array(a.length);
  const known = undetermined(a);
  for (let k = 0; k < a.length; k++) {
    let v = a[k];
    if (known && !known[k]) continue;
    if (!Number.isFinite(v)) fail(`layer ${layer}: reconstructed activation is not finite; `
      + 'the gradients are inconsistent with the model');
    if (strict && (v < lo || v > hi)) {
      fail(`layer ${layer}: the gradients imply a ${act.name} output of ${v} at index ${k}, `
        + `outside its range (${lo}, ${hi}); `
        + 'they do not come from this model and weights');
    }
    if (v <= loIn) { v = loIn; clipped++; }
    if (v >= hiIn) { v = hiIn; clipped++; }
    z[k] = act.inverse(v);
  }
  if (clipped > 0) {
    warnings.push(`layer ${layer}: ${clipped} of ${a.length} reconstructed ${act.name} outputs `
      + 'were outside its invertible range '
      + `(${lo}, ${hi}) and were clipped`);
  }
  return { z, known };
}

/**
 * Outputs the layer above left undetermined (NaN: the closed form with every pair pruned) are not
 * equations here: 0 where a[k] is NaN, 1 elsewhere; null when there are none.
 */
function undetermined(a: Float64Array): Uint8Array | null {
  return a.some(Number.isNaN) ? Uint8Array.from(a, (v) => (Number.isNaN(v) ? 0 : 1)) : null;
}

// Outputs at most ACTIVE (active.ts) of the layer's largest are inactive; strict mode refuses outputs
// below −NEGATIVE·max as impossible.
const NEGATIVE = 1e-6;

/**
 * ReLU's active set, as the attacker sees it: outputs above zero are active, their pre-activation is
 * the output; the others are inactive, with pre-activation unknown (≤ 0) and zero derivative. From an
 * exactly determined layer above this is the true active set; from an estimate it is a guess.
 */
function activeSet(
  a: Float64Array, layer: number, act: Activation, strict: boolean, warnings: string[],
): { z: Float64Array; known: Uint8Array } {
  let max = 0;
  for (const v of a) {
    if (Number.isNaN(v)) continue;
    if (!Number.isFinite(v)) fail(`layer ${layer}: reconstructed activation is not finite; `
      + 'the gradients are inconsistent with the model');
    max = Math.max(max, Math.abs(v));
  }
  const thr = ACTIVE * max;
  const z = new Float64Array(a.length), known = new Uint8Array(a.length);
  let negative = 0;
  for (let k = 0; k < a.length; k++) {
    if (a[k] < -NEGATIVE * max) {
      if (strict) fail(`layer ${layer}: the gradients imply a ${act.name} output of ${a[k]} `
        + `at index ${k}, below zero; they do not come from this model and weights`);
      negative++;
    }
    if (a[k] > thr) { z[k] = a[k]; known[k] = 1; }
  }
  if (negative > 0) warnings.push(`layer ${layer}: ${negative} of ${a.length} reconstructed ${act.name} `
    + 'outputs were negative and were taken as inactive');
  return { z, known };
}

/**
 * An attack's default settings with the run's `--iterations` and `--lr`, where given, in their place.
 */
export function withRunOptions<T extends { iterations: number; lr: number }>(
  defaults: T, options: AttackOptions,
): T {
  return {
    ...defaults, iterations: options.iterations ?? defaults.iterations, lr: options.lr ?? defaults.lr,
  };
}

/** Optimises one layer's input from its least-squares estimate. */
export type OptimiseLayer = (ctx: LayerContext, aboveExact: boolean, limits: RunLimits) => RunResult;

/**
 * The refinement loop hybrid and copa share: layers whose input and everything above it are exactly
 * determined keep their least-squares solution; every other layer is optimised from it, the image
 * layer with `iterations` steps and deeper ones with a fifth, within the overall wall-clock budget.
 * `optimise` receives whether every layer above is exact (hybrid trusts its residual term only then).
 */
export function refineUndetermined(
  method: string, input: LayerwiseInput, options: AttackOptions, iterations: number,
  optimise: OptimiseLayer,
): AttackResult {
  let exactSoFar = true;
  let total = 0;
  const trace: number[] = [];
  const t0 = performance.now();
  let stoppedBy: AttackResult['stoppedBy'] = 'iterations';
  const run = layerwise(method, input, options, (ctx) => {
    const aboveExact = exactSoFar;
    exactSoFar &&= ctx.report.rankDeficiency === 0 && !ctx.report.estimated;
    if (exactSoFar) return ctx.estimate;
    const steps = ctx.layer === 0 ? iterations : Math.max(1, Math.round(iterations / 5));
    const budget = options.budgetSeconds === undefined
      ? undefined
      : Math.max(0, options.budgetSeconds - (performance.now() - t0) / 1000);
    const r = optimise(ctx, aboveExact, {
      iterations: steps, budgetSeconds: budget,
      onStep: options.onProgress && ((step, value, x) => {
        if (step % 50 === 0) options.onProgress!({
          step, total: steps, message: `layer ${ctx.layer} loss ${value.toExponential(3)}`, loss: value,
          ...(ctx.layer === 0 ? { current: x } : {}),
        });
      }),
    });
    total += r.iterations;
    trace.push(...r.trace);
    if (r.stoppedBy === 'budget') stoppedBy = 'budget';
    return r.best;
  });
  return toAttackResult(method, {
    ...run, iterations: total, stoppedBy, msPerIteration: total ? (performance.now() - t0) / total : 0, trace,
  }, input);
}

/** The valid output range of layer i's activation, shrunk a little so it stays invertible. */
export function activationBox(input: LayerwiseInput, i: number): readonly [number, number] | undefined {
  const act = input.model.layers[i].activation;
  const [lo, hi] = act.range;
  if (!Number.isFinite(lo) && !Number.isFinite(hi)) return undefined;
  // ReLU is inverted where positive and zero is a valid (inactive) value: no shrinking
  const e = act.partial ? 0 : 1e-6;
  return [Number.isFinite(lo) ? lo + e : -1e300, Number.isFinite(hi) ? hi - e : 1e300];
}
