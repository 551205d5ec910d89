import type { Attack, AttackOptions, AttackResult, Progress } from '../attacks/types.js';
import { fail, InputError } from '../core/errors.js';
import { estimate, largestOf, parameterBytes, passBytes, type MemoryEstimate } from '../core/memory.js';
import { privacyOf } from '../defences/accounting.js';
import type { ClientBatch } from '../defences/types.js';
import { encodeImagePng, toUnitRange, unitTensorToBitmap, type Bitmap } from '../formats/image.js';
import { JS_KERNELS } from '../kernels/js/index.js';
import { batchQuality, type BatchQuality } from '../metrics/quality.js';
import type { Graph } from '../model/graph.js';
import type { Tensor } from '../tensor/tensor.js';
import { simulateClient, simulateDefendedClient } from '../threat/client.js';
import type { DefenceRecord, ServerPayload, SharedUpdate } from '../threat/payload.js';
import { throwIfCancelled, type CancelSignal } from './cancel.js';

/** What attacks on this model and batch need: the ceiling check's estimate. */
export function attackMemory(model: Graph, batch: number, attacks: readonly Attack[]): MemoryEstimate {
  return estimate([
    parameterBytes(model, 3), passBytes(model, batch), ...largestOf(attacks.map((x) => x.memory(model, batch))),
  ]);
}

export interface ClientPlay {
  payload: ServerPayload;
  /** The client's batch [B, C, H, W] in the model's input space, and its labels. */
  images: Tensor;
  labels: number[];
  /** Defences the client applies before sharing, in order (seeded by `seed`). */
  defences: readonly DefenceRecord[];
  seed: number;
  /** Secure aggregation's other clients. */
  population?: ClientBatch;
  /** Hand the labels to the attacker too. */
  revealLabels: boolean;
}

/**
 * gradleak plays the client: the update it shares (its gradients, defended as it chooses). The client
 * keeps the float64 reference kernels, so its update is exact.
 */
export function playClient(c: ClientPlay): SharedUpdate {
  const { model, params, bnMode } = c.payload;
  const client = c.defences.length === 0
    ? simulateClient(JS_KERNELS, model, params, bnMode, c.images, c.labels)
    : simulateDefendedClient({
      kernels: JS_KERNELS, model, params, bnMode, defences: [...c.defences], seed: c.seed,
      population: c.population,
    }, c.images, c.labels);
  return { ...client.update, ...(c.revealLabels ? { labels: c.labels } : {}) };
}

/** A progress report with the current reconstruction's PSNR when the target is known (evaluation). */
export type AttackProgress = (p: Progress, psnr?: number) => void;

export interface AttackJob {
  attack: Attack;
  payload: ServerPayload;
  update: SharedUpdate;
  options: Omit<AttackOptions, 'onProgress'>;
  /** The images to measure against on [0, 1], [B, C, H, W], if known (evaluation only). */
  targets: Float64Array | null;
  onProgress?: AttackProgress;
  signal?: CancelSignal;
}

/** The deterministic result (result.json: no times), the timing, and the reconstructions. */
export interface AttackOutcome {
  result: Record<string, unknown>;
  timing: { seconds: number; msPerIteration?: number };
  /** The reconstructions on [0, 1], [B, C, H, W]. */
  reconstruction: Float64Array;
  bitmaps: Bitmap[];
  quality: BatchQuality | null;
  run: AttackResult;
}

export function runAttackJob(job: AttackJob): AttackOutcome {
  const { attack, payload, update, targets, signal } = job;
  const model = payload.model, shape = model.input as [number, number, number], norm = payload.normalisation;
  const B = update.batch, n = shape[0] * shape[1] * shape[2];
  const report = job.onProgress;
  // an adaptive attack on a secure-aggregation sum reconstructs the whole crowd: more images than B
  const scored = (unit: Float64Array) => batchQuality(unit, targets!, B, shape, unit.length / n);
  const onProgress = report || signal ? (p: Progress) => {
    throwIfCancelled(signal);
    report?.(p, p.current && targets ? scored(toUnitRange(p.current, norm)).mean.psnr : undefined);
  } : undefined;
  throwIfCancelled(signal);
  const t0 = performance.now();
  const res = naively(update, () => attack.run(payload, update, { ...job.options, onProgress }));
  const seconds = (performance.now() - t0) / 1000;
  const timing = {
    seconds, ...(res.msPerIteration !== undefined ? { msPerIteration: res.msPerIteration } : {}),
  };
  const recon = toUnitRange(res.images.data, norm);
  const R = res.images.shape[0];
  const q = targets ? scored(recon) : null;
  const result = {
    method: res.method, model: model.name, ...defenceReport(update, job.options.adaptive),
    // one image: the fields a single reconstruction has always had; a batch: its labels, sorted
    ...(R === 1
      ? { label: res.labels[0], labelInferred: res.labelsInferred }
      : { batch: B, ...(R > B ? { crowd: R } : {}), labels: res.labels, labelsInferred: res.labelsInferred }),
    labelAmbiguous: res.labelAmbiguous,
    ...(q ? { mse: q.mean.mse, psnr: q.mean.psnr, psnrClipped: q.mean.psnrClipped, ssim: q.mean.ssim } : {}),
    ...(q && R > 1 ? { pairs: q.pairs } : {}),
    ...(res.iterations !== undefined ? { iterations: res.iterations, stoppedBy: res.stoppedBy } : {}),
    layers: res.layers, warnings: res.warnings,
  };
  const bitmaps = Array.from({ length: R },
    (_, i) => unitTensorToBitmap(recon.subarray(i * n, (i + 1) * n), shape));
  return { result, timing, reconstruction: recon, bitmaps, quality: q, run: res };
}

/** The files an attack writes, by name: reconstruction(-i).png, result.json, timing.json. */
export function attackFiles(o: AttackOutcome): { name: string; data: Uint8Array | string }[] {
  const one = o.bitmaps.length === 1;
  return [
    ...o.bitmaps.map((b, i) => ({
      name: one ? 'reconstruction.png' : `reconstruction-${i}.png`, data: encodeImagePng(b),
    })),
    { name: 'result.json', data: JSON.stringify(o.result, null, 1) + '\n' },
    { name: 'timing.json', data: JSON.stringify(o.timing) + '\n' },
  ];
}

/**
 * What results say of the defences: the records, for noise its ε at the δ it declares, and whether
 * the attack read them adaptively (also recorded when adaptive met an undefended update).
 */
export function defenceReport(u: SharedUpdate, adaptive = false): Record<string, unknown> {
  if (!u.defences?.length) return adaptive ? { adaptive } : {};
  const privacy = privacyOf(u.defences);
  return { defences: u.defences, ...(privacy ? { privacy } : {}), adaptive };
}

/**
 * Runs an attack; on a defended update, an attack's refusal (the layer-wise attacks check that the
 * gradients could come from the model) says that the update is defended and read naively.
 */
function naively<T>(update: SharedUpdate, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (!(e instanceof InputError) || !update.defences?.length) throw e;
    fail(`${e.message} (the update is defended by ${update.defences.map((d) => d.name).join(', ')}, `
      + 'which this naive attack takes as plain gradients)');
  }
}
