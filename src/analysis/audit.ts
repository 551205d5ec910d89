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
import { layerGeometries, whatIfLayers, type WhatIfLayer } from './whatif.js';
import { solveLayerJob, solveOnWorkers, type LayerThreads } from './layer-jobs.js';
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
  const { solve, layers } = auditLayers(payload, source, settings);
  const solved = layers.kind === 'done'
    ? layers.layers : layers.layers.map((l) => ('report' in l ? l.report : solveLayerJob(l, solve)));
  return auditResult(payload.model, layers, solved);
}

/**
 * The same audit with the what-if's layer systems solved side by side on worker threads (the
 * attacker's view is one recursion, solved in turn): the same result whatever the thread count.
 */
export async function auditOnWorkers(
  payload: ServerPayload, source: AuditSource, threads: LayerThreads, settings: AuditSettings = {},
): Promise<AuditResult> {
  const { solve, layers } = auditLayers(payload, source, settings);
  if (layers.kind === 'done') return auditResult(payload.model, layers, layers.layers);
  const jobs = layers.layers.flatMap((l) => ('report' in l ? [] : [l]));
  const reports = await solveOnWorkers(jobs, { tol: solve.tol, maxBytes: solve.maxBytes }, threads);
  const solved = layers.layers.map((l) => ('report' in l ? l.report : reports[jobs.indexOf(l)]));
  return auditResult(payload.model, layers, solved);
}

interface AuditLabel {
  label: number;
  labelInferred: boolean;
  labelAmbiguous: boolean;
  warnings: string[];
}

/** The layers before their solves: rgap's reports (attacker's view), or the what-if's layers. */
type AuditLayers = AuditLabel & (
  | { kind: 'done'; layers: LayerReport[] }
  | { kind: 'what-if'; layers: WhatIfLayer[] });

function auditLayers(
  payload: ServerPayload, source: AuditSource, settings: AuditSettings,
): { solve: SolveOptions; layers: AuditLayers } {
  const g = payload.model;
  checkSolvable({ layers: layerGeometries(g) });
  const tol = settings.tol ?? DEFAULT_RANK_TOL;
  const solve = { tol, cache: settings.solver ?? new SolverCache(), maxBytes: settings.maxBytes };
  if (source.kind === 'image') {
    const layers = whatIfLayers(settings.kernels ?? JS_KERNELS, payload, source.image, source.label);
    const label = { label: source.label, labelInferred: false, labelAmbiguous: false, warnings: [] };
    return { solve, layers: { kind: 'what-if', layers, ...label } };
  }
  const v = chainView(g, payload.bnMode);
  if ('reason' in v) fail('the attacker\'s-view audit runs rgap, which needs a chain of conv/linear '
    + 'layers, each with one activation (eval batch norm, pooling and residual blocks included): '
    + v.reason);
  const r = rgap.run(payload, source.update, {
    seed: 0, tol, solver: solve.cache, maxBytes: solve.maxBytes, kernels: settings.kernels,
  });
  return {
    solve,
    layers: {
      kind: 'done', layers: r.layers, label: r.labels[0], labelInferred: r.labelsInferred,
      labelAmbiguous: r.labelAmbiguous, warnings: r.warnings,
    },
  };
}

function auditResult(model: Graph, found: AuditLabel & { kind: string }, layers: LayerReport[]): AuditResult {
  const { label, labelInferred, labelAmbiguous } = found;
  const warnings = [...found.warnings];
  if (found.kind === 'what-if') {
    for (const l of layers) if (l.noRule && l.partOf === undefined) warnings.push(
      `layer ${l.index} has no layer system (left out of the indices): ${l.noRule}`);
  }
  return {
    model: model.name, label, labelInferred, labelAmbiguous, warnings, layers,
    copaIndex: copaIndex(layers), normalisedIndex: normalisedIndex(layers),
    structuralIndex: structuralIndex(layers),
    flaggedLayers: layers.filter((l) => l.rankDiffersFromStructural).map((l) => l.index),
  };
}
