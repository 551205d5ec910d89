import { getAttack } from '../attacks/registry.js';
import { audit } from '../analysis/audit.js';
import { fail } from '../core/errors.js';
import { quality } from '../metrics/quality.js';
import { SolverCache } from '../solve/solver-cache.js';
import { REFERENCE_NORMALISATION, toUnitRange } from '../formats/image.js';
import { JS_KERNELS } from '../kernels/js/index.js';
import { matchingKernels, type MatchingKernels, type Precision } from '../kernels/select.js';
import { buildGraph, type GraphSpec, type ParamMap } from '../model/graph.js';
import { initParams } from '../model/params.js';
import { presetGraph } from '../model/presets.js';
import { simulateClient, trainOnBatch } from '../threat/client.js';
import type { ServerPayload } from '../threat/payload.js';

/** One cell of a study: an architecture and an image. Plain data, so it can cross to a worker. */
export interface StudyCell {
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
  methods: string[];
  iterations?: number;
  seed: number;
  /** SGD steps the client takes on the image before sharing its gradient (0: untrained weights). */
  trainSteps: number;
  trainLr: number;
  /** Memory ceiling per cell, in bytes. */
  maxBytes?: number;
  /** Arithmetic of the attacks' gradient matching (default: float64). */
  precision?: Precision;
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
  trainSteps: number;
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
  const model = cell.spec ? buildGraph(cell.spec, cell.model) : presetGraph(cell.model);
  if (!model) fail(`unknown model "${cell.model}"`);
  const shape = model.input as [number, number, number];
  const image = { shape: [1, ...shape], data: cell.input };
  const labels = [cell.label];
  const params = trainOnBatch(
    JS_KERNELS, model, cell.weights ?? initParams(model, cell.seed), 'train', image, labels, cell.trainSteps,
    cell.trainLr);
  const payload: ServerPayload = { model, params, normalisation: REFERENCE_NORMALISATION, bnMode: 'train' };
  const t0 = performance.now();
  const a = audit(payload, { kind: 'image', image, label: cell.label }, { solver, maxBytes: cell.maxBytes });
  const auditSeconds = (performance.now() - t0) / 1000;
  const { update } = simulateClient(JS_KERNELS, model, params, payload.bnMode, image, labels);
  const target = toUnitRange(cell.input, REFERENCE_NORMALISATION);
  const methods: StudyRow['methods'] = {};
  const matching = kernels(cell.precision ?? 'f64');
  const reconstructions: CellResult['reconstructions'] = {};
  for (const name of cell.methods) {
    const t1 = performance.now();
    const r = getAttack(name).run(payload, update, {
      seed: cell.seed, tol: 1e-10, iterations: cell.iterations, solver, maxBytes: cell.maxBytes,
      matchingKernels: matching.kernels, matchingNote: matching.note,
    });
    const seconds = (performance.now() - t1) / 1000;
    const unit = toUnitRange(r.images.data, REFERENCE_NORMALISATION);
    reconstructions[name] = unit;
    const q = quality(unit, target, shape);
    methods[name] = { psnr: q.psnr, psnrClipped: q.psnrClipped, ssim: q.ssim, mse: q.mse, seconds };
  }
  const nonFinal = a.layers.slice(0, -1);
  const row: StudyRow = {
    key: cell.key, model: cell.model, image: cell.image, label: cell.label, layers: a.layers.length,
    copaIndex: a.copaIndex, normalisedIndex: a.normalisedIndex, structuralIndex: a.structuralIndex,
    rankDeficiency: nonFinal.map((l) => l.rankDeficiency),
    structuralDeficiency: nonFinal.map((l) => l.structuralRank - l.unknowns),
    condition: nonFinal.map((l) => l.condition), flaggedLayers: a.flaggedLayers, auditSeconds,
    trainSteps: cell.trainSteps, methods,
  };
  return { row, reconstructions };
}
