// Compares the CLI's memory estimates (src/core/memory.ts) with the measured peak resident memory of
// the same commands. For each case it computes the estimate exactly as the command composes it
// (audit: 2 parameter copies + pass + solves; attack: 3 copies + pass + the attack's own parts),
// then runs the real command as a child process and reads its peak RSS (VmHWM).
//   npm run build && node scripts/memory-check.mjs              (42 cases, ~10 min idle, 2 at a time)
//   node scripts/memory-check.mjs --all                          (also rgap on cnn4_c3, LeNet2, cnn6d: +5 min)
//   node scripts/memory-check.mjs --only cnn3_c1 --jobs 1       (cases whose label contains a word)
//   node scripts/memory-check.mjs --parts                        (also list every part of each estimate)
//   node scripts/memory-check.mjs --dry                          (estimates only, nothing run)
//   node scripts/memory-check.mjs --poll                         (poll /proc VmHWM even if /usr/bin/time exists)
// Peak RSS comes from `/usr/bin/time -f %M` when it exists, otherwise from polling
// /proc/<pid>/status (VmHWM, read every 20 ms and at exit). Run it on an otherwise idle machine with
// enough memory for the largest case (~2 GiB): RSS is per process, so --jobs 2 does not skew it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { estimate, largestOf, parameterBytes, passBytes, solveBytes } from '../dist/src/core/memory.js';
import { getAttack } from '../dist/src/core/attacks/registry.js';
import { PRESETS } from '../dist/src/model/chain-presets.js';
import { buildModel, parseSpec } from '../dist/src/model/chain-spec.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const main = path.join(root, 'dist/src/cli/main.js');
const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : dflt; };
const only = opt('only');
const jobs = Number(opt('jobs', Math.min(2, os.cpus().length)));
const showParts = argv.includes('--parts');
const dry = argv.includes('--dry'); // estimates only, nothing run
const ITER = 50;
const GiB = 2 ** 30, MiB = 2 ** 20, RUNTIME = 128 * MiB; // memory.ts's allowance for Node itself and uncollected garbage

// ---- cases -------------------------------------------------------------------------------------
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gradleak-memcheck-'));
const withInput = (preset, input, name) => ({ ...PRESETS[preset], name, input });
const SPECS = {
  'cnn3_c1@64': withInput('cnn3_c1', [3, 64, 64], 'cnn3_c1_64'),
  'cnn3_c1@96': withInput('cnn3_c1', [3, 96, 96], 'cnn3_c1_96'),
  'cnn3_c1@128': withInput('cnn3_c1', [3, 128, 128], 'cnn3_c1_128'),
  'cnn4_c1@128': withInput('cnn4_c1', [3, 128, 128], 'cnn4_c1_128'),
  'cnn2_c2@128': withInput('cnn2_c2', [3, 128, 128], 'cnn2_c2_128'),
  // a wide linear layer with more outputs than inputs (column path) ...
  'wide-fc1024@3x16x16': { name: 'wide_fc', input: [3, 16, 16], layers: [
    { type: 'linear', out: 1024, bias: true, activation: 'tanh' }, { type: 'linear', out: 10, bias: true, activation: 'identity' }] },
  // ... and one with fewer (neither structured path applies: dense fallback on the n×n Gram matrix)
  'narrow-fc64@3x16x16': { name: 'narrow_fc', input: [3, 16, 16], layers: [
    { type: 'linear', out: 64, bias: true, activation: 'tanh' }, { type: 'linear', out: 10, bias: true, activation: 'identity' }] },
  // many output channels on the first layer, stride 1 (column path) and stride 2 (row path)
  'conv64k3s1p1@32': { name: 'wide_conv_s1', input: [3, 32, 32], layers: [
    { type: 'conv', out: 64, kernel: 3, stride: 1, padding: 1, bias: false, activation: 'tanh' }, { type: 'linear', out: 10, bias: true, activation: 'identity' }] },
  'conv48k5s2p2@64': { name: 'wide_conv_s2', input: [3, 64, 64], layers: [
    { type: 'conv', out: 48, kernel: 5, stride: 2, padding: 2, bias: false, activation: 'tanh' }, { type: 'linear', out: 10, bias: true, activation: 'identity' }] },
};
for (const [k, s] of Object.entries(SPECS)) {
  parseSpec(s, k);
  const file = path.join(tmp, `${s.name}.json`);
  fs.writeFileSync(file, JSON.stringify(s));
  SPECS[k] = { spec: s, file };
}

const IMG32 = 'samples/hills.png', IMG128 = 'samples/hills-128.png';
const CASES = [];
const add = (label, command, extra = {}) => CASES.push({ label, command, ...extra });
for (const p of ['cnn2_c0', 'cnn2_c4', 'cnn2_c1', 'cnn2_c2', 'cnn2_c5', 'cnn3_c1', 'cnn3_c3', 'cnn4_c1', 'cnn4_c2', 'cnn4_c3', 'LeNet', 'LeNet2', 'cnn6d']) {
  add(p, 'audit');
  // rgap solves the same systems as audit (and in full): skipped on the three slowest (2-5 min each)
  if (!['cnn4_c3', 'LeNet2', 'cnn6d'].includes(p) || argv.includes('--all')) add(p, 'rgap', { image: IMG32 });
}
for (const k of ['cnn3_c1@64', 'cnn3_c1@96', 'cnn3_c1@128', 'cnn4_c1@128', 'cnn2_c2@128', 'wide-fc1024@3x16x16', 'narrow-fc64@3x16x16', 'conv64k3s1p1@32', 'conv48k5s2p2@64']) {
  add(k, 'audit');
}
for (const k of ['cnn3_c1@128', 'cnn4_c1@128', 'cnn2_c2@128']) add(k, 'rgap', { image: IMG128 });
add('conv64k3s1p1@32', 'rgap', { image: IMG32 });
for (const m of ['hybrid', 'ig']) {
  add('cnn3_c1', m, { image: IMG32 });
  add('cnn4_c2', m, { image: IMG32 });
  add('cnn3_c1@128', m, { image: IMG128 });
}

// ---- estimates, exactly as the CLI composes them ---------------------------------------------------
function modelOf(label) {
  return Object.hasOwn(PRESETS, label) ? { model: buildModel(PRESETS[label]), ref: label } : { model: buildModel(parseSpec(SPECS[label].spec)), ref: SPECS[label].file };
}

function estimateOf(model, command) {
  const parts = command === 'audit'
    ? [parameterBytes(model, 2), passBytes(model), ...solveBytes(model)]
    : [parameterBytes(model, 3), passBytes(model), ...largestOf([getAttack(command).memory(model)])];
  return { parts, e: estimate(parts) };
}

// ---- measurement -----------------------------------------------------------------------------------
const TIME = !argv.includes('--poll') && fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const method = TIME ? '/usr/bin/time -f %M (GNU time: max RSS of the child, KiB)' : 'polling /proc/<pid>/status VmHWM every 20 ms';

function argsFor(c, ref, ceiling) {
  const mem = ['--max-memory', ceiling];
  if (c.command === 'audit') return ['audit', '--model', ref, ...(c.image ? ['--image', c.image] : []), ...mem];
  const out = fs.mkdtempSync(path.join(tmp, 'out-'));
  return ['attack', '--method', c.command, '--model', ref, '--image', c.image, '--out', out, ...(c.command === 'rgap' ? [] : ['--iterations', String(ITER)]), ...mem];
}

function run(args) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let stderr = '', hwm = 0, timer = null;
    const timeFile = path.join(tmp, `time-${process.hrtime.bigint()}.txt`);
    const child = TIME
      ? spawn(TIME, ['-f', '%M', '-o', timeFile, process.execPath, main, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(process.execPath, [main, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    const poll = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm, Number(m[1]));
      } catch { /* exited */ }
    };
    if (!TIME) timer = setInterval(poll, 20);
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', () => { if (!TIME) poll(); });
    child.on('close', (code) => {
      if (timer) clearInterval(timer);
      let kib = hwm;
      if (TIME) {
        const lines = fs.readFileSync(timeFile, 'utf8').trim().split('\n');
        kib = Number(lines[lines.length - 1]);
      }
      resolve({ code, peak: kib * 1024, seconds: (performance.now() - t0) / 1000, stderr: stderr.trim().split('\n').filter((l) => !/^Command exited/.test(l)).slice(-2).join(' / ') });
    });
  });
}

// ---- main --------------------------------------------------------------------------------------------
const mib = (b) => (b >= 10 * GiB ? `${(b / GiB).toFixed(0)} GiB` : b >= GiB ? `${(b / GiB).toFixed(2)} GiB` : `${(b / MiB).toFixed(b < 10 * MiB ? 1 : 0)} MiB`);
const selected = CASES.filter((c) => !only || `${c.label} ${c.command}`.includes(only));
console.error(`memory-check: ${selected.length} cases, ${jobs} at a time; peak RSS via ${method}; specs in ${tmp}`);

if (dry) {
  for (const c of selected) {
    const { model } = modelOf(c.label);
    const { parts, e } = estimateOf(model, c.command);
    console.log(`${c.label} ${c.command}: ${mib(e.bytes)} = ${parts.filter((p) => p.bytes > 0).map((p) => `${p.what} ${mib(p.bytes)}`).join(' + ')} + runtime ${mib(RUNTIME)}`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(0);
}
const baseline = await run(['models']);
const results = new Array(selected.length);
// largest estimates first (roughly the longest runs), so that the parallel runs end together
const planned = selected.map((c, i) => ({ i, c, ...modelOf(c.label) })).map((x) => ({ ...x, ...estimateOf(x.model, x.c.command) }));
const queue = [...planned].sort((a, b) => b.e.bytes - a.e.bytes);
async function worker() {
  while (queue.length) {
    const { i, c, model, ref, parts, e } = queue.shift();
    // the CLI refuses estimates above the ceiling: raise it where the estimate itself exceeds 64G
    const ceiling = e.bytes > 60 * GiB ? `${Math.ceil((e.bytes * 1.01) / GiB)}G` : '64G';
    const args = argsFor(c, ref, ceiling);
    const r = await run(args);
    results[i] = { c, model, parts, e, args, ceiling, ...r };
    console.error(`  ${c.label} ${c.command}: estimate ${mib(e.bytes)}, peak ${mib(r.peak)}, ${r.seconds.toFixed(1)} s${r.code ? ` (exit ${r.code}: ${r.stderr})` : ''}`);
  }
}
await Promise.all(Array.from({ length: jobs }, worker));

const cmdLine = (r) => `${r.args[0] === 'audit' ? 'audit' : `attack ${r.args[2]}`}${r.c.image ? ` ${path.basename(r.c.image)}` : ''}${r.c.command === 'hybrid' || r.c.command === 'ig' ? ` --iterations ${ITER}` : ''}${r.ceiling !== '64G' ? ` --max-memory ${r.ceiling}` : ''}`;
console.log(`Peak RSS measured with ${method}. Baseline (\`gradleak models\`, no model): ${mib(baseline.peak)}; the estimate's runtime allowance is ${mib(RUNTIME)}.\n`);
console.log('"beyond runtime" compares the estimate without its runtime allowance with the peak minus the baseline.\n');
console.log('| case | input | command | estimate | measured peak | estimate/peak | beyond runtime: est/peak | time | largest part (estimate) |');
console.log('|---|---|---|---:|---:|---:|---:|---:|---|');
for (const r of results) {
  if (!r) continue;
  const ratio = r.e.bytes / r.peak;
  const flag = r.code ? ` **exit ${r.code}**` : ratio < 1 ? ' **UNDER**' : ratio > 4 ? ' (>4×)' : '';
  const beyond = `${mib(r.e.bytes - RUNTIME)} / ${mib(Math.max(0, r.peak - baseline.peak))}`;
  console.log(`| ${r.c.label} | ${r.model.spec.input.join('×')} | ${cmdLine(r)} | ${mib(r.e.bytes)} | ${mib(r.peak)} | ${ratio.toFixed(2)}${flag} | ${beyond} | ${r.seconds.toFixed(1)} s | ${r.e.largest.what}: ${mib(r.e.largest.bytes)} |`);
}
const ok = results.filter((r) => r && !r.code);
const ratios = ok.map((r) => r.e.bytes / r.peak);
if (ratios.length) console.log(`\nRatios estimate/peak: ${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)}; under-estimates: ${ratios.filter((x) => x < 1).length} of ${ratios.length}; above 4×: ${ratios.filter((x) => x > 4).length}.`);
const failed = results.filter((r) => r && r.code);
for (const r of failed) console.log(`- ${r.c.label} ${r.c.command} exited ${r.code}: ${r.stderr}`);
if (showParts) {
  console.log('\nParts of each estimate (the runtime allowance not listed):\n');
  for (const r of results) if (r) console.log(`- ${r.c.label} ${r.c.command}: ${r.parts.filter((p) => p.bytes > 0).map((p) => `${p.what} ${mib(p.bytes)}`).join('; ')}`);
}
fs.rmSync(tmp, { recursive: true, force: true });
