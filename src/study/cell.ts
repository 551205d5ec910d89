import { getAttack } from '../attacks/registry.js';
import { audit } from '../analysis/audit.js';
import { fail } from '../core/errors.js';
import { batchQuality, quality, type Quality } from '../metrics/quality.js';
import { SolverCache } from '../solve/solver-cache.js';
import { REFERENCE_NORMALISATION, toUnitRange } from '../formats/image.js';
import { JS_KERNELS } from '../kernels/js/index.js';
import { matchingKernels, type MatchingKernels, type Precision } from '../kernels/select.js';
import { buildGraph, type Graph, type GraphSpec, type ParamMap } from '../model/graph.js';
import { initParams } from '../model/params.js';
import { presetGraph } from '../model/presets.js';
import { simulateClient } from '../threat/client.js';
import type { ServerPayload, SharedUpdate } from '../threat/payload.js';
import type { Attack, AttackOptions } from '../attacks/types.js';
import {
  estimate, largestOf, parameterBytes, passBytes, solveBytes, type MemoryEstimate,
} from '../core/memory.js';
import { chainOrNull } from '../model/chain.js';
import type { Tensor } from '../tensor/tensor.js';
import type { BnMode } from '../ops/op.js';

/**
 * What a cell of `study` or `defend` starts from: a model (a preset by name, or a graph) with its
 * weights, and the client's image. Plain data, so it can cross to a worker.
 */
export interface ClientCell {
  key: string;
  /** A preset's name, or the label of a model file (its name). */
  model: string;
  /** A model file's graph, which the cell builds instead of looking `model` up as a preset. */
  spec?: GraphSpec;
  /** Weights to start from (a --weights file, an ONNX file's initializers); default: seeded. */
  weights?: ParamMap;
  image: string;
  /** The image as the model's input (reference normalisation), CHW. */
  input: Float64Array;
  label: number;
  iterations?: number;
  seed: number;
  /** Memory ceiling per cell, in bytes. */
  maxBytes?: number;
  /** Arithmetic of the attacks' gradient matching (default: float64). */
  precision?: Precision;
  /** Batch norm of the client's pass (default train: a client computes its update while training). */
  bnMode?: BnMode;
}

/** One cell of a study: an architecture and an image, attacked by every method. */
export interface StudyCell extends ClientCell {
  methods: string[];
}

export interface StudyRow {
  key: string;
  model: string;
  image: string;
  label: number;
  layers: number;
  copaIndex: number;
  normalisedIndex: number;
  structuralIndex: number;
  rankDeficiency: number[];
  structuralDeficiency: number[];
  condition: number[];
  flaggedLayers: number[];
  auditSeconds: number;
  methods: Record<string, { psnr: number; psnrClipped: number; ssim: number; mse: number; seconds: number }>;
}

export interface CellResult {
  row: StudyRow;
  /** Each method's reconstruction in [0, 1] (CHW), for the study's image grid. */
  reconstructions: Record<string, Float64Array>;
}

/**
 * Client, audit and every attack for one cell. The client's image is used only to measure. A worker
 * passes the same solver cache to all its cells: images on one model share its layers' factors, and
 * the attacks reuse the solves of the ones before them. `kernels` gives the matching kernels for a
 * precision (a worker keeps one set per precision; without it, each cell makes its own).
 */
export function runCell(
  cell: StudyCell, solver = new SolverCache(), kernels: (p: Precision) => MatchingKernels = matchingKernels,
): CellResult {
  const client = cellClient(cell);
  const { payload, image, params, model } = client;
  const t0 = performance.now();
  const a = audit(payload, { kind: 'image', image, label: cell.label }, { solver, maxBytes: cell.maxBytes });
  const auditSeconds = (performance.now() - t0) / 1000;
  const { update } = simulateClient(JS_KERNELS, model, params, payload.bnMode, image, [cell.label]);
  const methods: StudyRow['methods'] = {};
  const reconstructions: CellResult['reconstructions'] = {};
  for (const name of cell.methods) {
    const { unit, quality: q, seconds } = attackCell(name, client, update, cell, solver, kernels);
    reconstructions[name] = unit;
    methods[name] = { psnr: q.psnr, psnrClipped: q.psnrClipped, ssim: q.ssim, mse: q.mse, seconds };
  }
  const nonFinal = a.layers.slice(0, -1);
  const row: StudyRow = {
    key: cell.key, model: cell.model, image: cell.image, label: cell.label, layers: a.layers.length,
    copaIndex: a.copaIndex, normalisedIndex: a.normalisedIndex, structuralIndex: a.structuralIndex,
    rankDeficiency: nonFinal.map((l) => l.rankDeficiency),
    structuralDeficiency: nonFinal.map((l) => l.structuralRank - l.unknowns),
    condition: nonFinal.map((l) => l.condition), flaggedLayers: a.flaggedLayers, auditSeconds,
    methods,
  };
  return { row, reconstructions };
}

/** A cell's client as the attacks see it, and its image as the model takes it and on [0, 1]. */
export interface CellClient {
  model: Graph;
  shape: [number, number, number];
  /** The image as a batch of one, in the model's input space. */
  image: Tensor;
  params: ParamMap;
  payload: ServerPayload;
  /** The image on [0, 1] (evaluation only). */
  target: Float64Array;
}

export function cellClient(cell: ClientCell): CellClient {
  const model = cell.spec ? buildGraph(cell.spec, cell.model) : presetGraph(cell.model);
  if (!model) fail(`unknown model "${cell.model}"`);
  const shape = model.input as [number, number, number];
  const params = cell.weights ?? initParams(model, cell.seed);
  return {
    model, shape, params, image: { shape: [1, ...shape], data: cell.input },
    payload: { model, params, normalisation: REFERENCE_NORMALISATION, bnMode: cell.bnMode ?? 'train' },
    target: toUnitRange(cell.input, REFERENCE_NORMALISATION),
  };
}

/**
 * One attack on one update, measured against the cell's image: the reconstruction on [0, 1], its
 * quality and the attack's seconds. `adaptive` asks for the attack that knows the update's defences
 * (attacks/adaptive.ts for gradient matching; attacks/layerwise/adaptive.ts for the layer-wise ones).
 */
export function attackCell(
  method: string, client: CellClient, update: SharedUpdate, cell: ClientCell, solver: SolverCache,
  kernels: (p: Precision) => MatchingKernels, adaptive = false,
): { unit: Float64Array; quality: Quality; seconds: number } {
  const matching = kernels(cell.precision ?? 'f64');
  const options: AttackOptions = {
    seed: cell.seed, tol: 1e-10, iterations: cell.iterations, solver, maxBytes: cell.maxBytes,
    matchingKernels: matching.kernels, matchingNote: matching.note, ...(adaptive ? { adaptive } : {}),
  };
  const t0 = performance.now();
  const r = getAttack(method).run(client.payload, update, options);
  const seconds = (performance.now() - t0) / 1000;
  const all = toUnitRange(r.images.data, REFERENCE_NORMALISATION);
  if (r.images.shape[0] === 1) {
    return { unit: all, quality: quality(all, client.target, client.shape), seconds };
  }
  // a crowd's reconstruction (adaptive secure aggregation): the image closest to the target is its
  const { reconstruction, target: _, ...best } = batchQuality(
    all, client.target, 1, client.shape, r.images.shape[0]).pairs[0];
  const n = client.target.length;
  return { unit: all.slice(reconstruction! * n, (reconstruction! + 1) * n), quality: best, seconds };
}

/** What one cell needs at most, for any of `models` and the largest of `attacks` (workers run side by side). */
export function cellMemory(models: readonly Graph[], attacks: readonly Attack[]): MemoryEstimate {
  return estimate(largestOf(models.map((model) => {
    const view = chainOrNull(model);
    return [
      parameterBytes(model, 4), passBytes(model), ...(view ? solveBytes(view.model) : []),
      ...largestOf(attacks.map((x) => x.memory(model, 1))),
    ];
  })));
}
