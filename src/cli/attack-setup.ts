import type { Attack, AttackInput, AttackOptions } from '../core/attacks/types.js';
import { simulateClient } from '../core/client.js';
import { fail } from '../core/errors.js';
import { DEFAULT_RANK_TOL } from '../core/layersolve.js';
import { estimate, largestOf, parameterBytes, passBytes } from '../core/memory.js';
import { SolverCache } from '../core/solver-cache.js';
import type { Model } from '../core/spec.js';
import type { Normalisation } from '../formats/image.js';
import { checkOutput, removeStaleTemps } from '../io/files.js';
import {
  checkCeiling, IMAGE_OPTIONS, JSON_OPTION, loadGradients, loadImage, loadParams, loadTarget, MODEL_OPTIONS,
  normalisation, requireModel, TOL_OPTION,
} from './args.js';
import type { Args, OptionTable } from './options.js';

/** The options `attack` and `compare` share. */
export const ATTACK_OPTIONS: OptionTable = {
  ...MODEL_OPTIONS,
  ...IMAGE_OPTIONS,
  gradients: { kind: 'string', arg: 'G.safetensors', help: 'shared gradients to attack (instead of --image)' },
  target: { kind: 'string', arg: 'IMG', help: 'the image to measure against (default: --image)' },
  out: { kind: 'string', arg: 'DIR', help: 'output folder (required)' },
  iterations: { kind: 'int', arg: 'N', help: 'iterations of the optimisation attacks', min: 1, max: 1e9 },
  budget: {
    kind: 'number', arg: 'SECONDS', help: 'wall-clock budget: stop and keep the best iterate',
    min: 0, aboveMin: true, max: 1e7,
  },
  tv: { kind: 'number', arg: 'W', help: 'total-variation weight', min: 0, max: 1e6 },
  lr: { kind: 'number', arg: 'R', help: 'learning rate (Adam-based attacks)', min: 0, aboveMin: true, max: 1e3 },
  ...TOL_OPTION,
  ...JSON_OPTION,
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
 * Reads what an attack needs from the command line, checking first that the output folder can be
 * written and that the attacks fit the memory ceiling. With --image, gradleak plays the client and
 * hands the attacker only the gradients (and --label if given).
 */
export function attackSetup(a: Args, attacks: readonly Attack[]): AttackSetup {
  const out = a.str('out');
  if (!out) fail('--out DIR is required');
  checkOutput(out, 'dir');
  removeStaleTemps(out);
  const model = requireModel(a);
  const need = estimate([
    parameterBytes(model, 3), passBytes(model), ...largestOf(attacks.map((x) => x.memory(model))),
  ]);
  const maxBytes = checkCeiling(a, need, `${attacks.map((x) => x.name).join(', ')} on ${model.spec.name}`);
  const params = loadParams(a, model);
  const norm = normalisation(a);
  const image = a.str('image'), gradFile = a.str('gradients');
  if (!!image === !!gradFile) fail('give exactly one of --image (play the client) or --gradients (shared gradients file)');
  const label = a.int('label');
  const gradients = image
    ? simulateClient(model, params, loadImage(image, model, norm), label ?? 0).gradients
    : loadGradients(gradFile!, model, maxBytes);
  const targetFile = a.str('target') ?? image;
  return {
    model, norm, out,
    input: { model, params, gradients, label },
    target: targetFile ? loadTarget(targetFile, model, norm) : null,
    options: {
      seed: a.int('seed', 0), tol: a.num('tol', DEFAULT_RANK_TOL), iterations: a.int('iterations'),
      budgetSeconds: a.num('budget'), tv: a.num('tv'), lr: a.num('lr'), maxBytes,
      // one cache for the command's runs: compare's hybrid and copa reuse rgap's solves
      solver: new SolverCache(),
      box: [norm.offset, norm.scale + norm.offset].sort((p, q) => p - q) as [number, number],
    },
  };
}
