import path from 'node:path';
import { getAttack, ATTACKS } from '../../core/attacks/registry.js';
import { psnr, quality } from '../../core/metrics.js';
import { encodeImagePng, toUnitRange, unitTensorToBitmap } from '../../formats/image.js';
import { writeFilesAtomically } from '../../io/files.js';
import { parse, str } from '../args.js';
import { ATTACK_OPTIONS, attackSetup } from '../attack-setup.js';
import { progressReporter } from '../progress.js';

export const ATTACK_HELP = `gradleak attack --method <${ATTACKS.map((a) => a.name).join('|')}> --model <preset|spec.json> [--weights W.safetensors]
                (--image IMG [--label N] | --gradients G.safetensors [--label N]) [--target IMG]
                --out DIR [--seed N] [--tol T] [--iterations N] [--budget SECONDS] [--tv W] [--lr R] [--json]
  Reconstructs the client's image from shared gradients. With --image, gradleak plays the client
  (label N, default 0) and the attacker gets only the gradients (and the label if --label is given).
  Writes DIR/reconstruction.png and DIR/result.json (deterministic: same inputs, same bytes) and
  DIR/timing.json; --json prints the result with its "seconds" (and "msPerIteration") on stdout.
  Optimisation attacks (hybrid, copa, ig, dlg) take --iterations, --budget (wall-clock seconds: stop
  and keep the best iterate), --tv (total-variation weight) and --lr, and show a progress line on a
  terminal.`;

export function runAttack(argv: string[]): void {
  const v = parse(argv, { method: { type: 'string' }, ...ATTACK_OPTIONS });
  if (v.help) { console.log(ATTACK_HELP); return; }
  const attack = getAttack(str(v, 'method') ?? 'rgap');
  const { model, input, options, norm, target, out } = attackSetup(v);
  const evaluate = target ? (x: Float64Array) => `PSNR ${psnr(toUnitRange(x, norm), target).toFixed(2)} dB` : undefined;
  const t0 = performance.now();
  const res = attack.run(input, { ...options, onProgress: progressReporter(!!v.json, evaluate) });
  const seconds = (performance.now() - t0) / 1000;
  const timing = { seconds, ...(res.msPerIteration !== undefined ? { msPerIteration: res.msPerIteration } : {}) };

  const recon = toUnitRange(res.image, norm);
  const q = target ? quality(recon, target, model.spec.input) : null;
  const result = {
    method: res.method, model: model.spec.name, label: res.label, labelInferred: res.labelInferred,
    ...(q ? { mse: q.mse, psnr: q.psnr, psnrClipped: q.psnrClipped, ssim: q.ssim } : {}),
    ...(res.iterations !== undefined ? { iterations: res.iterations, stoppedBy: res.stoppedBy } : {}),
    layers: res.layers, warnings: res.warnings,
  };
  const png = encodeImagePng(unitTensorToBitmap(recon, model.spec.input));
  writeFilesAtomically([
    { file: path.join(out, 'reconstruction.png'), data: png },
    { file: path.join(out, 'result.json'), data: JSON.stringify(result, null, 1) + '\n' },
    { file: path.join(out, 'timing.json'), data: JSON.stringify(timing) + '\n' },
  ]);
  if (v.json) { console.log(JSON.stringify({ ...result, ...timing })); return; }
  for (const w of res.warnings) console.error(`warning: ${w}`);
  const iters = res.iterations !== undefined ? `, ${res.iterations} iterations (${res.msPerIteration!.toFixed(2)} ms each)` : '';
  console.log(`${res.method} on ${model.spec.name}: label ${res.label}${res.labelInferred ? ' (inferred)' : ''}, ${seconds.toFixed(3)} s${iters}`);
  if (q) console.log(`PSNR ${q.psnr.toFixed(2)} dB (clipped ${q.psnrClipped.toFixed(2)} dB), SSIM ${q.ssim.toFixed(4)}, MSE ${q.mse.toExponential(3)}`);
  console.log(`wrote ${path.join(out, 'reconstruction.png')} and ${path.join(out, 'result.json')}`);
}
