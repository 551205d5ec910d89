import type { SolveSettings } from '../attacks/types.js';
import { JS_KERNELS } from '../kernels/js/index.js';
import type { Kernels } from '../kernels/kernels.js';
import { chainView } from '../model/chain.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ServerPayload, SharedUpdate } from '../threat/payload.js';
import { copaIndex, normalisedIndex, structuralIndex, type LayerReport } from './reports.js';
import { rgap } from '../attacks/layerwise/rgap.js';
import { fail } from '../core/errors.js';
import { DEFAULT_RANK_TOL, type SolveOptions } from '../solve/layersolve.js';
import { checkSolvable } from '../core/memory.js';
import { SolverCache } from '../solve/solver-cache.js';
import { layerGeometries, whatIfLayers, whatIfReports } from './whatif.js';
import { solveOnWorkers, type LayerThreads } from './layer-jobs.js';
import type { Graph } from '../model/graph.js';

/**
 * The per-layer audit: each layer's linear system (weight, gradient and padding constraints), its
 * numerical and count-based rank, condition, and the security index. The what-if (a known image)
 * works on any graph (analysis/whatif.ts) and names each layer it has no system for; the attacker's view
 * runs rgap, on graphs with a chain view (model/chain.ts).
 */
export type AuditSource =
  /** A known image (the model owner's what-if): the true activations and dL/dz. */
  | { kind: 'image'; image: Tensor; label: number }
  /** A shared update only (the attacker's view): values come from the rgap recursion. */
  | { kind: 'gradients'; update: SharedUpdate };

export interface AuditResult {
  model: string;
  /** The label the audited gradients were computed with (given, or inferred from them). */
  label: number;
  labelInferred: boolean;
  /** The inferred label is a guess: the gradients did not single out one class. */
  labelAmbiguous: boolean;
  /** Notes the user should see (an ambiguous label, clipped activations). */
  warnings: string[];
  layers: LayerReport[];
  /** The authors' security index (more negative: more of the input is undetermined). */
  copaIndex: number;
  /** Same weights on the fraction of each layer's unknowns left undetermined. */
  normalisedIndex: number;
  /** The authors' index from count-based ranks. */
  structuralIndex: number;
  /** Layers whose numerical rank differs from the count-based rank. */
  flaggedLayers: number[];
}

export interface AuditSettings extends Partial<SolveSettings> {
  kernels?: Kernels;
}

export function audit(
  payload: ServerPayload, source: AuditSource, settings: AuditSettings = {},
): AuditResult {
  const solve = solveOptions(payload, settings);
  if (source.kind === 'gradients') return attackersView(payload, source.update, settings, solve);
  const kernels = settings.kernels ?? JS_KERNELS;
  return whatIfResult(payload.model, source.label,
    whatIfReports(kernels, payload, source.image, source.label, solve));
}

/**
 * The same audit with the what-if's layer systems solved side by side on worker threads (the
 * attacker's view is one recursion, solved in turn): the same result whatever the thread count.
 */
export async function auditOnWorkers(
  payload: ServerPayload, source: AuditSource, threads: LayerThreads, settings: AuditSettings = {},
): Promise<AuditResult> {
  if (source.kind === 'gradients') return audit(payload, source, settings);
  const solve = solveOptions(payload, settings);
  // started first, so that they load while the forward pass runs; at most one per layer system
  const count = Math.min(threads.threads, Math.max(1, layerGeometries(payload.model).length));
  const workers = Array.from({ length: count }, () => threads.spawn());
  try {
    const layers = whatIfLayers(settings.kernels ?? JS_KERNELS, payload, source.image, source.label);
    const pending = layers.flatMap((l) => ('report' in l ? [] : [l]));
    const reports = await solveOnWorkers(pending, { tol: solve.tol, maxBytes: solve.maxBytes }, workers);
    return whatIfResult(payload.model, source.label,
      layers.map((l) => ('report' in l ? l.report : reports[pending.indexOf(l)])));
  } finally {
    for (const w of workers) w.terminate();
  }
}

/** The solves' settings; the model is refused first if its systems could not be addressed. */
function solveOptions(payload: ServerPayload, settings: AuditSettings): SolveOptions {
  checkSolvable({ layers: layerGeometries(payload.model) });
  const tol = settings.tol ?? DEFAULT_RANK_TOL;
  return { tol, cache: settings.solver ?? new SolverCache(), maxBytes: settings.maxBytes };
}

function attackersView(
  payload: ServerPayload, update: SharedUpdate, settings: AuditSettings, solve: SolveOptions,
): AuditResult {
  const v = chainView(payload.model, payload.bnMode);
  if ('reason' in v) fail('the attacker\'s-view audit runs rgap, which needs a chain of conv/linear '
    + 'layers, each with one activation (eval batch norm, pooling and residual blocks included): '
    + v.reason);
  const r = rgap.run(payload, update, {
    seed: 0, tol: solve.tol, solver: solve.cache, maxBytes: solve.maxBytes, kernels: settings.kernels,
  });
  return auditResult(payload.model, {
    label: r.labels[0], labelInferred: r.labelsInferred, labelAmbiguous: r.labelAmbiguous,
    warnings: r.warnings,
  }, r.layers);
}

function whatIfResult(model: Graph, label: number, layers: LayerReport[]): AuditResult {
  const warnings = layers.filter((l) => l.noRule && l.partOf === undefined).map((l) =>
    `layer ${l.index} has no layer system (left out of the indices): ${l.noRule}`);
  return auditResult(model, { label, labelInferred: false, labelAmbiguous: false, warnings }, layers);
}

type AuditLabel = Pick<AuditResult, 'label' | 'labelInferred' | 'labelAmbiguous' | 'warnings'>;

function auditResult(model: Graph, found: AuditLabel, layers: LayerReport[]): AuditResult {
  return {
    model: model.name, ...found, layers,
    copaIndex: copaIndex(layers), normalisedIndex: normalisedIndex(layers),
    structuralIndex: structuralIndex(layers),
    flaggedLayers: layers.filter((l) => l.rankDiffersFromStructural).map((l) => l.index),
  };
}
