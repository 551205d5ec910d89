import path from 'node:path';
import { fail } from '../../core/errors.js';
import { estimate, parameterBytes, passBytes } from '../../core/memory.js';
import { Rng } from '../../core/rng.js';
import { fitBitmap, type Bitmap } from '../../formats/image.js';
import { serializeSafetensors } from '../../formats/safetensors.js';
import { checkOutput, removeStaleTemps, writeFilesAtomically } from '../../io/files.js';
import { loadLabelledImages, type LabelledData } from '../../io/training-data.js';
import { matchingKernels, PRECISIONS, type Precision } from '../../kernels/select.js';
import type { Graph } from '../../model/graph.js';
import { checkMagnitudes, tensorsFromParams } from '../../model/params.js';
import { checkLabels, splitHeldOut, type LabelledImage } from '../../train/dataset.js';
import { trainModel, type EpochResult, type TrainProgress, type TrainSettings } from '../../train/loop.js';
import { BN_MOMENTUM } from '../../train/running-stats.js';
import {
  checkCeiling, IMAGE_OPTIONS, JSON_OPTION, loadParams, MODEL_OPTIONS, normalisation, requireModel,
} from '../args.js';
import type { Command } from '../command.js';
import { MEMORY_OPTION, type Args } from '../options.js';
import { bar, clock } from '../progress.js';

export const trainCommand: Command = {
  name: 'train',
  usage: `gradleak train --model <preset|spec.json|model.onnx> --data <IDX images|CIFAR-10 .bin ...|FOLDER>
               --epochs E [--batch B] [--lr R] [--momentum M] [--seed S] [--limit N] --out W.safetensors
  Trains the model with seeded mini-batch SGD (PyTorch's SGD and batch norm: running statistics updated
  in train mode, used in eval mode) on an IDX images file (labels beside it or --labels), CIFAR-10 binary
  batches or a folder of class subfolders. Images are resampled to the model's input. Each epoch
  reports its train loss and the accuracy on held-out images (--holdout, or --test). Writes the weights
  (every tensor, batch-norm buffers included, by the model's names) and W.training.json beside them;
  attack, audit and study take them with --weights. Same inputs and seed, same bytes.`,
  options: {
    model: MODEL_OPTIONS.model,
    weights: { kind: 'string', arg: 'W.safetensors', help: 'initial weights (default: PyTorch-style '
      + 'initialisation from --seed, or an ONNX model\'s own)' },
    seed: { ...MODEL_OPTIONS.seed, help: 'seed of the initial weights, the held-out split and the order '
      + 'of the images (default 0)' },
    data: {
      kind: 'string', arg: 'FILE|DIR', repeatable: true,
      help: 'training images: an IDX images file, CIFAR-10 .bin batches (repeat) or a folder of '
        + 'class folders',
    },
    labels: { kind: 'string', arg: 'FILE', help: 'IDX labels of --data (default: the file beside it)' },
    test: {
      kind: 'string', arg: 'FILE|DIR', repeatable: true,
      help: 'held-out images in the same formats (instead of --holdout), e.g. the t10k or test_batch file',
    },
    'test-labels': {
      kind: 'string', arg: 'FILE', help: 'IDX labels of --test (default: the file beside it)',
    },
    holdout: {
      kind: 'number', arg: 'F', min: 0, max: 0.9,
      help: 'fraction of --data held out for the accuracy, seeded (default 0.1; 0: none)',
    },
    limit: {
      kind: 'int', arg: 'N', min: 1, max: 1e9, help: 'use the first N images of --data (and of --test)',
    },
    epochs: { kind: 'int', arg: 'E', min: 1, max: 1e6, help: 'passes over the training images (required)' },
    batch: { kind: 'int', arg: 'B', min: 1, max: 4096, help: 'images per SGD step (default 64)' },
    lr: { kind: 'number', arg: 'R', min: 0, aboveMin: true, max: 100, help: 'learning rate (default 0.01)' },
    momentum: { kind: 'number', arg: 'M', min: 0, max: 0.999, help: 'SGD momentum (default 0.9)' },
    'weight-decay': { kind: 'number', arg: 'L', min: 0, max: 1, help: 'L2 weight decay (default 0)' },
    'exact-size': {
      kind: 'boolean', help: 'refuse images that are not the model\'s input size instead of resampling them',
    },
    'pixel-scale': IMAGE_OPTIONS['pixel-scale'],
    'pixel-offset': IMAGE_OPTIONS['pixel-offset'],
    precision: {
      kind: 'string', arg: 'f32|f64',
      help: 'arithmetic of the convolutions (default f32, as PyTorch trains; f64 for bit-level comparisons)',
    },
    out: { kind: 'string', arg: 'W.safetensors', help: 'the trained weights (required)' },
    ...JSON_OPTION,
    ...MEMORY_OPTION,
  },
  run: runTrain,
};

/** W.safetensors → W.training.json. */
export const sidecarOf = (out: string) => `${out.replace(/\.safetensors$/i, '')}.training.json`;

function runTrain(a: Args): void {
  const out = a.str('out');
  if (!out) fail('--out W.safetensors is required');
  const sidecar = sidecarOf(out);
  checkOutput(out, 'file');
  checkOutput(sidecar, 'file');
  removeStaleTemps(path.dirname(path.resolve(out)), 0, [path.basename(out), path.basename(sidecar)]);
  const epochs = a.int('epochs');
  if (epochs === undefined) fail('--epochs E is required');
  if (!a.has('data')) fail('--data is required (an IDX images file, CIFAR-10 .bin batches or a folder '
    + 'of class subfolders)');
  if (a.has('test') && a.has('holdout')) fail('give --holdout (a split of --data) or --test, not both');
  if (a.has('test-labels') && !a.has('test')) fail('--test-labels goes with --test');
  const precision = (a.str('precision') ?? 'f32') as Precision;
  if (!PRECISIONS.includes(precision)) fail(`--precision must be ${PRECISIONS.join(' or ')}, `
    + `got ${JSON.stringify(precision.slice(0, 20))}`);
  const model = requireModel(a);
  const batch = a.int('batch', 64);
  // the weights, their gradients, the momentum buffers and the held copy; a batch's pass
  checkCeiling(a, estimate([parameterBytes(model, 4), passBytes(model, batch)]), `training ${model.name}`);
  const initial = loadParams(a, model);
  const seed = a.int('seed', 0);
  const limit = a.int('limit');
  const train = readSet(a.strs('data'), a.str('labels'), '--data', model, a.flag('exact-size'), limit);
  let heldOut: LabelledImage[];
  let trainImages: LabelledImage[] = train.images;
  if (a.has('test')) {
    heldOut = readSet(
      a.strs('test'), a.str('test-labels'), '--test', model, a.flag('exact-size'), limit).images;
  } else {
    // its own stream: the split does not move when the shuffling changes, nor the reverse
    const split = splitHeldOut(train.images, a.num('holdout', 0.1), new Rng((seed + 1) >>> 0));
    trainImages = split.train;
    heldOut = split.heldOut;
  }
  const datasetBytes = [...trainImages, ...heldOut].reduce((s, x) => s + x.bitmap.data.length, 0);
  checkCeiling(a, estimate([parameterBytes(model, 4), passBytes(model, batch),
    { what: 'the images', bytes: datasetBytes }]), `training ${model.name} on ${trainImages.length} images`);

  const settings: TrainSettings = {
    epochs, batch, seed, lr: a.num('lr', 0.01), momentum: a.num('momentum', 0.9),
    weightDecay: a.num('weight-decay', 0), normalisation: normalisation(a),
  };
  const engine = matchingKernels(precision);
  if (engine.note) console.error(`gradleak: note: ${engine.note}`);
  const json = a.flag('json');
  if (!json) console.log(`training ${model.name} on ${trainImages.length} images `
    + `(${train.format}), ${heldOut.length} held out; ${engine.engine}, batch ${batch}, lr ${settings.lr}, `
    + `momentum ${settings.momentum}`);
  const result = trainModel(engine.kernels, model, initial, { train: trainImages, heldOut }, settings, {
    onProgress: progressLine(json),
    onEpoch: json ? undefined : (e, left) => console.log(epochLine(e, epochs, left)),
  });

  // what attack, audit and study would refuse to load is refused here, before anything is written
  checkMagnitudes(result.params, `the trained weights (try a smaller --lr)`, 'parameters', model);
  const last = result.epochs[result.epochs.length - 1];
  const summary = {
    format: 'gradleak-train-1', model: model.name, weights: path.basename(out),
    initial: a.str('weights')
      ?? (model.weights ? 'the ONNX model\'s weights' : `initialised from seed ${seed}`),
    data: {
      train: a.strs('data'), format: train.format, ...(train.labels ? { labels: train.labels } : {}),
      ...(train.classes ? { classes: train.classes } : {}), ...(limit ? { limit } : {}),
      trainImages: trainImages.length,
      heldOut: a.has('test') ? { test: a.strs('test') } : { fraction: a.num('holdout', 0.1) },
      heldOutImages: heldOut.length, modelInput: model.input,
    },
    settings: {
      epochs, batch, lr: settings.lr, momentum: settings.momentum, weightDecay: settings.weightDecay,
      seed, shuffle: true, bnMomentum: BN_MOMENTUM, normalisation: settings.normalisation,
      precision, engine: engine.engine,
    },
    ...(last.heldOutAccuracy !== undefined ? { accuracy: last.heldOutAccuracy } : {}),
    epochs: result.epochs.map(({ seconds: _, ...e }) => e),
  };
  const weights = serializeSafetensors(tensorsFromParams(model, result.params, 'weights'), {
    format: 'gradleak-train-1', model: model.name, epochs: String(epochs), seed: String(seed),
  });
  writeFilesAtomically([
    { file: out, data: weights },
    { file: sidecar, data: JSON.stringify(summary, null, 1) + '\n' },
  ]);
  if (json) {
    console.log(JSON.stringify({ ...summary, secondsPerEpoch: result.epochs.map((e) => e.seconds) }));
    return;
  }
  console.log(`wrote ${out} and ${sidecar}`);
}

/** One set of labelled images, cut to `limit`, fitted to the model's input. */
function readSet(
  files: string[], labels: string | undefined, what: string, model: Graph, exact: boolean, limit?: number,
): LabelledData {
  const data = loadLabelledImages(files, labels, what);
  const images = limit === undefined ? data.images : data.images.slice(0, limit);
  if (images.length === 0) fail(`${what}: no images`);
  checkLabels(images, model.classes, what);
  const [c, h, w] = model.input;
  if (c !== 1 && c !== 3) fail(`the model's input has ${c} channels; images give 1 or 3`);
  const fit = (b: Bitmap, i: number): Bitmap => {
    if (b.width === w && b.height === h) return b;
    if (exact) fail(`${what}: image ${i} is ${b.width}×${b.height}, the model takes ${w}×${h} `
      + '(leave out --exact-size to resample)');
    // grey stays one channel (the model's input repeats it): a third of the memory, the same values
    return fitBitmap(b, [b.channels === 1 ? 1 : c, h, w]);
  };
  return { ...data, images: images.map((s, i) => ({ bitmap: fit(s.bitmap, i), label: s.label })) };
}

/** On a terminal: epoch, batch, a bar, the running loss and the time left. */
function progressLine(json: boolean): ((p: TrainProgress) => void) | undefined {
  if (json || !process.stderr.isTTY) return undefined;
  return (p) => {
    process.stderr.write(`\repoch ${p.epoch}/${p.epochs} ${bar(p.step, p.steps, 24)} ${p.step}/${p.steps}, `
      + `loss ${p.loss.toFixed(4)}, ${clock(p.elapsed)} elapsed, ~${clock(p.left)} left   `);
    if (p.step === p.steps) process.stderr.write('\n');
  };
}

function epochLine(e: EpochResult, epochs: number, left: number): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
  const held = e.heldOutAccuracy !== undefined
    ? `, held-out accuracy ${pct(e.heldOutAccuracy)} (loss ${e.heldOutLoss!.toFixed(4)})` : '';
  return `epoch ${e.epoch}/${epochs}: train loss ${e.trainLoss.toFixed(4)}, `
    + `train accuracy ${pct(e.trainAccuracy)}${held}, ${e.seconds.toFixed(1)} s`
    + `${e.epoch < epochs ? ` (~${clock(left)} left)` : ''}`;
}
