import { fail } from '../core/errors.js';
import { MAX_FEATURES } from '../core/limits.js';
import { checkMemory, type MemoryEstimate } from '../core/memory.js';
import { imageBatch, resolveParams, updateFromBytes } from '../app/inputs.js';
import { REFERENCE_NORMALISATION, toUnitRange, type Normalisation } from '../formats/image.js';
import { loadModel, readBytes, readImageFile } from '../io/files.js';
import type { Graph, ParamMap } from '../model/graph.js';
import type { BnMode } from '../ops/op.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ServerPayload, SharedUpdate } from '../threat/payload.js';
import { MEMORY_OPTION, type Args, type OptionTable } from './options.js';

/** Option groups the commands compose their tables from. */
export const MODEL_OPTIONS: OptionTable = {
  model: {
    kind: 'string', arg: 'M',
    help: 'a preset name (gradleak models), a model spec .json file (graph or chain) or an ONNX model .onnx',
  },
  weights: {
    kind: 'string', arg: 'W.safetensors',
    help: 'weights by name (PyTorch state_dict names); default: PyTorch-style initialisation from --seed',
  },
  seed: {
    kind: 'int', arg: 'N', help: 'seed of the initial weights, random images and attacks (default 0)',
    min: 0, max: 2 ** 32 - 1,
  },
  'bn-mode': {
    kind: 'string', arg: 'MODE',
    help: 'batch norm of the client: train (batch statistics, default) or eval (running statistics)',
  },
  ...MEMORY_OPTION,
};

export const IMAGE_OPTIONS: OptionTable = {
  image: {
    kind: 'string', arg: 'IMG',
    help: 'a PNG or JPEG image: gradleak plays the client on it (repeat for a batch)', repeatable: true,
  },
  label: {
    kind: 'ints', arg: 'N[,N...]', help: 'the images\' classes, one per --image (default 0)',
    min: 0, max: MAX_FEATURES - 1,
  },
  'pixel-scale': {
    kind: 'number', arg: 'S', help: 'input = pixel/255·S + offset (default 1)', min: -1e6, max: 1e6,
  },
  'pixel-offset': {
    kind: 'number', arg: 'O', help: 'the offset of that mapping (default −0.5)', min: -1e6, max: 1e6,
  },
};

export const TOL_OPTION: OptionTable = {
  tol: {
    kind: 'number', arg: 'T', help: 'relative rank tolerance (default 1e-10)',
    min: 0, aboveMin: true, max: 0.5,
  },
};

export const JSON_OPTION: OptionTable = {
  json: { kind: 'boolean', help: 'print the result as one JSON object' },
};

export function requireModel(a: Args): Graph {
  const m = a.str('model');
  if (!m) fail('--model is required (a preset name such as cnn3_c1 or resnet8, a spec .json file '
    + 'or an .onnx model)');
  return loadModel(m, a.maxMemory() / 3);
}

export function bnMode(a: Args): BnMode {
  const m = a.str('bn-mode') ?? 'train';
  if (m !== 'train' && m !== 'eval') fail(
    `--bn-mode must be train or eval, got ${JSON.stringify(m.slice(0, 20))}`);
  return m;
}

/**
 * Weights from --weights, else the model's own (an ONNX file's initializers), else seeded
 * PyTorch-style initialisation (--seed, default 0).
 */
export function loadParams(a: Args, model: Graph): ParamMap {
  const w = a.str('weights');
  const weights = w ? { bytes: readBytes(w, 'weights', 'safetensors', a.maxMemory()), source: w } : null;
  return resolveParams(model, weights, a.int('seed', 0));
}

/**
 * A shared update from a safetensors file: its tensors by parameter name, read as its metadata
 * declares (gradients, or a weight delta; the defences in force: defences/declaration.ts).
 */
export function loadUpdate(file: string, model: Graph, maxBytes: number, batch: number): SharedUpdate {
  return updateFromBytes(readBytes(file, 'gradients', 'safetensors', maxBytes), file, model, batch);
}

export function normalisation(a: Args): Normalisation {
  const scale = a.num('pixel-scale', REFERENCE_NORMALISATION.scale);
  if (scale === 0) fail('--pixel-scale must not be 0');
  return { scale, offset: a.num('pixel-offset', REFERENCE_NORMALISATION.offset) };
}

export function payload(a: Args, model: Graph, params: ParamMap): ServerPayload {
  return { model, params, normalisation: normalisation(a), bnMode: bnMode(a) };
}

/** Image files as one batch [N, C, H, W] in the model's input space. */
export function loadImages(files: readonly string[], model: Graph, norm: Normalisation): Tensor {
  return imageBatch(files.map((f) => ({ bitmap: readImageFile(f), source: f })), model, norm);
}

/** Image files as a batch on the [0, 1] scale, for evaluation. */
export function loadTargets(files: readonly string[], model: Graph, norm: Normalisation): Float64Array {
  return toUnitRange(loadImages(files, model, norm).data, norm);
}

/** --label for a batch of n: one per image (default 0 for each). */
export function batchLabels(a: Args, n: number): number[] {
  const labels = a.ints('label') ?? new Array<number>(n).fill(0);
  if (labels.length !== n) fail(`--label gives ${labels.length} label(s) for ${n} image(s); `
    + 'give one per --image, comma-separated');
  return labels;
}

/** Refuses, before any input is read, work the memory ceiling does not allow. */
export function checkCeiling(a: Args, e: MemoryEstimate, doing: string): number {
  const ceiling = a.maxMemory();
  checkMemory(e, ceiling, doing);
  return ceiling;
}
