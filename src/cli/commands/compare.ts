import path from 'node:path';
import { ATTACKS, getAttack } from '../../attacks/registry.js';
import { compareMarkdown, runCompareJob } from '../../app/compare.js';
import { writeFilesAtomically } from '../../io/files.js';
import type { Command } from '../command.js';
import type { Args } from '../options.js';
import { ATTACK_OPTIONS, attackSetup } from '../attack-setup.js';
import { progressReporter } from '../progress.js';

export const compareCommand: Command = {
  name: 'compare',
  usage: `gradleak compare [--methods ${ATTACKS.map((a) => a.name).join(',')}] `
    + `--model <preset|spec.json|model.onnx> [--weights W]
                 (--image IMG [--label N] | --gradients G [--label N]) [--target IMG] --out DIR
  Runs the methods on the same model, weights and gradients. Writes DIR/compare.png (target and each
  method, labelled with PSNR/SSIM), DIR/compare.json and DIR/compare.md (PSNR, SSIM, MSE, seconds,
  ms per iteration), and DIR/<method>.png. --budget applies to each method.`,
  options: {
    methods: {
      kind: 'list', arg: 'M1,M2',
      help: `methods to run (default all: ${ATTACKS.map((a) => a.name).join(',')})`,
    },
    ...ATTACK_OPTIONS,
  },
  run: runCompare,
};

function runCompare(v: Args): void {
  const attacks = v.list('methods', ATTACKS.map((a) => a.name)).map(getAttack);
  const { payload, update, options, targets, out } = attackSetup(v, attacks);
  const c = runCompareJob(attacks, {
    payload, update, options, targets, onProgress: progressReporter(v.flag('json')),
  }, {
    // which method is running, on a terminal (a log gets the table at the end, and errors stay one line)
    onStart: (attack) => {
      if (!v.flag('json') && process.stderr.isTTY) process.stderr.write(`${attack.name}...\n`);
    },
    onDone: (attack, o) => {
      if (!v.flag('json')) for (const w of o.run.warnings) console.error(`warning: ${attack.name}: ${w}`);
    },
  });
  writeFilesAtomically(c.files.map((f) => ({ file: path.join(out, f.name), data: f.data })));
  if (v.flag('json')) console.log(JSON.stringify({ model: c.model, methods: c.rows }));
  else console.log(
    `${compareMarkdown(c.model, c.rows)}\nwrote ${path.join(out, 'compare.png')}, compare.json, compare.md`);
}
