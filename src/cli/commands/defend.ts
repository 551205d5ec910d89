import fs from 'node:fs';
import path from 'node:path';
import { getAttack } from '../../attacks/registry.js';
import { fail } from '../../core/errors.js';
import { checkMemory } from '../../core/memory.js';
import type { AttackMode, DefendCell, DefendResult, DefendRow } from '../../defend/cell.js';
import { defendReport } from '../../defend/report.js';
import { defendPlan, defenceSweeps, secaggPopulation } from '../../app/defend.js';
import { seriesName, summariseDefend } from '../../defend/summary.js';
import { formatDefence } from '../../defences/spec.js';
import {
  decodeImage, encodeImagePng, fitBitmap, unitTensorToBitmap,
} from '../../formats/image.js';
import { checkOutput, removeStaleTemps, writeFilesAtomically } from '../../io/files.js';
import { loadImageSet } from '../../io/imagesets.js';
import { resolveStudyModels } from '../../model/sweeps.js';
import { cellMemory } from '../../study/cell.js';
import { csvField } from '../../study/summary.js';
import { bnMode, MODEL_OPTIONS } from '../args.js';
import { PRECISION_OPTION, precisionOf } from '../attack-setup.js';
import { cellProgress, parseJson, readJournal } from '../cell-pool.js';
import { cellRunner, QUEUE_OPTION } from '../cell-runner.js';
import type { Command } from '../command.js';
import { MEMORY_OPTION, type Args } from '../options.js';
import { studyModels } from '../study-models.js';

export const defendCommand: Command = {
  name: 'defend',
  usage: 'gradleak defend --model M [--weights W] --defence NAME:S1,S2,... [--defence ...]\n'
    + `               [--methods rgap,hybrid,ig] [--images samples|DIR] [--count N] [--adaptive]
               [--population SET] [--bn-mode train|eval] [--break-psnr DB] [--delta D]
               [--iterations N] [--seed S] [--threads N] --out DIR
  How strong must a defence be? For every defence at every strength listed (noise:0.5,1,2;
  prune:0.5,0.9; quantise:float16,int8,sign; fedavg:steps=1,5,20,lr=0.1; a bare name sweeps every
  choice of quantise; secagg:2,4 sums the target's update with K − 1 other clients' from --population),
  every attack and every image, the client shares its defended update and the attack reconstructs;
  the undefended baseline runs once per attack and image. With --adaptive each
  defended cell runs twice, naive and with the attack that knows the defence. Reported per defence,
  strength and attack: mean PSNR/SSIM over the images with 95% intervals, the update's relative
  error and cosine against the clean gradient, ε at --delta for noise (one release), and the break
  point: the weakest strength from which the best attack's mean PSNR stays below --break-psnr
  (default 18 dB). Cells run on worker threads (or with --queue on \`gradleak worker\` processes) and
  are kept in DIR/results.jsonl (a rerun resumes). Writes results.json, results.csv, report.md,
  psnr-vs-strength.svg/.png, grid-<defence>.svg/.png, reconstructions/ and timing.json (the only file
  with times).`,
  options: {
    model: MODEL_OPTIONS.model,
    weights: MODEL_OPTIONS.weights,
    seed: MODEL_OPTIONS.seed,
    'bn-mode': MODEL_OPTIONS['bn-mode'],
    defence: {
      kind: 'string', arg: 'SPEC', repeatable: true,
      help: 'a defence and the strengths to sweep, e.g. noise:0.5,1,2 or fedavg:steps=1,5,lr=0.1',
    },
    methods: { kind: 'list', arg: 'M1,M2', help: 'attacks (default rgap,hybrid,ig)' },
    images: { kind: 'string', arg: 'SET', help: 'samples (default), a folder, a CIFAR-10 .bin or an IDX file' },
    population: {
      kind: 'string', arg: 'SET',
      help: 'the other clients\' images under secagg, as --images (default samples; the target left out)',
    },
    count: { kind: 'int', arg: 'N', help: 'images taken from the set (default 3)', min: 1, max: 1e6 },
    adaptive: { kind: 'boolean', help: 'also run each defended cell with the defence-aware attack' },
    'break-psnr': {
      kind: 'number', arg: 'DB', help: 'PSNR below which an attack counts as stopped (default 18)',
      min: 0, max: 1000,
    },
    delta: {
      kind: 'number', arg: 'D', help: 'δ of the noise\'s (ε, δ) unless its spec sets delta (default 1e-5)',
      min: 0, aboveMin: true, max: 0.5,
    },
    iterations: { kind: 'int', arg: 'N', help: 'iterations of the optimisation attacks', min: 1, max: 1e9 },
    ...PRECISION_OPTION,
    threads: { kind: 'int', arg: 'N', help: 'worker threads (default: one per core)', min: 1, max: 256 },
    ...QUEUE_OPTION,
    out: { kind: 'string', arg: 'DIR', help: 'output folder (required)' },
    ...MEMORY_OPTION,
  },
  run: runDefend,
};

async function runDefend(v: Args): Promise<void> {
  const out = v.str('out');
  if (!out) fail('--out DIR is required');
  checkOutput(out, 'dir');
  const ceiling = v.maxMemory();
  const sweeps = defenceSweeps(v.strs('defence'), v.num('delta'));
  const modelRef = v.str('model');
  if (!modelRef) fail('--model is required (a preset name such as cnn3_c1, a spec .json or an .onnx file)');
  const names = resolveStudyModels([modelRef]);
  if (names.length !== 1) fail(`--model takes one model; ${JSON.stringify(modelRef)} names ${names.length}`);
  const [m] = studyModels(v, names, ceiling);
  const methods = v.list('methods', ['rgap', 'hybrid', 'ig']);
  const attacks = methods.map(getAttack);
  const modes: AttackMode[] = v.flag('adaptive') ? ['naive', 'adaptive'] : ['naive'];
  const seed = v.int('seed', 0), iterations = v.int('iterations'), precision = precisionOf(v);
  const bn = bnMode(v);
  const threshold = v.num('break-psnr', 18);
  const perCell = cellMemory([m.graph], attacks);
  checkMemory(perCell, ceiling, 'a defend cell');
  const images = loadImageSet(v.str('images') ?? 'samples', v.int('count', 3));
  const populationSet = v.str('population') ?? 'samples';
  const shape = m.graph.input as [number, number, number];
  const journal = path.join(out, 'results.jsonl');
  for (const f of removeStaleTemps(out, 3)) console.error(`defend: removed ${f}, left by an interrupted run`);
  const done = readJournal(journal, parseRow, 'defend');
  // every cell in a fixed order (baseline, then defences as given, strengths weakest first); the
  // outputs follow it, not the order in which the workers finish
  const plan = defendPlan({
    model: { label: m.label, key: m.key, graph: m.graph, cell: m.cell }, sweeps, methods, modes,
    images: images.map((img) => ({ id: img.id, bitmap: img.bitmap, label: img.label })),
    iterations, seed, precision, bnMode: bn, population: secaggPopulation(sweeps, populationSet,
      (n) => loadImageSet(populationSet, n)),
  });
  const { keys, series } = plan;
  const cells = keys.filter((k) => !done.has(k)).map(plan.cell);
  const total = keys.length;
  const runner = cellRunner(v, 'defend', 'threads', cells.length, perCell.bytes, ceiling, out);
  for (const c of cells) c.maxBytes = runner.cellBytes;
  fs.mkdirSync(out, { recursive: true });
  console.error(`defend: ${plan.points.length} (defence, strength, attack) points × ${images.length} images = `
    + `${total} cells; ${total - cells.length} already done, ${cells.length} to run on ${runner.where}`);
  const t0 = performance.now();
  let finished = total - cells.length;
  const errors = await runner.run<DefendCell, DefendResult>('defend', cells, (result) => {
    const { row, reconstruction } = result;
    // the reconstruction first: a journal line promises that its image exists
    writeFilesAtomically([{
      file: reconstructionFile(out, row), data: encodeImagePng(unitTensorToBitmap(reconstruction, shape)),
    }]);
    fs.appendFileSync(journal, JSON.stringify(row) + '\n');
    done.set(row.key, row);
    cellProgress('defend', ++finished, total, cells.length, t0,
      `${row.defence} ${row.strength ?? ''} ${seriesName(row.method, row.mode)} ${row.image}: `
      + `${row.psnr.toFixed(1)} dB`);
  }, (signal) => {
    if (process.stderr.isTTY) process.stderr.write('\n');
    console.error(`defend: stopped by ${signal}; ${done.size} finished cells are kept in ${journal}: `
      + 'run the same command to resume');
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  const rows = keys.flatMap((k) => done.get(k) ?? []);
  const summary = summariseDefend(rows, sweeps, series, threshold);
  const first = images[0];
  const command = canonicalCommand(v, m.label, methods, images.length, seed, threshold);
  const report = rows.length === 0 ? [] : defendReport({
    summary, sweeps, series, images: images.map((i) => i.id), command,
    // the weights name the model as much as its layers do (a trained and an untrained lenet_zhu)
    model: v.has('weights') ? `${m.label} (${path.basename(v.str('weights')!)})` : m.label,
    target: fitBitmap(first.bitmap, shape),
    reconstruction: (record, method, mode) => {
      const f = reconstructionFile(out, {
        defence: record?.name ?? 'none', params: record ? { ...record.params } : {}, method, mode,
        image: first.id,
      });
      return fs.existsSync(f) ? decodeImage(fs.readFileSync(f), f) : null;
    },
  });
  // no times anywhere but timing.json (and the journal): the same seed gives the same bytes
  const stable = rows.map(({ seconds: _s, ...r }) => r);
  writeFilesAtomically([
    ...report.map((f) => ({ file: path.join(out, f.file), data: f.data })),
    {
      file: path.join(out, 'results.json'),
      data: JSON.stringify({ command, model: m.label, threshold, summary, rows: stable }, null, 1) + '\n',
    },
    { file: path.join(out, 'results.csv'), data: toCsv(rows) },
    {
      file: path.join(out, 'timing.json'),
      data: JSON.stringify(Object.fromEntries(rows.map((r) => [r.key, r.seconds])), null, 1) + '\n',
    },
  ]);
  for (const e of errors) console.error(`defend: cell ${e.key} failed: ${e.error}`);
  console.log(`${rows.length} cells in ${out} (${((performance.now() - t0) / 1000).toFixed(1)} s this run)`);
  for (const b of summary.breakPoints) console.log(`  ${b.defence}: ${b.strength === null
    ? `no break point (the best attack is at or above ${threshold} dB at the strongest setting)`
    : `break point ${b.strength} (from there on the best attack stays below ${threshold} dB)`}`);
  if (errors.length) process.exitCode = 1;
}

/**
 * The command as the report quotes it: what decides the results, in a fixed order, and not where
 * they were written or on how many threads, so two runs of one sweep write the same report.
 */
function canonicalCommand(
  v: Args, model: string, methods: string[], count: number, seed: number, threshold: number,
): string {
  const parts = ['gradleak defend --model', model];
  if (v.has('weights')) parts.push('--weights', path.basename(v.str('weights')!));
  if (v.has('bn-mode')) parts.push('--bn-mode', v.str('bn-mode')!);
  for (const s of v.strs('defence')) parts.push('--defence', s);
  parts.push('--methods', methods.join(','), '--images', v.str('images') ?? 'samples',
    '--count', String(count));
  if (v.flag('adaptive')) parts.push('--adaptive');
  if (v.has('population')) parts.push('--population', v.str('population')!);
  if (v.has('iterations')) parts.push('--iterations', String(v.int('iterations')));
  if (v.has('precision')) parts.push('--precision', v.str('precision')!);
  if (v.has('delta')) parts.push('--delta', String(v.num('delta')));
  parts.push('--break-psnr', String(threshold), '--seed', String(seed), '--out DIR');
  return parts.join(' ');
}

function parseRow(line: string): DefendRow | null {
  const r = parseJson(line) as DefendRow | null;
  const ok = typeof r === 'object' && r !== null && typeof r.key === 'string' && typeof r.image === 'string'
    && typeof r.defence === 'string' && typeof r.method === 'string'
    && (r.mode === 'naive' || r.mode === 'adaptive') && typeof r.psnr === 'number'
    && typeof r.params === 'object' && r.params !== null && typeof r.relError === 'number';
  return ok ? r : null;
}

/** Where a cell's reconstruction is kept (PNG, [0,1] mapped to 0..255). */
function reconstructionFile(
  out: string, r: Pick<DefendRow, 'defence' | 'params' | 'method' | 'mode' | 'image'>,
): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.=-]/g, '_');
  const spec = r.defence === 'none' ? 'none' : formatDefence({ name: r.defence, params: r.params });
  return path.join(out, 'reconstructions', safe(spec),
    `${safe(r.image)}.${r.method}${r.mode === 'adaptive' ? '.adaptive' : ''}.png`);
}

function toCsv(rows: DefendRow[]): string {
  const head = ['model', 'image', 'label', 'defence', 'strength', 'spec', 'method', 'mode', 'psnr', 'ssim',
    'mse', 'relError', 'cosine', 'epsilon'];
  const lines = rows.map((r) => [
    r.model, r.image, r.label, r.defence, r.strength ?? '',
    r.defence === 'none' ? 'none' : formatDefence({ name: r.defence, params: r.params }),
    r.method, r.mode, r.psnr, r.ssim, r.mse, r.relError, r.cosine, r.epsilon ?? '',
  ].map(csvField).join(','));
  return [head.join(','), ...lines].join('\n') + '\n';
}
