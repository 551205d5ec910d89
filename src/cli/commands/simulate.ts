import { simulateClient } from '../../core/client.js';
import { fail } from '../../core/errors.js';
import { tensorsFromParams } from '../../core/params-io.js';
import { serializeSafetensors } from '../../formats/safetensors.js';
import { writeFilesAtomically } from '../../io/files.js';
import { int, loadImage, loadParams, normalisation, parse, requireModel, str } from '../args.js';

export const SIMULATE_HELP = `gradleak simulate --model <preset|spec.json> [--weights W.safetensors] --image IMG [--label N]
                  --out G.safetensors [--save-weights W.safetensors] [--seed N]
  Plays the federated client: computes the cross-entropy gradients for one image and label and saves
  them as safetensors (layers.{i}.weight / layers.{i}.bias, F64).`;

export function runSimulate(argv: string[]): void {
  const v = parse(argv, { image: { type: 'string' }, label: { type: 'string' }, out: { type: 'string' }, 'save-weights': { type: 'string' } });
  if (v.help) { console.log(SIMULATE_HELP); return; }
  const model = requireModel(v);
  const params = loadParams(v, model);
  const image = str(v, 'image');
  const out = str(v, 'out');
  if (!image) fail('--image is required');
  if (!out) fail('--out G.safetensors is required');
  const upd = simulateClient(model, params, loadImage(image, model, normalisation(v)), int(v, 'label', 0)!);
  const files = [{ file: out, data: serializeSafetensors(tensorsFromParams(model, upd.gradients), { model: model.spec.name }) }];
  const sw = str(v, 'save-weights');
  if (sw) files.push({ file: sw, data: serializeSafetensors(tensorsFromParams(model, params), { model: model.spec.name }) });
  writeFilesAtomically(files);
  console.log(`loss ${upd.loss.toFixed(6)}; wrote ${files.map((f) => f.file).join(' and ')}`);
}
