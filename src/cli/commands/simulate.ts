import path from 'node:path';
import { simulateClient, simulateDefendedClient } from '../../threat/client.js';
import { declarationMetadata } from '../../defences/declaration.js';
import { updateTensors } from '../../threat/payload.js';
import { JS_KERNELS } from '../../kernels/js/index.js';
import { fail } from '../../core/errors.js';
import { estimate, parameterBytes, passBytes } from '../../core/memory.js';
import { tensorsFromParams } from '../../model/params.js';
import { serializeSafetensors } from '../../formats/safetensors.js';
import { checkOutput, removeStaleTemps, writeFilesAtomically } from '../../io/files.js';
import {
  batchLabels, checkCeiling, IMAGE_OPTIONS, loadImages, loadParams, MODEL_OPTIONS, payload, requireModel,
} from '../args.js';
import type { Command } from '../command.js';
import { DEFENCE_OPTIONS, defenceChain, defenceLine, loadPopulation } from '../defence-args.js';
import type { Args } from '../options.js';

export const simulateCommand: Command = {
  name: 'simulate',
  usage: 'gradleak simulate --model <preset|spec.json|model.onnx> [--weights W.safetensors] '
    + `--image IMG [--image IMG...] [--label N,N...]
                  [--defence SPEC...] [--population samples|DIR]
                  --out G.safetensors [--save-weights W.safetensors]
  Plays the federated client: computes the mean cross-entropy gradients of a batch (one --image per
  image, --label N,N,... in the same order) and saves them as safetensors under the model's
  parameter names (F64). With --defence (repeatable, applied in order, seeded by --seed) it shares the
  defended update instead — a weight delta θ_E − θ0 under fedavg — and declares it in the file's
  metadata (update, steps, lr, defences), which attack reads.`,
  options: {
    ...MODEL_OPTIONS, ...IMAGE_OPTIONS, ...DEFENCE_OPTIONS,
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
  const images = a.strs('image');
  if (images.length === 0) fail('--image is required (repeat it for a batch)');
  checkCeiling(
    a, estimate([parameterBytes(model, 3), passBytes(model, images.length)]), `simulating ${model.name}`);
  const params = loadParams(a, model);
  const p = payload(a, model, params);
  const labels = batchLabels(a, images.length);
  const defences = defenceChain(a);
  const batch = loadImages(images, model, p.normalisation);
  const { update, loss } = defences.length === 0
    ? simulateClient(JS_KERNELS, model, params, p.bnMode, batch, labels)
    : simulateDefendedClient({
      kernels: JS_KERNELS, model, params, bnMode: p.bnMode, defences, seed: a.int('seed', 0),
      population: loadPopulation(a, defences, model, p.normalisation, images.length),
    }, batch, labels);
  const meta = {
    model: model.name, batch: String(images.length), 'bn-mode': p.bnMode, ...declarationMetadata(update),
  };
  const files = [{
    file: out, data: serializeSafetensors(tensorsFromParams(model, updateTensors(update), 'gradients'), meta),
  }];
  if (saveWeights) files.push({
    file: saveWeights,
    data: serializeSafetensors(tensorsFromParams(model, params, 'weights'), { model: model.name }),
  });
  writeFilesAtomically(files);
  console.log(`loss ${loss.toFixed(6)} (mean over ${images.length} image(s)); `
    + `wrote ${files.map((f) => f.file).join(' and ')}`);
  const declared = defenceLine(update, false);
  if (declared) console.log(declared);
}
