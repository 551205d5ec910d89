import type { AttackInput, AttackOptions } from '../core/attacks/types.js';
import { simulateClient } from '../core/client.js';
import { fail } from '../core/errors.js';
import { DEFAULT_RANK_TOL } from '../core/layersolve.js';
import type { Model } from '../core/spec.js';
import type { Normalisation } from '../formats/image.js';
import { int, loadGradients, loadImage, loadParams, loadTarget, normalisation, num, requireModel, str, type Options, type Values } from './args.js';

/** The options `attack` and `compare` share. */
export const ATTACK_OPTIONS: NonNullable<Options> = {
  image: { type: 'string' }, label: { type: 'string' }, gradients: { type: 'string' }, target: { type: 'string' },
  out: { type: 'string' }, iterations: { type: 'string' }, budget: { type: 'string' }, tv: { type: 'string' }, lr: { type: 'string' },
};

export interface AttackSetup {
  model: Model;
  input: AttackInput;
  options: Omit<AttackOptions, 'onProgress'>;
  norm: Normalisation;
  /** The image to measure against on [0,1], if known (evaluation only). */
  target: Float64Array | null;
  out: string;
}

/**
 * Reads what an attack needs from the command line. With --image, gradleak plays the client and
 * hands the attacker only the gradients (and --label if given).
 */
export function attackSetup(v: Values): AttackSetup {
  const out = str(v, 'out');
  if (!out) fail('--out DIR is required');
  const model = requireModel(v);
  const params = loadParams(v, model);
  const norm = normalisation(v);
  const image = str(v, 'image'), gradFile = str(v, 'gradients');
  if (!!image === !!gradFile) fail('give exactly one of --image (play the client) or --gradients (shared gradients file)');
  const label = int(v, 'label');
  const gradients = image
    ? simulateClient(model, params, loadImage(image, model, norm), label ?? 0).gradients
    : loadGradients(gradFile!, model);
  const targetFile = str(v, 'target') ?? image;
  const iterations = int(v, 'iterations');
  if (iterations !== undefined && iterations < 1) fail('--iterations must be at least 1');
  const budget = str(v, 'budget') === undefined ? undefined : num(v, 'budget', 0);
  if (budget !== undefined && !(budget > 0)) fail('--budget must be a positive number of seconds');
  return {
    model, norm, out,
    input: { model, params, gradients, label },
    target: targetFile ? loadTarget(targetFile, model, norm) : null,
    options: {
      seed: int(v, 'seed', 0)!, tol: num(v, 'tol', DEFAULT_RANK_TOL), iterations, budgetSeconds: budget,
      tv: str(v, 'tv') === undefined ? undefined : num(v, 'tv', 0),
      lr: str(v, 'lr') === undefined ? undefined : num(v, 'lr', 0),
      box: [norm.offset, norm.scale + norm.offset].sort((a, b) => a - b) as [number, number],
    },
  };
}
