#!/usr/bin/env node
/**
 * The matching step of two builds side by side with PyTorch's, alternated step by step in one run:
 * on a shared machine the load moves by 2–3× within minutes, so timings taken minutes apart (the
 * bench's rows, run once per build) cannot tell a 10 % change; the fastest of many alternated steps
 * can. Each build's step is its own code set up by this build's bench/matching-step.ts (rungStep; f32,
 * one and two kernel threads); PyTorch's is bench/torch_step.py's (float32, one thread) in a child
 * process that serves runs of steps.
 * Usage: node scripts/step-ab.mjs BASE_ROOT BRANCH_ROOT RUNG [ROUNDS] [STEPS]
 *   ROOTs are checkouts with a built dist/ (e.g. main's and this worktree); RUNG a label of
 *   bench/matching-step.ts (e.g. "convnet_bn b8"); each round runs STEPS steps of every side.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const [baseRoot, branchRoot, label, rounds = '10', steps = '3'] = process.argv.slice(2);
if (!label) {
  console.error('usage: node scripts/step-ab.mjs BASE_ROOT BRANCH_ROOT RUNG [ROUNDS] [STEPS]');
  process.exit(2);
}

const { RUNGS, rungStep } = await import(path.resolve(branchRoot, 'dist/bench/matching-step.js'));
const rung = RUNGS.find((r) => r.label === label);
if (!rung) {
  console.error(`no rung "${label}": ${RUNGS.map((r) => r.label).join(', ')}`);
  process.exit(2);
}

/** A build's own matching step on the rung (its modules, set up as the bench does), on `threads`. */
async function stepOf(root, threads) {
  const parts = await Promise.all([
    'attacks/matching/objective.js', 'kernels/js/index.js', 'kernels/wasm/index.js', 'model/presets.js',
    'model/params.js', 'core/rng.js', 'threat/client.js', 'cli/threads.js',
  ].map((rel) => import(path.resolve(root, 'dist/src', rel))));
  const m = Object.assign({}, ...parts);
  const kernels = threads > 1
    ? m.createWasmKernels('f32', { count: threads, spawn: m.spawnKernelThread }) : m.createWasmKernels('f32');
  return { run: rungStep(rung, m)(kernels), close: () => kernels.close() };
}

const sides = {};
for (const [name, root] of [['main', baseRoot], ['branch', branchRoot]]) {
  for (const t of [1, 2]) sides[`${name} ×${t}`] = await stepOf(root, t);
}
const job = {
  spec: rung.spec, batch: rung.batch, distance: 'cosine', dtype: 'float32', steps: 5, bn_mode: 'train',
  threads: 1, serve: true,
};
const script = path.resolve(branchRoot, 'bench/torch_step.py');
const torch = spawn('/usr/bin/python3', [script, JSON.stringify(job)], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const answers = readline.createInterface({ input: torch.stdout })[Symbol.asyncIterator]();
await answers.next(); // "ready"
const best = { PyTorch: Infinity };
for (const [name, side] of Object.entries(sides)) { best[name] = Infinity; side.run(); side.run(); }
const loads = [];
for (let r = 0; r < Number(rounds); r++) {
  loads.push(Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]));
  for (const [name, side] of Object.entries(sides)) {
    for (let i = 0; i < Number(steps); i++) {
      const t0 = performance.now();
      side.run();
      best[name] = Math.min(best[name], performance.now() - t0);
    }
  }
  torch.stdin.write(`${steps}\n`);
  best.PyTorch = Math.min(best.PyTorch, JSON.parse((await answers.next()).value).min);
}
torch.stdin.end();
for (const side of Object.values(sides)) side.close();
const ours = (name) => Math.min(best[`${name} ×1`], best[`${name} ×2`]);
console.log(`${label}: fastest of ${Number(rounds) * Number(steps)} alternated steps, ms `
  + `(load ${Math.min(...loads)}–${Math.max(...loads)}): `
  + Object.entries(best).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')
  + ` | ours / PyTorch: main ${(ours('main') / best.PyTorch).toFixed(2)},`
  + ` branch ${(ours('branch') / best.PyTorch).toFixed(2)}`);
process.exit(0);
