import type { SolveSettings } from '../attacks/types.js';
import { Engine } from '../autodiff/engine.js';
import { crossEntropy } from '../autodiff/prims/softmax.js';
import { JS_KERNELS } from '../kernels/js/index.js';
import type { Kernels } from '../kernels/kernels.js';
import { chainView, type ChainView } from '../model/chain.js';
import { paramVars } from '../model/gradients.js';
import { forwardGraph } from '../model/graph.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkBatch } from '../threat/client.js';
import type { ServerPayload, SharedUpdate } from '../threat/payload.js';
import { closedFormReport, copaIndex, layerReport, normalisedIndex, structuralIndex, type LayerReport } from './analysis.js';
import { rgap } from './attacks/rgap.js';
import { fail } from './errors.js';
import { solveLayer, DEFAULT_RANK_TOL } from './layersolve.js';
import { checkSolvable } from './memory.js';
import { SolverCache } from './solver-cache.js';
import { buildLayerSystem } from './system.js';

/**
 * The per-layer audit: each layer's linear system (weight, gradient and padding constraints), its
 * numerical and count-based rank, condition, and the security index. It works on the chain view of
 * the model (model/chain.ts); on a graph without one it names the node and the reason.
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

/** The chain view the audit works on, or one line naming what it cannot analyse yet. */
function viewOf(payload: ServerPayload): ChainView {
  const v = chainView(payload.model);
  if ('reason' in v) fail(`the layer-wise audit needs a chain of conv/linear layers with one activation each: ${v.reason}`);
  return v;
}

export function audit(payload: ServerPayload, source: AuditSource, settings: AuditSettings = {}): AuditResult {
  const view = viewOf(payload);
  const model = view.model;
  checkSolvable(model);
  const tol = settings.tol ?? DEFAULT_RANK_TOL;
  const solve = { tol, cache: settings.solver ?? new SolverCache(), maxBytes: settings.maxBytes };
  let layers: LayerReport[];
  let label: number, labelInferred = false, labelAmbiguous = false;
  let warnings: string[] = [];
  if (source.kind === 'gradients') {
    const r = rgap.run(payload, source.update, { seed: 0, tol, solver: solve.cache, maxBytes: solve.maxBytes, kernels: settings.kernels });
    layers = r.layers;
    label = r.labels[0];
    labelInferred = r.labelsInferred;
    labelAmbiguous = r.labelAmbiguous;
    warnings = r.warnings;
  } else {
    label = source.label;
    const truth = trueSystems(settings.kernels ?? JS_KERNELS, payload, view, source.image, label);
    const L = model.layers.length;
    layers = model.layers.map((g, i) => {
      if (i === L - 1 && g.type === 'linear') return closedFormReport(g);
      const sys = buildLayerSystem(g, { weight: truth.params[i].weight, bias: truth.params[i].bias, z: truth.z[i], dz: truth.dz[i], dW: truth.dW[i] });
      return layerReport(sys, solveLayer(sys, { ...solve, rankOnly: true }));
    });
  }
  return {
    model: model.spec.name, label, labelInferred, labelAmbiguous, warnings, layers,
    copaIndex: copaIndex(layers), normalisedIndex: normalisedIndex(layers), structuralIndex: structuralIndex(layers),
    flaggedLayers: layers.filter((l) => l.rankDiffersFromStructural).map((l) => l.index),
  };
}

/** Per layer of the chain: pre-activation z, its dL/dz and dL/dW, from a forward and backward pass on the image. */
function trueSystems(kernels: Kernels, payload: ServerPayload, view: ChainView, image: Tensor, label: number) {
  const g = payload.model;
  checkBatch(g, image, [label]);
  if (image.shape[0] !== 1) fail(`the audit's what-if takes one image, got ${image.shape[0]}`);
  const e = new Engine(kernels);
  const vars = paramVars(e, g, payload.params, true);
  const values = forwardGraph({ e, bnMode: payload.bnMode }, g, vars, { x: e.constant(image) });
  const loss = crossEntropy(e, values[g.output], [label]);
  const nodes = view.nodes.map((name) => g.nodes.findIndex((n) => n.name === name));
  const weights = view.nodes.map((name) => vars.get(`${name}.weight`)!);
  const grads = e.grad(loss, [...nodes.map((k) => values[k]), ...weights]);
  const L = nodes.length;
  return {
    params: view.nodes.map((name) => ({ weight: payload.params.get(`${name}.weight`)!, bias: payload.params.get(`${name}.bias`) ?? null })),
    z: nodes.map((k) => values[k].data),
    dz: grads.slice(0, L).map((v) => v!.data),
    dW: grads.slice(L).map((v) => v!.data),
  };
}
