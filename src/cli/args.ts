import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fail } from '../core/errors.js';
import { initParams, type Params } from '../core/network.js';
import { paramsFromTensors } from '../core/params-io.js';
import type { Model } from '../core/spec.js';
import { bitmapToTensor, REFERENCE_NORMALISATION, toUnitRange, type Normalisation } from '../formats/image.js';
import { loadModel, readImageFile, readSafetensorsFile } from '../io/files.js';

export type Options = ParseArgsConfig['options'];

export const COMMON: NonNullable<Options> = {
  model: { type: 'string' },
  weights: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  tol: { type: 'string' },
  'pixel-scale': { type: 'string' },
  'pixel-offset': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export type Values = Record<string, string | boolean | undefined>;

export function parse(argv: string[], options: NonNullable<Options>): Values {
  try {
    return parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: false, strict: true }).values as Values;
  } catch (e) {
    fail((e as Error).message.split('\n')[0]);
  }
}

export function str(v: Values, key: string): string | undefined {
  const x = v[key];
  return typeof x === 'string' ? x : undefined;
}

export function int(v: Values, key: string, fallback?: number): number | undefined {
  const s = str(v, key);
  if (s === undefined) return fallback;
  const n = Number(s);
  if (!Number.isInteger(n)) fail(`--${key} must be an integer, got "${s}"`);
  return n;
}

export function num(v: Values, key: string, fallback: number): number {
  const s = str(v, key);
  if (s === undefined) return fallback;
  const n = Number(s);
  if (!Number.isFinite(n)) fail(`--${key} must be a number, got "${s}"`);
  return n;
}

export function requireModel(v: Values): Model {
  const m = str(v, 'model');
  if (!m) fail('--model is required (a preset name such as cnn3_c1, or a spec .json file)');
  return loadModel(m);
}

/** Weights from --weights, or seeded PyTorch-style initialisation (--seed, default 0). */
export function loadParams(v: Values, model: Model): Params {
  const w = str(v, 'weights');
  if (w) return paramsFromTensors(model, readSafetensorsFile(w, 'weights'), `weights ${w}`);
  return initParams(model, int(v, 'seed', 0)!);
}

/** Shared gradients from a safetensors file, mapped onto the model. */
export function loadGradients(file: string, model: Model): Params {
  return paramsFromTensors(model, readSafetensorsFile(file, 'gradients'), `gradients ${file}`);
}

export function normalisation(v: Values): Normalisation {
  const scale = num(v, 'pixel-scale', REFERENCE_NORMALISATION.scale);
  if (scale === 0) fail('--pixel-scale must not be 0');
  return { scale, offset: num(v, 'pixel-offset', REFERENCE_NORMALISATION.offset) };
}

/** An image file as the model's input tensor. */
export function loadImage(file: string, model: Model, norm: Normalisation): Float64Array {
  return bitmapToTensor(readImageFile(file), model.spec.input, norm, `image ${file}`);
}

/** An image file on the [0,1] scale, for evaluation. */
export function loadTarget(file: string, model: Model, norm: Normalisation): Float64Array {
  return toUnitRange(loadImage(file, model, norm), norm);
}
