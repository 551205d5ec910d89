import path from 'node:path';
import { getAttack, ATTACKS } from '../../core/attacks/registry.js';
import { psnr, quality } from '../../core/metrics.js';
import { encodeImagePng, toUnitRange, unitTensorToBitmap } from '../../formats/image.js';
import { writeFilesAtomically } from '../../io/files.js';
import type { Command } from '../command.js';
import type { Args } from '../options.js';
import { ATTACK_OPTIONS, attackSetup } from '../attack-setup.js';
import { progressReporter } from '../progress.js';

export const attackCommand: Command = {
  name: 'attack',
  usage: `gradleak attack --method <${ATTACKS.map((a) => a.name).join('|')}> `
    + `--model <preset|spec.json> [--weights W.safetensors]
                (--image IMG [--label N] | --gradients G.safetensors [--label N]) [--target IMG] --out DIR
  Reconstructs the client's image from shared gradients. With --image, gradleak plays the client
  (label N, default 0) and the attacker gets only the gradients (and the label if --label is given).
  Writes DIR/reconstruction.png and DIR/result.json (deterministic: same inputs, same bytes) and
  DIR/timing.json; --json prints the result with its "seconds" (and "msPerIteration") on stdout.
  Optimisation attacks (hybrid, copa, ig, dlg) take --iterations, --budget, --tv and --lr, and show a
  progress line on a terminal.`,
  options: {
    method: {
      kind: 'string', arg: 'NAME', help: `the attack: ${ATTACKS.map((a) => a.name).join(', ')} (default rgap)`,
    },
    ...ATTACK_OPTIONS,
  },
  run: runAttack,
};

function runAttack(v: Args): void {
  const attack = getAttack(v.str('method') ?? 'rgap');
  const { model, input, options, norm, target, out } = attackSetup(v, [attack]);
  const evaluate = target ? (x: Float64Array) => `PSNR ${psnr(toUnitRange(x, norm), target).toFixed(2)} dB` : undefined;
  const t0 = performance.now();
  const res = attack.run(input, { ...options, onProgress: progressReporter(v.flag('json'), evaluate) });
  const seconds = (performance.now() - t0) / 1000;
  const timing = { seconds, ...(res.msPerIteration !== undefined ? { msPerIteration: res.msPerIteration } : {}) };

  const recon = toUnitRange(res.image, norm);
  const q = target ? quality(recon, target, model.spec.input) : null;
  const result = {
    method: res.method, model: model.spec.name, label: res.label, labelInferred: res.labelInferred,
    labelAmbiguous: res.labelAmbiguous,
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
  if (v.flag('json')) { console.log(JSON.stringify({ ...result, ...timing })); return; }
  for (const w of res.warnings) console.error(`warning: ${w}`);
  const iters = res.iterations !== undefined ? `, ${res.iterations} iterations (${res.msPerIteration!.toFixed(2)} ms each)` : '';
  console.log(`${res.method} on ${model.spec.name}: label ${res.label}${res.labelInferred ? ' (inferred)' : ''}, ${seconds.toFixed(3)} s${iters}`);
  if (q) console.log(`PSNR ${q.psnr.toFixed(2)} dB (clipped ${q.psnrClipped.toFixed(2)} dB), SSIM ${q.ssim.toFixed(4)}, MSE ${q.mse.toExponential(3)}`);
  console.log(`wrote ${path.join(out, 'reconstruction.png')} and ${path.join(out, 'result.json')}`);
}
