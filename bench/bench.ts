/**
 * `npm run bench`: the speed figures the issues ask for, as ratios measured in one run on this
 * machine (never as timed tests). Prints a Markdown table and writes out/bench.json.
 *
 *  - fixtures: rgap (which computes every layer's rank, i.e. the audit) on the reference's weights
 *    and gradients, against the reference's own R-GAP seconds on this machine class;
 *  - cnn4_c1 (seeded weights, bundled 32×32 sample): audit then rgap, cold and warm, against the
 *    reference's 113 s;
 *  - one gradient-matching value+gradient step on cnn3_c1, against PyTorch's 2.3 ms;
 *  - hybrid on the fixtures that have optimisation references: PSNR and seconds against theirs;
 *  - 128×128×3 input, cnn3_c1's layers (3 layers: conv, conv, linear) and cnn4_c1's (4 layers):
 *    audit + rgap wall time and peak memory, each in a child process so the memory is its own.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { audit } from '../src/core/audit.js';
import { rgap } from '../src/core/attacks/rgap.js';
import { simulateClient } from '../src/core/client.js';
import { DEFAULT_RANK_TOL } from '../src/core/layersolve.js';
import { SolverCache } from '../src/core/solver-cache.js';
import { psnr, quality } from '../src/core/metrics.js';
import { matchingLoss } from '../src/core/matching.js';
import { hybrid } from '../src/core/attacks/hybrid.js';
import { initParams } from '../src/core/network.js';
import { paramsFromTensors } from '../src/core/params-io.js';
import { PRESETS } from '../src/core/presets.js';
import { buildModel, parseSpec, type ModelSpec } from '../src/core/spec.js';
import { bitmapToTensor, decodeImage, REFERENCE_NORMALISATION, toUnitRange } from '../src/formats/image.js';
import { parseSafetensors } from '../src/formats/safetensors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REFERENCE = path.join(ROOT, 'test/fixtures/reference');
const REPEATS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function time(f: () => void): number {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
}

function loadSample(spec: ModelSpec, file: string): Float64Array {
  return bitmapToTensor(decodeImage(new Uint8Array(fs.readFileSync(path.join(ROOT, 'samples', file)))), spec.input, REFERENCE_NORMALISATION);
}

/** One large-input case, run in its own process: prints one JSON line. */
function largeCase(base: string): void {
  const spec: ModelSpec = { ...PRESETS[base], name: `${base}@128`, input: [3, 128, 128] };
  const model = buildModel(spec);
  const params = initParams(model, 0);
  const image = loadSample(spec, 'hills-128.png');
  const { gradients } = simulateClient(model, params, image, 3);
  let result!: ReturnType<typeof audit>, recon!: Float64Array;
  const solver = new SolverCache();
  const tAudit = time(() => { result = audit(model, params, { kind: 'image', image, label: 3 }, { solver }); });
  const tRgap = time(() => { recon = rgap.run({ model, params, gradients }, { seed: 0, tol: DEFAULT_RANK_TOL, solver }).image; });
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
  console.log(JSON.stringify({
    model: spec.name, layers: model.layers.length, unknowns: result.layers.map((l) => l.unknowns), rankDeficiency: result.layers.map((l) => l.rankDeficiency),
    auditSeconds: tAudit, rgapSeconds: tRgap, totalSeconds: tAudit + tRgap, peakMiB: Math.round(hwm),
    psnr: psnr(toUnitRange(recon, REFERENCE_NORMALISATION), toUnitRange(image, REFERENCE_NORMALISATION)),
  }));
}

function main(): void {
  const rows: string[] = ['| case | what | gradleak s (median of 3) | reference s | ratio |', '|---|---|---|---|---|'];
  const out: Record<string, unknown> = { node: process.version, date: new Date().toISOString() };

  for (const dir of fs.readdirSync(REFERENCE).filter((d) => fs.existsSync(path.join(REFERENCE, d, 'reference.json'))).sort()) {
    const p = path.join(REFERENCE, dir);
    const model = buildModel(parseSpec(JSON.parse(fs.readFileSync(path.join(p, 'model.json'), 'utf8'))));
    const st = (f: string, w: string) => paramsFromTensors(model, parseSafetensors(new Uint8Array(fs.readFileSync(path.join(p, f)))), w);
    const params = st('weights.safetensors', 'weights'), gradients = st('gradients.safetensors', 'gradients');
    const ref = JSON.parse(fs.readFileSync(path.join(p, 'reference.json'), 'utf8')).reference_rgap.seconds_2cores as number;
    const secs = median(Array.from({ length: REPEATS }, () => time(() => rgap.run({ model, params, gradients }, { seed: 0, tol: DEFAULT_RANK_TOL, solver: new SolverCache() }))));
    rows.push(`| ${dir} | rgap incl. per-layer ranks (cold) | ${secs.toFixed(3)} | ${ref} | ${((100 * secs) / ref).toFixed(2)} % |`);
    out[dir] = { seconds: secs, referenceSeconds: ref };
  }

  const spec = PRESETS.cnn4_c1;
  const model = buildModel(spec);
  const params = initParams(model, 0);
  const image = loadSample(spec, 'hills.png');
  const { gradients } = simulateClient(model, params, image, 3);
  const cold = Array.from({ length: REPEATS }, () => {
    const solver = new SolverCache();
    const a = time(() => audit(model, params, { kind: 'image', image, label: 3 }, { solver }));
    const r = time(() => rgap.run({ model, params, gradients }, { seed: 0, tol: DEFAULT_RANK_TOL, solver }));
    return { a, r };
  });
  const rgapCold = median(Array.from({ length: REPEATS }, () => time(() => rgap.run({ model, params, gradients }, { seed: 0, tol: DEFAULT_RANK_TOL, solver: new SolverCache() }))));
  const a = median(cold.map((c) => c.a)), r = median(cold.map((c) => c.r)), total = median(cold.map((c) => c.a + c.r));
  rows.push(`| cnn4_c1 | audit (cold) then rgap (reuses the weight factors) | ${a.toFixed(3)} + ${r.toFixed(3)} = ${total.toFixed(3)} | 113 | ${((100 * total) / 113).toFixed(2)} % |`);
  rows.push(`| cnn4_c1 | rgap alone, cold (its ranks are the audit) | ${rgapCold.toFixed(3)} | 113 | ${((100 * rgapCold) / 113).toFixed(2)} % |`);
  out.cnn4_c1 = { auditSeconds: a, rgapSecondsWarm: r, totalSeconds: total, rgapColdSeconds: rgapCold, referenceSeconds: 113 };

  // one gradient-matching value+gradient step on cnn3_c1 (PyTorch on this machine class: 2.3 ms)
  {
    const m3 = buildModel(PRESETS.cnn3_c1);
    const p3 = initParams(m3, 0);
    const target = simulateClient(m3, p3, loadSample(PRESETS.cnn3_c1, 'hills.png'), 3).gradients;
    const x = new Float64Array(3072).map((_, k) => 0.2 * Math.sin(k));
    for (const distance of ['cosine', 'l2'] as const) {
      const problem = { model: m3, params: p3, target, label: 3, distance };
      for (let i = 0; i < 200; i++) matchingLoss(problem, x);
      const ms = median(Array.from({ length: REPEATS }, () => (time(() => { for (let i = 0; i < 500; i++) matchingLoss(problem, x); }) * 1000) / 500));
      rows.push(`| cnn3_c1 | gradient-matching step (${distance}): value + ∂/∂image, ms | ${ms.toFixed(3)} | 2.3 (PyTorch) | ${((100 * ms) / 2.3).toFixed(0)} % |`);
      out[`step_${distance}`] = { ms, pytorchMs: 2.3 };
    }
  }

  // hybrid on the fixtures with optimisation references: quality and time against the reference's hybrid
  for (const dir of ['cnn2_c2-chelsea', 'cnn3_c1-chelsea']) {
    const p = path.join(REFERENCE, dir);
    const model3 = buildModel(parseSpec(JSON.parse(fs.readFileSync(path.join(p, 'model.json'), 'utf8'))));
    const st = (f: string, w: string) => paramsFromTensors(model3, parseSafetensors(new Uint8Array(fs.readFileSync(path.join(p, f)))), w);
    const ref = JSON.parse(fs.readFileSync(path.join(p, 'reference.json'), 'utf8')).reference_optimisation.hybrid as { psnr1_clipped: number; s: number };
    const target = toUnitRange(bitmapToTensor(decodeImage(new Uint8Array(fs.readFileSync(path.join(p, 'target.png')))), model3.spec.input, REFERENCE_NORMALISATION), REFERENCE_NORMALISATION);
    let img!: Float64Array;
    // cold, like the reference: a fresh solver cache, no solves left over from the rgap rows above
    const solver = new SolverCache();
    const secs = time(() => { img = hybrid.run({ model: model3, params: st('weights.safetensors', 'w'), gradients: st('gradients.safetensors', 'g') }, { seed: 0, tol: DEFAULT_RANK_TOL, box: [-0.5, 0.5], solver }).image; });
    const q = quality(toUnitRange(img, REFERENCE_NORMALISATION), target, model3.spec.input);
    rows.push(`| ${dir} | hybrid (defaults): PSNR clipped ${q.psnrClipped.toFixed(2)} dB vs reference ${ref.psnr1_clipped} dB | ${secs.toFixed(2)} | ${ref.s} | ${((100 * secs) / ref.s).toFixed(2)} % |`);
    out[`hybrid_${dir}`] = { seconds: secs, psnrClipped: q.psnrClipped, referencePsnr: ref.psnr1_clipped, referenceSeconds: ref.s };
  }

  for (const base of ['cnn3_c1', 'cnn4_c1']) {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--large', base], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`large case ${base} failed: ${child.stderr}`);
    const j = JSON.parse(child.stdout.trim().split('\n').pop()!);
    rows.push(`| ${j.model} (${j.layers} layers, ${j.unknowns[0]} unknowns in layer 0) | audit + rgap, peak ${j.peakMiB} MiB, PSNR ${j.psnr.toFixed(2)} dB | ${j.auditSeconds.toFixed(2)} + ${j.rgapSeconds.toFixed(2)} = ${j.totalSeconds.toFixed(2)} | cannot form its dense matrices | — |`);
    out[j.model] = j;
  }
  console.log(rows.join('\n'));
  fs.mkdirSync(path.join(ROOT, 'out'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'out/bench.json'), JSON.stringify(out, null, 1) + '\n');
  console.log('\nwrote out/bench.json');
}

if (process.argv[2] === '--large') largeCase(process.argv[3]);
else main();
