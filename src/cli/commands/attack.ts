import path from 'node:path';
import { getAttack, ATTACKS } from '../../attacks/registry.js';
import { attackFiles, runAttackJob } from '../../app/attack.js';
import { writeFilesAtomically } from '../../io/files.js';
import type { Command } from '../command.js';
import type { Args } from '../options.js';
import { ATTACK_OPTIONS, attackSetup } from '../attack-setup.js';
import { progressReporter } from '../progress.js';
import { DEFENCE_OPTIONS, defenceLine } from '../defence-args.js';

export const attackCommand: Command = {
  name: 'attack',
  usage: `gradleak attack --method <${ATTACKS.map((a) => a.name).join('|')}> `
    + `--model <preset|spec.json|model.onnx> [--weights W.safetensors]
                (--image IMG [--label N] | --gradients G.safetensors [--label N]) [--target IMG] --out DIR
  Reconstructs the client's image from shared gradients. With --image, gradleak plays the client
  (label N, default 0) and the attacker gets only the gradients (and the label if --label is given).
  Writes DIR/reconstruction.png and DIR/result.json (deterministic: same inputs, same bytes) and
  DIR/timing.json; --json prints the result with its "seconds" (and "msPerIteration") on stdout.
  Optimisation attacks (hybrid, copa, ig, ig-whole, dlg) take --iterations, --budget, --tv and --lr, and show a
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
  const o = runAttackJob({
    attack, payload, update, options, targets, onProgress: progressReporter(v.flag('json')),
  });
  const files = attackFiles(o).map((f) => ({ file: path.join(out, f.name), data: f.data }));
  writeFilesAtomically(files);
  if (v.flag('json')) { console.log(JSON.stringify({ ...o.result, ...o.timing })); return; }
  const res = o.run, B = update.batch, R = res.images.shape[0];
  for (const w of res.warnings) console.error(`warning: ${w}`);
  const declared = defenceLine(update, true, options.adaptive);
  if (declared) console.log(declared);
  const iters = res.iterations !== undefined
    ? `, ${res.iterations} iterations (${res.msPerIteration!.toFixed(2)} ms each)`
    : '';
  const labels = R === 1 ? `label ${res.labels[0]}` : `labels ${res.labels.join(',')}`;
  console.log(`${res.method} on ${payload.model.name}: ${labels}${res.labelsInferred ? ' (inferred)' : ''}, `
    + `${o.timing.seconds.toFixed(3)} s${iters}`);
  if (o.quality) {
    const m = o.quality.mean;
    console.log(`${B > 1 ? 'mean ' : ''}PSNR ${m.psnr.toFixed(2)} dB `
      + `(clipped ${m.psnrClipped.toFixed(2)} dB), SSIM ${m.ssim.toFixed(4)}, MSE ${m.mse.toExponential(3)}`);
  }
  const pngs = files.filter((f) => f.file.endsWith('.png'));
  console.log(`wrote ${pngs.length === 1 ? pngs[0].file : `${pngs.length} reconstruction-*.png`} `
    + `and ${path.join(out, 'result.json')}`);
}
