import { fail } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Normalisation } from '../formats/image.js';
import type { Kernels } from '../kernels/kernels.js';
import { OutputPool } from '../kernels/pool.js';
import { batchGradients } from '../model/gradients.js';
import type { Graph, ParamMap } from '../model/graph.js';
import { batchOf, checkLabels, shuffleInPlace, type LabelledImage } from './dataset.js';
import { correctCount, evaluate } from './evaluate.js';
import { batchNormCanTrain, BN_MOMENTUM, updateRunningStats } from './running-stats.js';
import { Sgd, type SgdSettings } from './sgd.js';

/**
 * Trains a model on labelled images with mini-batch SGD, as PyTorch's usual loop does: each epoch
 * visits the training images in a seeded random order (or in order, `shuffle: false`), in batches of
 * `batch` (the last may be smaller); each batch is a train-mode forward pass (batch norm on the batch's
 * statistics, its running statistics updated), the mean cross-entropy's gradients and one SGD step.
 * After each epoch the held-out images are classified in eval mode. Same inputs and seed, same bytes.
 */
export interface TrainSettings extends SgdSettings {
  epochs: number;
  batch: number;
  /** Seeds the order of the images in each epoch. */
  seed: number;
  /** Default true. */
  shuffle?: boolean;
  normalisation: Normalisation;
  /** Default PyTorch's 0.1. */
  bnMomentum?: number;
}

export interface TrainData {
  train: readonly LabelledImage[];
  /** Classified after every epoch (may be empty: no accuracy is then reported). */
  heldOut: readonly LabelledImage[];
}

export interface EpochResult {
  epoch: number;
  /** Mean cross-entropy over the epoch's batches (weighted by batch size), in train mode. */
  trainLoss: number;
  /** Fraction of the epoch's training images classified correctly during their train-mode pass. */
  trainAccuracy: number;
  /** Eval mode, after the epoch; absent without held-out images. */
  heldOutLoss?: number;
  heldOutAccuracy?: number;
  seconds: number;
}

export interface TrainProgress {
  epoch: number;
  epochs: number;
  /** Batches done in this epoch, of `steps`. */
  step: number;
  steps: number;
  /** Mean loss of the epoch so far. */
  loss: number;
  /** Wall-clock seconds since the start, and an estimate of those still to come. */
  elapsed: number;
  left: number;
}

/** What the caller hears while training runs. */
export interface TrainHooks {
  /** After every batch. */
  onProgress?: (p: TrainProgress) => void;
  /** After every epoch, its held-out evaluation included. */
  onEpoch?: (e: EpochResult, left: number) => void;
}

export interface TrainResult {
  params: Map<string, Float64Array>;
  epochs: EpochResult[];
}

export function trainModel(
  kernels: Kernels, g: Graph, initial: ParamMap, data: TrainData, s: TrainSettings,
  hooks: TrainHooks = {},
): TrainResult {
  const n = data.train.length;
  if (n === 0) fail('no training images');
  checkLabels(data.train, g.classes, 'training data');
  checkLabels(data.heldOut, g.classes, 'held-out data');
  for (const [what, v] of [['epochs', s.epochs], ['the batch size', s.batch]] as const) {
    if (!(Number.isInteger(v) && v >= 1)) fail(`${what} must be a whole number ≥ 1, got ${v}`);
  }
  const batches = batchStarts(n, s.batch, g);
  if (batches.length === 0) fail(
    'one training image cannot train batch norm (it needs two values per channel)');
  const params = new Map([...initial].map(([k, v]) => [k, v.slice()]));
  const sgd = new Sgd(s);
  const rng = new Rng(s.seed);
  const pool = new OutputPool();
  const stepKernels = kernels.withOutputs(pool.take);
  const shape = g.input as [number, number, number];
  const epochs: EpochResult[] = [];
  const t0 = performance.now();
  for (let epoch = 1; epoch <= s.epochs; epoch++) {
    const tEpoch = performance.now();
    const order = data.train.map((_, i) => i);
    if (s.shuffle ?? true) shuffleInPlace(order, rng);
    let lossSum = 0, correct = 0, seen = 0;
    batches.forEach(([start, end], b) => {
      const { x, labels } = batchOf(data.train, order.slice(start, end), shape, s.normalisation);
      const r = batchGradients(stepKernels, g, params, x, labels, 'train');
      if (!Number.isFinite(r.loss)) fail(`training diverged in epoch ${epoch}, batch ${b + 1}: `
        + `the loss is ${r.loss}; try a smaller learning rate`);
      lossSum += r.loss * labels.length;
      correct += correctCount(r.logits.data, labels);
      seen += labels.length;
      updateRunningStats(g, params, x, r.outputs, s.bnMomentum ?? BN_MOMENTUM);
      sgd.step(params, r.gradients);
      pool.release();
      if (hooks.onProgress) {
        const done = (epoch - 1) * batches.length + b + 1, elapsed = (performance.now() - t0) / 1000;
        hooks.onProgress({
          epoch, epochs: s.epochs, step: b + 1, steps: batches.length, loss: lossSum / seen,
          elapsed, left: (elapsed / done) * (s.epochs * batches.length - done),
        });
      }
    });
    const held = data.heldOut.length
      ? evaluate(kernels, g, params, data.heldOut, s.normalisation, s.batch) : null;
    epochs.push({
      epoch, trainLoss: lossSum / seen, trainAccuracy: correct / seen,
      ...(held ? { heldOutLoss: held.loss, heldOutAccuracy: held.accuracy } : {}),
      seconds: (performance.now() - tEpoch) / 1000,
    });
    const perEpoch = (performance.now() - t0) / 1000 / epoch;
    hooks.onEpoch?.(epochs[epochs.length - 1], perEpoch * (s.epochs - epoch));
  }
  return { params, epochs };
}

/**
 * The [start, end) of each batch of an epoch. A last batch of one image is left out when a batch
 * norm would see a single value per channel (PyTorch refuses to train on it).
 */
function batchStarts(n: number, batch: number, g: Graph): [number, number][] {
  const out: [number, number][] = [];
  for (let start = 0; start < n; start += batch) out.push([start, Math.min(n, start + batch)]);
  const last = out[out.length - 1];
  if (last[1] - last[0] === 1 && !batchNormCanTrain(g, 1)) out.pop();
  return out;
}
