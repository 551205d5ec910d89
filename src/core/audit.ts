import { closedFormReport, copaIndex, layerReport, normalisedIndex, structuralIndex, type LayerReport } from './analysis.js';
import { rgap } from './attacks/rgap.js';
import { checkImage, checkLabel } from './client.js';
import type { SolveSettings } from './attacks/types.js';
import { solveLayer, DEFAULT_RANK_TOL } from './layersolve.js';
import { checkSolvable } from './memory.js';
import { SolverCache } from './solver-cache.js';
import { backward, forward, type Params } from './network.js';
import type { Model } from './spec.js';
import { buildLayerSystem } from './system.js';

/** Where the per-layer systems' right-hand sides come from. */
export type AuditSource =
  /** A known image (the model owner's what-if): the true activations and dL/dz. */
  | { kind: 'image'; image: Float64Array; label: number }
  /** Shared gradients only (the attacker's view): values come from the rgap recursion. */
  | { kind: 'gradients'; gradients: Params; label?: number };

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

export function audit(
  model: Model, params: Params, source: AuditSource,
  settings: Partial<SolveSettings> = {},
): AuditResult {
  checkSolvable(model);
  const tol = settings.tol ?? DEFAULT_RANK_TOL;
  const solve = { tol, cache: settings.solver ?? new SolverCache(), maxBytes: settings.maxBytes };
  let layers: LayerReport[];
  let label: number, labelInferred = false, labelAmbiguous = false;
  let warnings: string[] = [];
  if (source.kind === 'gradients') {
    const r = rgap.run({ model, params, gradients: source.gradients, label: source.label },
      { seed: 0, tol, solver: solve.cache, maxBytes: solve.maxBytes });
    layers = r.layers;
    label = r.label;
    labelInferred = r.labelInferred;
    labelAmbiguous = r.labelAmbiguous;
    warnings = r.warnings;
  } else {
    label = source.label;
    checkImage(model, source.image);
    checkLabel(model, source.label);
    const trace = forward(model, params, source.image);
    const back = backward(model, params, trace, source.label);
    const L = model.layers.length;
    layers = model.layers.map((g, i) => {
      if (i === L - 1 && g.type === 'linear') return closedFormReport(g);
      const sys = buildLayerSystem(g, { weight: params[i].weight, bias: params[i].bias, z: trace.pre[i], dz: back.dz[i], dW: back.grads[i].weight });
      return layerReport(sys, solveLayer(sys, { ...solve, rankOnly: true }));
    });
  }
  return {
    model: model.spec.name,
    label,
    labelInferred,
    labelAmbiguous,
    warnings,
    layers,
    copaIndex: copaIndex(layers),
    normalisedIndex: normalisedIndex(layers),
    structuralIndex: structuralIndex(layers),
    flaggedLayers: layers.filter((l) => l.rankDiffersFromStructural).map((l) => l.index),
  };
}
