import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { getAttack } from '../../core/attacks/registry.js';
import { fail } from '../../core/errors.js';
import { buildModel } from '../../core/spec.js';
import { resolveStudyModels, studySpec } from '../../core/sweeps.js';
import type { Spearman } from '../../core/stats.js';
import { studyReport } from '../../study/report.js';
import { summarise, toCsv } from '../../study/summary.js';
import { bitmapToTensor, decodeImage, encodeImagePng, fitBitmap, REFERENCE_NORMALISATION, unitTensorToBitmap } from '../../formats/image.js';
import { writeFilesAtomically } from '../../io/files.js';
import { loadImageSet } from '../../io/imagesets.js';
import { int, num, parse, str } from '../args.js';
import { bar } from '../progress.js';
import type { CellResult, StudyCell, StudyRow } from '../../study/cell.js';

export const STUDY_HELP = `gradleak study [--models all|sweeps|sweep:<factor>|m1,m2,...] [--images samples|DIR|CIFAR.bin|IDX-images]
               [--count N] [--methods rgap,hybrid] [--iterations N] [--train-steps N] [--train-lr R]
               [--workers N] [--seed N] [--out DIR]
  For every architecture × image: play the client (seeded PyTorch-style weights; with --train-steps,
  after N SGD steps on its image), audit, run each method, and record the index variants, per-layer
  rank deficiencies, structural ranks, conditions, PSNR/SSIM/MSE and times.
  --models: 'all' = the 34 presets (default); 'sweeps' = cnn3_c1 with one of channels, kernel, stride,
  padding, depth, activation changed ('sweep:kernel' for one family); or names, comma-separated.
  Cells run on worker threads (default: one per core). Finished cells are kept in DIR/results.jsonl
  and skipped on a rerun. Writes to DIR (default out/study): results.json, results.csv, summary.json
  (Spearman's rho of each index variant against each method's PSNR and the best, with 95% intervals),
  report.md, scatter-<method>.svg/.png, rank-deficiency.svg/.png, best-worst.svg/.png, reconstructions/.
  Images that are not the model's size are resampled; without dataset labels, image i gets label i mod classes.`;

export function runStudy(argv: string[]): Promise<void> {
  const v = parse(argv, {
    models: { type: 'string' }, images: { type: 'string' }, count: { type: 'string' }, methods: { type: 'string' },
    iterations: { type: 'string' }, workers: { type: 'string' }, out: { type: 'string' },
    'train-steps': { type: 'string' }, 'train-lr': { type: 'string' },
  });
  if (v.help) { console.log(STUDY_HELP); return Promise.resolve(); }
  const models = resolveStudyModels(str(v, 'models') ?? 'all');
  const methods = (str(v, 'methods') ?? 'rgap,hybrid').split(',');
  methods.forEach(getAttack);
  const count = int(v, 'count', 5)!;
  if (count < 1) fail('--count must be at least 1');
  const images = loadImageSet(str(v, 'images') ?? 'samples', count);
  const seed = int(v, 'seed', 0)!;
  const iterations = int(v, 'iterations');
  const trainSteps = int(v, 'train-steps', 0)!;
  if (trainSteps < 0) fail('--train-steps must be 0 or more');
  const trainLr = num(v, 'train-lr', 0.01);
  if (!(trainLr > 0)) fail('--train-lr must be positive');
  // a trained client is a different cell; untrained keys stay as they were so old journals resume
  const trained = trainSteps > 0 ? `|train${trainSteps}@${trainLr}` : '';
  const out = str(v, 'out') ?? 'out/study';
  const journal = path.join(out, 'results.jsonl');
  const done = new Map<string, StudyRow>();
  if (fs.existsSync(journal)) {
    for (const line of fs.readFileSync(journal, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try { const r = JSON.parse(line) as StudyRow; done.set(r.key, r); } catch { /* a line cut by an interrupted run is redone */ }
    }
  }
  // every cell of this study in a fixed order (models × images); outputs follow it, not the order
  // in which the workers happen to finish
  const keys: string[] = [];
  const cells: StudyCell[] = [];
  for (const m of models) {
    const model = buildModel(studySpec(m));
    images.forEach((img, i) => {
      const key = `${m}|${img.id}|${methods.join('+')}|${iterations ?? 'default'}|${seed}${trained}`;
      keys.push(key);
      if (done.has(key)) return;
      const label = (img.label ?? i) % model.classes;
      cells.push({ key, model: m, image: img.id, input: bitmapToTensor(fitBitmap(img.bitmap, model.spec.input), model.spec.input, REFERENCE_NORMALISATION), label, methods, iterations, seed, trainSteps, trainLr });
    });
  }
  const total = keys.length;
  const workers = Math.max(1, Math.min(int(v, 'workers', os.availableParallelism?.() ?? os.cpus().length)!, cells.length || 1));
  fs.mkdirSync(out, { recursive: true });
  console.error(`study: ${models.length} models × ${images.length} images = ${total} cells; ${total - cells.length} already done, ${cells.length} to run on ${workers} worker(s)`);
  const t0 = performance.now();
  let finished = total - cells.length;
  return runPool(cells, workers, ({ row, reconstructions }) => {
    // the reconstructions first: a journal line promises that its images exist
    const shape = studySpec(row.model).input;
    writeFilesAtomically(Object.entries(reconstructions).map(([method, x]) => (
      { file: reconstructionFile(out, row, method), data: encodeImagePng(unitTensorToBitmap(x, shape)) })));
    fs.appendFileSync(journal, JSON.stringify(row) + '\n');
    done.set(row.key, row);
    progress(++finished, total, cells.length, t0, row);
  }).then((errors) => {
    if (process.stderr.isTTY) process.stderr.write('\n');
    const rows = keys.flatMap((k) => done.get(k) ?? []);
    const summary = summarise(rows, methods);
    const imageById = new Map(images.map((img) => [img.id, img.bitmap]));
    const report = rows.length === 0 ? [] : studyReport({
      rows, methods, summary, specOf: studySpec, command: `gradleak study ${argv.join(' ')}`.trim(),
      target: (r) => { const b = imageById.get(r.image); return b ? fitBitmap(b, studySpec(r.model).input) : null; },
      reconstruction: (r, m) => { const f = reconstructionFile(out, r, m); return fs.existsSync(f) ? decodeImage(fs.readFileSync(f), f) : null; },
    });
    writeFilesAtomically([
      ...report.map((f) => ({ file: path.join(out, f.file), data: f.data })),
      { file: path.join(out, 'results.json'), data: JSON.stringify(rows, null, 1) + '\n' },
      { file: path.join(out, 'results.csv'), data: toCsv(rows, methods) },
      { file: path.join(out, 'summary.json'), data: JSON.stringify(summary, null, 1) + '\n' },
    ]);
    for (const e of errors) console.error(`study: cell ${e.key} failed: ${e.error}`);
    console.log(`${rows.length} cells in ${out} (${((performance.now() - t0) / 1000).toFixed(1)} s this run)`);
    for (const [method, s] of Object.entries(summary.spearman)) {
      console.log(`  ${method}: Spearman rho(index, PSNR) = ${fmt(s.copaIndex)}; normalised ${fmt(s.normalisedIndex)}; structural ${fmt(s.structuralIndex)}`);
    }
    if (errors.length) process.exitCode = 1;
  });
}

/** Where a cell's reconstruction by one method is kept (PNG, [0,1] mapped to 0..255). */
export function reconstructionFile(out: string, row: StudyRow, method: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');
  const train = row.trainSteps ? `-train${row.trainSteps}` : '';
  return path.join(out, 'reconstructions', safe(row.model), `${safe(row.image)}${train}.${method}.png`);
}

const fmt = (s: Spearman) => `${s.rho.toFixed(3)} [${s.low.toFixed(3)}, ${s.high.toFixed(3)}] (n=${s.n})`;

/**
 * On a terminal, a bar with an estimate of the time left (from this run's cells); otherwise one
 * line per finished cell, so a log shows what each cell gave.
 */
function progress(doneCount: number, total: number, toRun: number, t0: number, row: StudyRow): void {
  const secs = (performance.now() - t0) / 1000;
  const psnrs = Object.entries(row.methods).map(([m, r]) => `${m} ${r.psnr.toFixed(1)} dB`).join(', ');
  if (!process.stderr.isTTY) {
    console.error(`study: ${doneCount}/${total} ${row.model} ${row.image}: index ${row.copaIndex}, ${psnrs} (${secs.toFixed(0)} s)`);
    return;
  }
  const ranThisRun = doneCount - (total - toRun);
  const left = (secs / ranThisRun) * (total - doneCount);
  process.stderr.write(`\rstudy ${bar(doneCount, total, 30)} ${doneCount}/${total} cells, ${fmtTime(secs)} elapsed, ~${fmtTime(left)} left   `);
}

const fmtTime = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min` : s >= 60 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${Math.round(s)} s`);

interface CellError { key: string; error: string }

/** Runs the cells on `n` worker threads; resolves with the cells that failed. */
function runPool(cells: StudyCell[], n: number, onRow: (r: CellResult) => void): Promise<CellError[]> {
  if (cells.length === 0) return Promise.resolve([]);
  const errors: CellError[] = [];
  let next = 0, live = n;
  return new Promise((resolve, reject) => {
    for (let w = 0; w < n; w++) {
      const worker = new Worker(new URL('../study-worker.js', import.meta.url));
      // a worker asks for the next cell only when its last one is finished, so the pool is done
      // when every worker has been retired
      const feed = () => {
        if (next < cells.length) { worker.postMessage(cells[next++]); return; }
        void worker.terminate();
        if (--live === 0) resolve(errors);
      };
      worker.on('message', (m: ({ ok: true } & CellResult) | { ok: false; key: string; error: string }) => {
        if (m.ok) onRow(m);
        else errors.push({ key: m.key, error: m.error });
        feed();
      });
      worker.on('error', reject);
      feed();
    }
  });
}
