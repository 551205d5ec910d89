import { audit, auditOnWorkers, type AuditResult, type AuditSource } from '../analysis/audit.js';
import type { LayerThreads } from '../analysis/layer-jobs.js';
import { noiseView, type NoiseView } from '../analysis/noise-view.js';
import { layerGeometries } from '../analysis/whatif.js';
import { parameterBytes, passBytes, solveBytes, type MemoryPart } from '../core/memory.js';
import { Rng } from '../core/rng.js';
import type { Graph } from '../model/graph.js';
import { DEFAULT_RANK_TOL } from '../solve/layersolve.js';
import { SolverCache } from '../solve/solver-cache.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DefenceRecord, ServerPayload } from '../threat/payload.js';

/** What an audit allocates beyond its inputs: the ceiling check's parts. */
export function auditMemory(model: Graph): MemoryPart[] {
  return [parameterBytes(model, 2), passBytes(model), ...solveBytes({ layers: layerGeometries(model) })];
}

/** The seeded random image that stands in for the client's when none is given (uniform on ±0.5). */
export function randomClientImage(model: Graph, seed: number): Tensor {
  const rng = new Rng(seed + 1);
  const [c, h, w] = model.input;
  return { shape: [1, c, h, w], data: Float64Array.from({ length: c * h * w }, () => rng.uniform() - 0.5) };
}

export interface AuditJob {
  payload: ServerPayload;
  source: AuditSource;
  tol?: number;
  maxBytes?: number;
  /** Workers for the what-if's layer systems; without them they are solved in turn here. */
  threads?: LayerThreads;
  /** The noise view (analysis/noise-view.ts): rgap's predicted error under this Gaussian noise. */
  noise?: { record: DefenceRecord; probes: number; seed: number };
}

/** An audit's report: the audit and, when asked for and there is an image, the noise view. */
export type AuditReport = AuditResult & { noise?: NoiseView };

export async function runAuditJob(job: AuditJob): Promise<AuditReport> {
  const { payload, source } = job;
  const settings = { tol: job.tol ?? DEFAULT_RANK_TOL, maxBytes: job.maxBytes, solver: new SolverCache() };
  const result = job.threads && job.threads.threads > 1 && source.kind === 'image'
    ? await auditOnWorkers(payload, source, job.threads, settings)
    : audit(payload, source, settings);
  const noise = job.noise && source.kind === 'image' ? noiseView(payload, source.image, source.label,
    job.noise.record, { ...settings, probes: job.noise.probes, seed: job.noise.seed }) : undefined;
  return { ...result, ...(noise ? { noise } : {}) };
}
