import { fail } from '../core/errors.js';
import { MAX_FEATURES } from '../core/limits.js';
import { checkMemory, type MemoryEstimate } from '../core/memory.js';
import { initParams, type Params } from '../core/network.js';
import { checkMagnitudes, paramsFromTensors } from '../core/params-io.js';
import type { Model } from '../core/spec.js';
import { bitmapToTensor, REFERENCE_NORMALISATION, toUnitRange, type Normalisation } from '../formats/image.js';
import { loadModel, readImageFile, readSafetensorsFile } from '../io/files.js';
import { MEMORY_OPTION, type Args, type OptionTable } from './options.js';

/** Option groups the commands compose their tables from. */
export const MODEL_OPTIONS: OptionTable = {
  model: { kind: 'string', arg: 'M', help: 'a preset name (gradleak models) or a model spec .json file' },
  weights: {
    kind: 'string', arg: 'W.safetensors',
    help: 'weights (layers.{i}.weight/bias); default: PyTorch-style initialisation from --seed',
  },
  seed: {
    kind: 'int', arg: 'N', help: 'seed of the initial weights, random images and attacks (default 0)',
    min: 0, max: 2 ** 32 - 1,
  },
  ...MEMORY_OPTION,
};

export const IMAGE_OPTIONS: OptionTable = {
  image: { kind: 'string', arg: 'IMG', help: 'a PNG or JPEG image: gradleak plays the client on it' },
  label: { kind: 'int', arg: 'N', help: 'the image\'s class', min: 0, max: MAX_FEATURES - 1 },
  'pixel-scale': { kind: 'number', arg: 'S', help: 'input = pixel/255·S + offset (default 1)', min: -1e6, max: 1e6 },
  'pixel-offset': {
    kind: 'number', arg: 'O', help: 'the offset of that mapping (default −0.5; write --pixel-offset=-1)',
    min: -1e6, max: 1e6,
  },
};

export const TOL_OPTION: OptionTable = {
  tol: { kind: 'number', arg: 'T', help: 'relative rank tolerance (default 1e-10)', min: 0, aboveMin: true, max: 0.5 },
};

export const JSON_OPTION: OptionTable = {
  json: { kind: 'boolean', help: 'print the result as one JSON object' },
};

export function requireModel(a: Args): Model {
  const m = a.str('model');
  if (!m) fail('--model is required (a preset name such as cnn3_c1, or a spec .json file)');
  return loadModel(m);
}

/** Weights from --weights, or seeded PyTorch-style initialisation (--seed, default 0). */
export function loadParams(a: Args, model: Model): Params {
  const w = a.str('weights');
  if (!w) return initParams(model, a.int('seed', 0));
  const params = paramsFromTensors(model, readSafetensorsFile(w, 'weights', a.maxMemory()), `weights ${w}`);
  checkMagnitudes(model, params, `weights ${w}`, 'parameters');
  return params;
}

/** Shared gradients from a safetensors file, mapped onto the model. */
export function loadGradients(file: string, model: Model, maxBytes: number): Params {
  const g = paramsFromTensors(model, readSafetensorsFile(file, 'gradients', maxBytes), `gradients ${file}`);
  checkMagnitudes(model, g, `gradients ${file}`, 'gradients');
  return g;
}

export function normalisation(a: Args): Normalisation {
  const scale = a.num('pixel-scale', REFERENCE_NORMALISATION.scale);
  if (scale === 0) fail('--pixel-scale must not be 0');
  return { scale, offset: a.num('pixel-offset', REFERENCE_NORMALISATION.offset) };
}

/** An image file as the model's input tensor. */
export function loadImage(file: string, model: Model, norm: Normalisation): Float64Array {
  return bitmapToTensor(readImageFile(file), model.spec.input, norm, `image ${file}`);
}

/** An image file on the [0,1] scale, for evaluation. */
export function loadTarget(file: string, model: Model, norm: Normalisation): Float64Array {
  return toUnitRange(loadImage(file, model, norm), norm);
}

/** Refuses, before any input is read, work the memory ceiling does not allow. */
export function checkCeiling(a: Args, e: MemoryEstimate, doing: string): number {
  const ceiling = a.maxMemory();
  checkMemory(e, ceiling, doing);
  return ceiling;
}
