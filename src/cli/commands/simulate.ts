import path from 'node:path';
import { simulateClient } from '../../core/client.js';
import { fail } from '../../core/errors.js';
import { estimate, parameterBytes, passBytes } from '../../core/memory.js';
import { tensorsFromParams } from '../../core/params-io.js';
import { serializeSafetensors } from '../../formats/safetensors.js';
import { checkOutput, removeStaleTemps, writeFilesAtomically } from '../../io/files.js';
import {
  checkCeiling, IMAGE_OPTIONS, loadImage, loadParams, MODEL_OPTIONS, normalisation, requireModel,
} from '../args.js';
import type { Command } from '../command.js';
import type { Args } from '../options.js';

export const simulateCommand: Command = {
  name: 'simulate',
  usage: `gradleak simulate --model <preset|spec.json> [--weights W.safetensors] --image IMG [--label N]
                  --out G.safetensors [--save-weights W.safetensors]
  Plays the federated client: computes the cross-entropy gradients for one image and label and saves
  them as safetensors (layers.{i}.weight / layers.{i}.bias, F64).`,
  options: {
    ...MODEL_OPTIONS, ...IMAGE_OPTIONS,
    out: { kind: 'string', arg: 'G.safetensors', help: 'where to write the gradients (required)' },
    'save-weights': {
      kind: 'string', arg: 'W.safetensors', help: 'also write the weights the gradients were computed at',
    },
  },
  run: runSimulate,
};

function runSimulate(a: Args): void {
  const out = a.str('out');
  if (!out) fail('--out G.safetensors is required');
  const saveWeights = a.str('save-weights');
  const outputs = [out, ...(saveWeights ? [saveWeights] : [])];
  if (saveWeights && path.resolve(saveWeights) === path.resolve(out)) {
    fail('--save-weights and --out name the same file');
  }
  for (const [i, f] of outputs.entries()) {
    checkOutput(f, 'file', i === 0 ? '--out' : '--save-weights');
    removeStaleTemps(path.dirname(path.resolve(f)), 0, [path.basename(f)]);
  }
  const model = requireModel(a);
  checkCeiling(a, estimate([parameterBytes(model, 3), passBytes(model)]), `simulating ${model.spec.name}`);
  const params = loadParams(a, model);
  const image = a.str('image');
  if (!image) fail('--image is required');
  const upd = simulateClient(model, params, loadImage(image, model, normalisation(a)), a.int('label', 0));
  const files = [{ file: out, data: serializeSafetensors(tensorsFromParams(model, upd.gradients), { model: model.spec.name }) }];
  if (saveWeights) {
    files.push({
      file: saveWeights,
      data: serializeSafetensors(tensorsFromParams(model, params), { model: model.spec.name }),
    });
  }
  writeFilesAtomically(files);
  console.log(`loss ${upd.loss.toFixed(6)}; wrote ${files.map((f) => f.file).join(' and ')}`);
}
