/**
 * `npm run bench`: the speed figures the issues ask for, as ratios measured in one run on this
 * machine (never as timed tests). Prints a Markdown table and writes out/bench.json.
 *
 *  - fixtures: rgap (which computes every layer's rank, i.e. the audit) on the reference's weights
 *    and gradients, against the reference's own R-GAP seconds on this machine class;
 *  - cnn4_c1 (seeded weights, bundled 32×32 sample): audit then rgap, cold and warm, against the
 *    reference's 61 s (issue 11's measurement on this machine class);
 *  - the gradient-matching step on the issue's ladder of models (bench/matching-step.ts), ours in
 *    float32 (1 and 2 threads) and float64 beside PyTorch's float32 (best of 1 and 2 threads) when
 *    Debian's python3-torch is installed;
 *  - hybrid (default matching kernels) on the fixtures that have optimisation references: PSNR and
 *    seconds against theirs;
 *  - the dense-path audits (LeNet, LeNet2, cnn6d) with their ranks;
 *  - 128×128×3 input, cnn3_c1's layers (3 layers: conv, conv, linear) and cnn4_c1's (4 layers):
 *    audit + rgap wall time and peak memory, each in a child process so the memory is its own;
 *  - the full default study (`gradleak study`, every preset × 5 samples, rgap and hybrid) in a child
 *    process, its wall time (the longest part: `--no-study` skips it).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hybrid } from '../src/attacks/layerwise/hybrid.js';
import { rgap } from '../src/attacks/layerwise/rgap.js';
import { audit, auditOnWorkers } from '../src/analysis/audit.js';
import { spawnLayerWorker } from '../src/cli/layer-threads.js';
import { DEFAULT_RANK_TOL } from '../src/solve/layersolve.js';
import { psnr, quality } from '../src/metrics/quality.js';
import { SolverCache } from '../src/solve/solver-cache.js';
import { bitmapToTensor, decodeImage, REFERENCE_NORMALISATION, toUnitRange } from '../src/formats/image.js';
import { parseSafetensors } from '../src/formats/safetensors.js';
import { measureSteps, stepTable } from './matching-step.js';
import { DEFAULT_PRECISION, matchingKernels } from '../src/kernels/select.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { chainToGraph } from '../src/model/chain.js';
import { buildGraph, type Graph } from '../src/model/graph.js';
import { initParams, paramsFromTensors } from '../src/model/params.js';
import { graphFromJson, presetGraph, presetSpec } from '../src/model/presets.js';
import { PRESETS } from '../src/model/chain-presets.js';
import { simulateClient } from '../src/threat/client.js';
import type { ServerPayload } from '../src/threat/payload.js';
import type { Tensor } from '../src/tensor/tensor.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REFERENCE = path.join(ROOT, 'test/fixtures/reference');
const REPEATS = 3;
/** The reference R-GAP's seconds on cnn4_c1 (issue 11, same machine class). */
const CNN4_C1_REFERENCE = 61;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function time(f: () => void): number {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
}

function loadSample(model: Graph, file: string): Tensor {
  const [c, h, w] = model.input;
  const data = bitmapToTensor(decodeImage(new Uint8Array(fs.readFileSync(path.join(ROOT, 'samples', file)))), [c, h, w], REFERENCE_NORMALISATION);
  return { shape: [1, c, h, w], data };
}

const payloadOf = (model: Graph, params: ServerPayload['params']): ServerPayload => ({ model, params, normalisation: REFERENCE_NORMALISATION, bnMode: 'train' });

/** One large-input case, run in its own process: prints one JSON line. */
function largeCase(base: string): void {
  const model = buildGraph(chainToGraph({ ...PRESETS[base], name: `${base}@128`, input: [3, 128, 128] }));
  const payload = payloadOf(model, initParams(model, 0));
  const image = loadSample(model, 'hills-128.png');
  const { update } = simulateClient(JS_KERNELS, model, payload.params, 'train', image, [3]);
  let result!: ReturnType<typeof audit>, recon!: Float64Array;
  const solver = new SolverCache();
  const tAudit = time(() => { result = audit(payload, { kind: 'image', image, label: 3 }, { solver }); });
  const tRgap = time(() => { recon = rgap.run(payload, update, { seed: 0, tol: DEFAULT_RANK_TOL, solver }).images.data; });
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
  console.log(JSON.stringify({
    model: model.name, layers: result.layers.length, unknowns: result.layers.map((l) => l.unknowns), rankDeficiency: result.layers.map((l) => l.rankDeficiency),
    auditSeconds: tAudit, rgapSeconds: tRgap, totalSeconds: tAudit + tRgap, peakMiB: Math.round(hwm),
    psnr: psnr(toUnitRange(recon, REFERENCE_NORMALISATION), toUnitRange(image.data, REFERENCE_NORMALISATION)),
  }));
}

/** The full default study in a child process (progress on this terminal): wall seconds and cells. */
function fullStudy(): { seconds: number; cells: number; workers: number } {
  fs.mkdirSync(path.join(ROOT, 'out'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, 'out/bench-study-'));
  try {
    console.error('bench: the full default study (tens of minutes; --no-study skips it)');
    const t0 = performance.now();
    const child = spawnSync(process.execPath, [path.join(ROOT, 'dist/src/cli/main.js'), 'study', '--out', dir],
      { stdio: ['ignore', 'ignore', 'inherit'] });
    const seconds = (performance.now() - t0) / 1000;
    if (child.status !== 0) throw new Error(`the default study failed (exit ${child.status})`);
    const cells = fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).length;
    return { seconds, cells, workers: os.availableParallelism() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(withStudy: boolean): Promise<void> {
  const rows: string[] = ['| case | what | gradleak s (median of 3) | reference s | ratio |', '|---|---|---|---|---|'];
  const out: Record<string, unknown> = { node: process.version, date: new Date().toISOString() };

  const fixture = (dir: string) => {
    const p = path.join(REFERENCE, dir);
    const model = graphFromJson(JSON.parse(fs.readFileSync(path.join(p, 'model.json'), 'utf8')), dir);
    const st = (f: string) => parseSafetensors(new Uint8Array(fs.readFileSync(path.join(p, f))));
    const payload = payloadOf(model, paramsFromTensors(model, st('weights.safetensors'), 'weights', 'weights'));
    const update = { gradients: paramsFromTensors(model, st('gradients.safetensors'), 'gradients', 'gradients'), batch: 1 };
    return { p, model, payload, update, reference: JSON.parse(fs.readFileSync(path.join(p, 'reference.json'), 'utf8')) };
  };

  for (const dir of fs.readdirSync(REFERENCE).filter((d) => fs.existsSync(path.join(REFERENCE, d, 'reference.json'))).sort()) {
    const { payload, update, reference } = fixture(dir);
    const ref = reference.reference_rgap.seconds_2cores as number;
    const secs = median(Array.from({ length: REPEATS }, () => time(() => rgap.run(payload, update, { seed: 0, tol: DEFAULT_RANK_TOL, solver: new SolverCache() }))));
    rows.push(`| ${dir} | rgap incl. per-layer ranks (cold) | ${secs.toFixed(3)} | ${ref} | ${((100 * secs) / ref).toFixed(2)} % |`);
    out[dir] = { seconds: secs, referenceSeconds: ref };
  }

  {
    const model = presetGraph('cnn4_c1')!;
    const payload = payloadOf(model, initParams(model, 0));
    const image = loadSample(model, 'hills.png');
    const { update } = simulateClient(JS_KERNELS, model, payload.params, 'train', image, [3]);
    const cold = Array.from({ length: REPEATS }, () => {
      const solver = new SolverCache();
      const a = time(() => audit(payload, { kind: 'image', image, label: 3 }, { solver }));
      const r = time(() => rgap.run(payload, update, { seed: 0, tol: DEFAULT_RANK_TOL, solver }));
      return { a, r };
    });
    const rgapCold = median(Array.from({ length: REPEATS }, () => time(() => rgap.run(payload, update, { seed: 0, tol: DEFAULT_RANK_TOL, solver: new SolverCache() }))));
    const a = median(cold.map((c) => c.a)), r = median(cold.map((c) => c.r)), total = median(cold.map((c) => c.a + c.r));
    const ref = CNN4_C1_REFERENCE, pct = (x: number) => `${((100 * x) / ref).toFixed(2)} %`;
    rows.push(`| cnn4_c1 | audit (cold) then rgap (reuses the weight factors) | ${a.toFixed(3)} + ${r.toFixed(3)} = ${total.toFixed(3)} | ${ref} | ${pct(total)} |`);
    rows.push(`| cnn4_c1 | rgap alone, cold (its ranks are the audit) | ${rgapCold.toFixed(3)} | ${ref} | ${pct(rgapCold)} |`);
    out.cnn4_c1 = { auditSeconds: a, rgapSecondsWarm: r, totalSeconds: total, rgapColdSeconds: rgapCold, referenceSeconds: ref };
  }

  // the dense-path audits (seeded weights, bundled sample, cold solver): seconds and the ranks
  for (const name of ['LeNet', 'LeNet2', 'cnn6d']) {
    const model = presetGraph(name)!;
    const payload = payloadOf(model, initParams(model, 0));
    const image = loadSample(model, 'hills.png');
    const source = { kind: 'image', image, label: 3 } as const;
    let result!: ReturnType<typeof audit>;
    const secs = time(() => { result = audit(payload, source, { solver: new SolverCache() }); });
    const ranks = result.layers.map((l) => `${l.rank}/${l.unknowns}`).join(' ');
    rows.push(`| ${name} | audit (dense path, one thread), ranks ${ranks} | ${secs.toFixed(2)} | 5 (the issue's aim) | — |`);
    // what `gradleak audit` does by default: the layer systems on worker threads, one per core
    const threads = os.availableParallelism();
    const t0 = performance.now();
    const parallel = await auditOnWorkers(payload, source, { spawn: spawnLayerWorker, threads }, { solver: new SolverCache() });
    const wall = (performance.now() - t0) / 1000;
    const same = parallel.layers.every((l, i) => l.rank === result.layers[i].rank);
    rows.push(`| ${name} | audit (dense path, ${threads} threads), ranks ${same ? 'identical' : 'DIFFER'} | ${wall.toFixed(2)} | 5 (the issue's aim) | — |`);
    out[`audit_${name}`] = { seconds: secs, threadedSeconds: wall, threads, ranks: result.layers.map((l) => l.rank) };
  }

  // the gradient-matching step on the ladder of models, beside PyTorch's in this run
  const steps = measureSteps(ROOT);
  out.matchingStep = steps;

  // hybrid on the fixtures with optimisation references: quality and time against the reference's hybrid
  for (const dir of ['cnn2_c2-chelsea', 'cnn3_c1-chelsea']) {
    const { p, model, payload, update, reference } = fixture(dir);
    const ref = reference.reference_optimisation.hybrid as { psnr1_clipped: number; s: number };
    const [c, h, w] = model.input;
    const target = toUnitRange(bitmapToTensor(decodeImage(new Uint8Array(fs.readFileSync(path.join(p, 'target.png')))), [c, h, w], REFERENCE_NORMALISATION), REFERENCE_NORMALISATION);
    let img!: Float64Array;
    // cold, like the reference: a fresh solver cache, no solves left over from the rgap rows above
    // the matching kernels a user gets by default (WebAssembly, --precision's default)
    const matching = matchingKernels(DEFAULT_PRECISION).kernels;
    const secs = time(() => {
      img = hybrid.run(payload, update, {
        seed: 0, tol: DEFAULT_RANK_TOL, solver: new SolverCache(), matchingKernels: matching,
      }).images.data;
    });
    const q = quality(toUnitRange(img, REFERENCE_NORMALISATION), target, [c, h, w]);
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
  // the analytic audit's growth with the input, 32² → 224² (scripts/analytic-scaling.mjs, a child per size)
  const growth = spawnSync(process.execPath,
    [path.join(ROOT, 'scripts/analytic-scaling.mjs'), '--repeat', '3'], { encoding: 'utf8' });
  out.analyticGrowth = growth.status === 0 ? growth.stdout : `failed: ${growth.stderr}`;
  if (withStudy) {
    const study = fullStudy();
    out.fullStudy = study;
    rows.push(`| default study (${study.cells} cells, ${study.workers} workers) | \`gradleak study\` | ${study.seconds.toFixed(0)} | — | — |`);
  }
  console.log(rows.join('\n'));
  console.log(`\n${STEP_CAPTION}\n\n${stepTable(steps)}`);
  console.log(`\nAnalytic audit of cnn3_c1's layout by input size:\n\n${out.analyticGrowth}`);
  fs.mkdirSync(path.join(ROOT, 'out'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'out/bench.json'), JSON.stringify(out, null, 1) + '\n');
  console.log('\nwrote out/bench.json');
}

const STEP_CAPTION = 'Gradient-matching step (cosine, BN in train mode; PyTorch: the same graph built from its spec '
  + 'by bench/torch_step.py, float32):';

if (process.argv[2] === '--large') largeCase(process.argv[3]);
else if (process.argv[2] === '--steps') console.log(`${STEP_CAPTION}\n\n${stepTable(measureSteps(ROOT, process.argv[3]))}`);
else await main(!process.argv.includes('--no-study'));
