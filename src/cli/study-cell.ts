import { audit } from '../core/audit.js';
import { getAttack } from '../core/attacks/registry.js';
import { simulateClient } from '../core/client.js';
import { quality } from '../core/metrics.js';
import { initParams } from '../core/network.js';
import { PRESETS } from '../core/presets.js';
import { buildModel, parseSpec } from '../core/spec.js';
import { REFERENCE_NORMALISATION, toUnitRange } from '../formats/image.js';

/** One cell of a study: an architecture and an image. Plain data, so it can cross to a worker. */
export interface StudyCell {
  key: string;
  model: string;
  image: string;
  /** The image as the model's input (reference normalisation), CHW. */
  input: Float64Array;
  label: number;
  methods: string[];
  iterations?: number;
  seed: number;
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

/** Client, audit and every attack for one cell. The client's image is used only to measure. */
export function runCell(cell: StudyCell): StudyRow {
  const model = buildModel(PRESETS[cell.model] ?? parseSpec(JSON.parse(cell.model)));
  const params = initParams(model, cell.seed);
  const t0 = performance.now();
  const a = audit(model, params, { kind: 'image', image: cell.input, label: cell.label });
  const auditSeconds = (performance.now() - t0) / 1000;
  const { gradients } = simulateClient(model, params, cell.input, cell.label);
  const target = toUnitRange(cell.input, REFERENCE_NORMALISATION);
  const methods: StudyRow['methods'] = {};
  for (const name of cell.methods) {
    const t1 = performance.now();
    const r = getAttack(name).run({ model, params, gradients }, { seed: cell.seed, tol: 1e-10, iterations: cell.iterations, box: [-0.5, 0.5] });
    const seconds = (performance.now() - t1) / 1000;
    const q = quality(toUnitRange(r.image, REFERENCE_NORMALISATION), target, model.spec.input);
    methods[name] = { psnr: q.psnr, psnrClipped: q.psnrClipped, ssim: q.ssim, mse: q.mse, seconds };
  }
  const nonFinal = a.layers.slice(0, -1);
  return {
    key: cell.key, model: model.spec.name, image: cell.image, label: cell.label, layers: a.layers.length,
    copaIndex: a.copaIndex, normalisedIndex: a.normalisedIndex, structuralIndex: a.structuralIndex,
    rankDeficiency: nonFinal.map((l) => l.rankDeficiency), structuralDeficiency: nonFinal.map((l) => l.structuralRank - l.unknowns),
    condition: nonFinal.map((l) => l.condition), flaggedLayers: a.flaggedLayers, auditSeconds, methods,
  };
}
