import path from 'node:path';
import { getAttack, ATTACKS } from '../../attacks/registry.js';
import { batchQuality } from '../../metrics/quality.js';
import { encodeImagePng, toUnitRange, unitTensorToBitmap } from '../../formats/image.js';
import { writeFilesAtomically } from '../../io/files.js';
import type { Command } from '../command.js';
import type { Args } from '../options.js';
import { ATTACK_OPTIONS, attackSetup } from '../attack-setup.js';
import { progressReporter } from '../progress.js';
import { DEFENCE_OPTIONS, defenceLine, defenceReport } from '../defence-args.js';
import { fail, InputError } from '../../core/errors.js';
import type { SharedUpdate } from '../../threat/payload.js';

export const attackCommand: Command = {
  name: 'attack',
  usage: `gradleak attack --method <${ATTACKS.map((a) => a.name).join('|')}> `
    + `--model <preset|spec.json|model.onnx> [--weights W.safetensors]
                (--image IMG [--label N] | --gradients G.safetensors [--label N]) [--target IMG] --out DIR
  Reconstructs the client's image from shared gradients. With --image, gradleak plays the client
  (label N, default 0) and the attacker gets only the gradients (and the label if --label is given).
  Writes DIR/reconstruction.png and DIR/result.json (deterministic: same inputs, same bytes) and
  DIR/timing.json; --json prints the result with its "seconds" (and "msPerIteration") on stdout.
  Optimisation attacks (hybrid, copa, ig, dlg) take --iterations, --budget, --tv and --lr, and show a
  progress line on a terminal. A defended update (--image with --defence SPEC..., or a --gradients file
  that simulate wrote with --defence) is attacked naively, or with --adaptive: ig and dlg simulate
  each declared defence on the candidate, rgap, hybrid and copa drop the equations of pruned entries
  and solve under noise with a prior; result.json reports its defences, "adaptive" and, for noise,
  ε at the declared δ.`,
  options: {
    method: {
      kind: 'string', arg: 'NAME',
      help: `the attack: ${ATTACKS.map((a) => a.name).join(', ')} (default rgap)`,
    },
    ...ATTACK_OPTIONS,
    ...DEFENCE_OPTIONS,
  },
  run: runAttack,
};

function runAttack(v: Args): void {
  const attack = getAttack(v.str('method') ?? 'rgap');
  const { payload, update, options, targets, out } = attackSetup(v, [attack]);
  const model = payload.model, shape = model.input as [number, number, number], norm = payload.normalisation;
  const B = update.batch;
  const evaluate = targets
    ? (x: Float64Array) =>
      `PSNR ${batchQuality(toUnitRange(x, norm), targets, B, shape).mean.psnr.toFixed(2)} dB`
    : undefined;
  const t0 = performance.now();
  const res = naively(update, () => attack.run(payload, update, {
    ...options, onProgress: progressReporter(v.flag('json'), evaluate),
  }));
  const seconds = (performance.now() - t0) / 1000;
  const timing = {
    seconds, ...(res.msPerIteration !== undefined ? { msPerIteration: res.msPerIteration } : {}),
  };

  const recon = toUnitRange(res.images.data, norm);
  const q = targets ? batchQuality(recon, targets, B, shape) : null;
  const result = {
    method: res.method, model: model.name, ...defenceReport(update, options.adaptive),
    // one image: the fields a single reconstruction has always had; a batch: its labels, sorted
    ...(B === 1
      ? { label: res.labels[0], labelInferred: res.labelsInferred }
      : { batch: B, labels: res.labels, labelsInferred: res.labelsInferred }),
    labelAmbiguous: res.labelAmbiguous,
    ...(q ? { mse: q.mean.mse, psnr: q.mean.psnr, psnrClipped: q.mean.psnrClipped, ssim: q.mean.ssim } : {}),
    ...(q && B > 1 ? { pairs: q.pairs } : {}),
    ...(res.iterations !== undefined ? { iterations: res.iterations, stoppedBy: res.stoppedBy } : {}),
    layers: res.layers, warnings: res.warnings,
  };
  const n = shape[0] * shape[1] * shape[2];
  const pngs = Array.from({ length: B }, (_, i) => ({
    file: path.join(out, B === 1 ? 'reconstruction.png' : `reconstruction-${i}.png`),
    data: encodeImagePng(unitTensorToBitmap(recon.subarray(i * n, (i + 1) * n), shape)),
  }));
  writeFilesAtomically([
    ...pngs,
    { file: path.join(out, 'result.json'), data: JSON.stringify(result, null, 1) + '\n' },
    { file: path.join(out, 'timing.json'), data: JSON.stringify(timing) + '\n' },
  ]);
  if (v.flag('json')) { console.log(JSON.stringify({ ...result, ...timing })); return; }
  for (const w of res.warnings) console.error(`warning: ${w}`);
  const declared = defenceLine(update, true, options.adaptive);
  if (declared) console.log(declared);
  const iters = res.iterations !== undefined
    ? `, ${res.iterations} iterations (${res.msPerIteration!.toFixed(2)} ms each)`
    : '';
  const labels = B === 1 ? `label ${res.labels[0]}` : `labels ${res.labels.join(',')}`;
  console.log(`${res.method} on ${model.name}: ${labels}${res.labelsInferred ? ' (inferred)' : ''}, `
    + `${seconds.toFixed(3)} s${iters}`);
  if (q) {
    const m = q.mean;
    console.log(`${B > 1 ? 'mean ' : ''}PSNR ${m.psnr.toFixed(2)} dB `
      + `(clipped ${m.psnrClipped.toFixed(2)} dB), SSIM ${m.ssim.toFixed(4)}, MSE ${m.mse.toExponential(3)}`);
  }
  console.log(`wrote ${pngs.length === 1 ? pngs[0].file : `${pngs.length} reconstruction-*.png`} `
    + `and ${path.join(out, 'result.json')}`);
}

/**
 * Runs an attack; on a defended update, an attack's refusal (the layer-wise attacks check that the
 * gradients could come from the model) says that the update is defended and read naively.
 */
function naively<T>(update: SharedUpdate, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (!(e instanceof InputError) || !update.defences?.length) throw e;
    fail(`${e.message} (the update is defended by ${update.defences.map((d) => d.name).join(', ')}, `
      + 'which this naive attack takes as plain gradients)');
  }
}
