import type { Attack, AttackOptions } from '../attacks/types.js';
import { fail } from '../core/errors.js';
import { DEFAULT_RANK_TOL } from '../solve/layersolve.js';
import { attackMemory, playClient } from '../app/attack.js';
import { SolverCache } from '../solve/solver-cache.js';
import { checkOutput, removeStaleTemps } from '../io/files.js';
import { JS_KERNELS } from '../kernels/js/index.js';
import { DEFAULT_PRECISION, matchingKernels, PRECISIONS, type Precision } from '../kernels/select.js';
import { defenceChain, loadPopulation } from './defence-args.js';
import { spawnKernelThread } from './threads.js';
import type { ServerPayload, SharedUpdate } from '../threat/payload.js';
import {
  batchLabels, checkCeiling, IMAGE_OPTIONS, JSON_OPTION, loadUpdate, loadImages, loadParams, loadTargets,
  MODEL_OPTIONS, payload as makePayload, requireModel, TOL_OPTION,
} from './args.js';
import type { Args, OptionTable } from './options.js';

/** The options `attack` and `compare` share. */
/** --precision f32|f64: the arithmetic of gradient matching. */
export const PRECISION_OPTION: OptionTable = {
  precision: {
    kind: 'string', arg: 'f32|f64',
    help: `arithmetic of gradient matching (ig, dlg, hybrid's refinement; default ${DEFAULT_PRECISION}); `
      + 'ranks and solves are always float64',
  },
};

export const ATTACK_OPTIONS: OptionTable = {
  ...MODEL_OPTIONS,
  ...IMAGE_OPTIONS,
  gradients: {
    kind: 'string', arg: 'G.safetensors', help: 'shared gradients to attack (instead of --image)',
  },
  batch: {
    kind: 'int', arg: 'B', help: 'how many images the --gradients are the mean over (default 1)',
    min: 1, max: 4096,
  },
  target: {
    kind: 'string', arg: 'IMG',
    help: 'an image to measure against, one per image of the batch (default: --image)', repeatable: true,
  },
  out: { kind: 'string', arg: 'DIR', help: 'output folder (required)' },
  iterations: { kind: 'int', arg: 'N', help: 'iterations of the optimisation attacks', min: 1, max: 1e9 },
  budget: {
    kind: 'number', arg: 'SECONDS', help: 'wall-clock budget: stop and keep the best iterate',
    min: 0, aboveMin: true, max: 1e7,
  },
  restarts: {
    kind: 'int', arg: 'R', help: 'independent starts of ig and dlg; the best match is kept (default 1)',
    min: 1, max: 1000,
  },
  tv: { kind: 'number', arg: 'W', help: 'total-variation weight', min: 0, max: 1e6 },
  lr: {
    kind: 'number', arg: 'R', help: 'learning rate (Adam-based attacks)', min: 0, aboveMin: true, max: 1e3,
  },
  adaptive: {
    kind: 'boolean',
    help: 'attack a defended update adaptively: simulate each declared defence on the candidate '
      + '(ig, dlg), drop pruned equations and weigh noise (rgap, hybrid, copa); default naive',
  },
  ...PRECISION_OPTION,
  threads: {
    kind: 'int', arg: 'N', min: 1, max: 256,
    help: 'threads for large convolutions in gradient matching (default 1); results do not change',
  },
  ...TOL_OPTION,
  ...JSON_OPTION,
};

/** --precision, checked. */
export function precisionOf(a: Args): Precision {
  const p = a.str('precision') ?? DEFAULT_PRECISION;
  if (!(PRECISIONS as readonly string[]).includes(p)) fail(
    `--precision must be ${PRECISIONS.join(' or ')}, got ${JSON.stringify(p.slice(0, 20))}`);
  return p as Precision;
}

export interface AttackSetup {
  payload: ServerPayload;
  update: SharedUpdate;
  options: Omit<AttackOptions, 'onProgress'>;
  /** The images to measure against on [0, 1], [B, C, H, W], if known (evaluation only). */
  targets: Float64Array | null;
  out: string;
}

/**
 * Reads what an attack needs from the command line, checking first that the output folder can be
 * written and that the attacks fit the memory ceiling. With --image (once or more), gradleak plays
 * the client on that batch and hands the attacker only the update (and the labels if --label was
 * given).
 */
export function attackSetup(a: Args, attacks: readonly Attack[]): AttackSetup {
  const out = a.str('out');
  if (!out) fail('--out DIR is required');
  checkOutput(out, 'dir');
  removeStaleTemps(out);
  const model = requireModel(a);
  const images = a.strs('image'), gradFile = a.str('gradients');
  if ((images.length > 0) === !!gradFile) fail('give --image (play the client, once per image of the batch) '
    + 'or --gradients (a shared update), not both');
  if (images.length > 0 && a.has('batch')) fail(
    '--batch goes with --gradients; with --image the batch is the images given');
  const batch = images.length || a.int('batch', 1);
  const maxBytes = checkCeiling(a, attackMemory(model, batch, attacks),
    `${attacks.map((x) => x.name).join(', ')} on ${model.name}`);
  const params = loadParams(a, model);
  const payload = makePayload(a, model, params);
  // the client, label recovery and the solves keep the float64 reference: their results stay exact
  const kernels = JS_KERNELS;
  const matching = matchingKernels(
    // one by default: on two-vCPU machines a second thread slowed every step measured (docs/DESIGN.md)
    precisionOf(a), { count: a.int('threads', 1), spawn: spawnKernelThread });
  let update: SharedUpdate;
  const defences = a.declares('defence') ? defenceChain(a) : [];
  if (defences.length > 0 && gradFile) fail(
    '--defence goes with --image (a --gradients file declares its own defences in its metadata)');
  if (images.length > 0) {
    const labels = batchLabels(a, images.length);
    update = playClient({
      payload, images: loadImages(images, model, payload.normalisation), labels, defences,
      seed: a.int('seed', 0), revealLabels: a.has('label'),
      population: loadPopulation(a, defences, model, payload.normalisation, images.length),
    });
  } else {
    const labels = a.ints('label');
    if (labels && labels.length !== batch) fail(
      `--label gives ${labels.length} label(s) for a batch of ${batch}`);
    update = { ...loadUpdate(gradFile!, model, maxBytes, batch), ...(labels ? { labels } : {}) };
  }
  const targetFiles = a.strs('target').length ? a.strs('target') : images;
  if (targetFiles.length && targetFiles.length !== batch) fail(
    `${targetFiles.length} --target image(s) for a batch of ${batch}`);
  return {
    payload, update, out,
    targets: targetFiles.length ? loadTargets(targetFiles, model, payload.normalisation) : null,
    options: {
      seed: a.int('seed', 0), tol: a.num('tol', DEFAULT_RANK_TOL), iterations: a.int('iterations'),
      budgetSeconds: a.num('budget'),
      restarts: a.int('restarts'), tv: a.num('tv'), lr: a.num('lr'), maxBytes, kernels,
      adaptive: a.flag('adaptive'),
      matchingKernels: matching.kernels, matchingNote: matching.note,
      // one cache for the command's runs: compare's hybrid and copa reuse rgap's solves
      solver: new SolverCache(),
    },
  };
}
