import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { getAttack } from '../../core/attacks/registry.js';
import { fail } from '../../core/errors.js';
import { PRESETS } from '../../core/presets.js';
import { buildModel } from '../../core/spec.js';
import { spearman, type Spearman } from '../../core/stats.js';
import { bitmapToTensor, fitBitmap, REFERENCE_NORMALISATION } from '../../formats/image.js';
import { writeFilesAtomically } from '../../io/files.js';
import { loadImageSet } from '../../io/imagesets.js';
import { int, parse, str } from '../args.js';
import type { StudyCell, StudyRow } from '../study-cell.js';

export const STUDY_HELP = `gradleak study [--models all|m1,m2,...] [--images samples|DIR|CIFAR.bin|IDX-images] [--count N]
               [--methods rgap,hybrid] [--iterations N] [--workers N] [--seed N] [--out DIR]
  For every architecture × image: simulate the client (seeded PyTorch-style weights), audit, run each
  method, and record the index variants, per-layer rank deficiencies, structural ranks, conditions,
  PSNR/SSIM/MSE and times. Cells run on worker threads (default: one per core). Finished cells are
  kept in DIR/results.jsonl and skipped on a rerun. Writes DIR/results.json, DIR/results.csv and
  DIR/summary.json (Spearman's rho between each index and the best PSNR, with 95% intervals).
  Images that are not the model's size are resampled; without dataset labels, image i gets label i mod classes.`;

export function runStudy(argv: string[]): Promise<void> {
  const v = parse(argv, {
    models: { type: 'string' }, images: { type: 'string' }, count: { type: 'string' }, methods: { type: 'string' },
    iterations: { type: 'string' }, workers: { type: 'string' }, out: { type: 'string' },
  });
  if (v.help) { console.log(STUDY_HELP); return Promise.resolve(); }
  const models = (str(v, 'models') ?? 'all') === 'all' ? Object.keys(PRESETS) : str(v, 'models')!.split(',');
  for (const m of models) if (!Object.hasOwn(PRESETS, m)) fail(`unknown model "${m}" (see 'gradleak models')`);
  const methods = (str(v, 'methods') ?? 'rgap,hybrid').split(',');
  methods.forEach(getAttack);
  const count = int(v, 'count', 5)!;
  if (count < 1) fail('--count must be at least 1');
  const images = loadImageSet(str(v, 'images') ?? 'samples', count);
  const seed = int(v, 'seed', 0)!;
  const iterations = int(v, 'iterations');
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
    const model = buildModel(PRESETS[m]);
    images.forEach((img, i) => {
      const key = `${m}|${img.id}|${methods.join('+')}|${iterations ?? 'default'}|${seed}`;
      keys.push(key);
      if (done.has(key)) return;
      const label = (img.label ?? i) % model.classes;
      cells.push({ key, model: m, image: img.id, input: bitmapToTensor(fitBitmap(img.bitmap, model.spec.input), model.spec.input, REFERENCE_NORMALISATION), label, methods, iterations, seed });
    });
  }
  const total = keys.length;
  const workers = Math.max(1, Math.min(int(v, 'workers', os.availableParallelism?.() ?? os.cpus().length)!, cells.length || 1));
  fs.mkdirSync(out, { recursive: true });
  console.error(`study: ${models.length} models × ${images.length} images = ${total} cells; ${done.size} already done, ${cells.length} to run on ${workers} worker(s)`);
  const t0 = performance.now();
  return runPool(cells, workers, (row) => {
    fs.appendFileSync(journal, JSON.stringify(row) + '\n');
    done.set(row.key, row);
    progress(done.size, total, t0);
  }).then((errors) => {
    if (process.stderr.isTTY) process.stderr.write('\n');
    const rows = keys.flatMap((k) => done.get(k) ?? []);
    const summary = summarise(rows, methods);
    writeFilesAtomically([
      { file: path.join(out, 'results.json'), data: JSON.stringify(rows, null, 1) + '\n' },
      { file: path.join(out, 'results.csv'), data: csv(rows, methods) },
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

const fmt = (s: Spearman) => `${s.rho.toFixed(3)} [${s.low.toFixed(3)}, ${s.high.toFixed(3)}] (n=${s.n})`;

function progress(doneCount: number, total: number, t0: number): void {
  if (!process.stderr.isTTY) return;
  const secs = (performance.now() - t0) / 1000;
  process.stderr.write(`\rstudy: ${doneCount}/${total} cells, ${secs.toFixed(0)} s   `);
}

interface CellError { key: string; error: string }

/** Runs the cells on `n` worker threads; resolves with the cells that failed. */
function runPool(cells: StudyCell[], n: number, onRow: (r: StudyRow) => void): Promise<CellError[]> {
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
      worker.on('message', (m: { ok: true; row: StudyRow } | { ok: false; key: string; error: string }) => {
        if (m.ok) onRow(m.row);
        else errors.push({ key: m.key, error: m.error });
        feed();
      });
      worker.on('error', reject);
      feed();
    }
  });
}

export interface StudySummary {
  cells: number;
  /** Per method: Spearman's rho between each index variant and that method's PSNR; 'best' = max over methods. */
  spearman: Record<string, { copaIndex: Spearman; normalisedIndex: Spearman; structuralIndex: Spearman }>;
}

function summarise(rows: StudyRow[], methods: string[]): StudySummary {
  const spearmanFor = (psnr: (r: StudyRow) => number) => {
    const ok = rows.filter((r) => Number.isFinite(psnr(r)));
    const y = ok.map((r) => Math.min(psnr(r), 100)); // exact recoveries (>100 dB) tie at the top
    return {
      copaIndex: spearman(ok.map((r) => r.copaIndex), y),
      normalisedIndex: spearman(ok.map((r) => r.normalisedIndex), y),
      structuralIndex: spearman(ok.map((r) => r.structuralIndex), y),
    };
  };
  const out: StudySummary['spearman'] = {};
  for (const m of methods) out[m] = spearmanFor((r) => r.methods[m]?.psnr ?? NaN);
  if (methods.length > 1) out.best = spearmanFor((r) => Math.max(...methods.map((m) => r.methods[m]?.psnr ?? -Infinity)));
  return { cells: rows.length, spearman: out };
}

function csv(rows: StudyRow[], methods: string[]): string {
  const head = ['model', 'image', 'label', 'layers', 'copaIndex', 'normalisedIndex', 'structuralIndex', 'rankDeficiency', 'structuralDeficiency', 'flaggedLayers', 'auditSeconds',
    ...methods.flatMap((m) => [`${m}_psnr`, `${m}_ssim`, `${m}_mse`, `${m}_seconds`])];
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = rows.map((r) => [
    r.model, r.image, r.label, r.layers, r.copaIndex, r.normalisedIndex, r.structuralIndex,
    r.rankDeficiency.join(';'), r.structuralDeficiency.join(';'), r.flaggedLayers.join(';'), r.auditSeconds,
    ...methods.flatMap((m): (number | string)[] => { const x = r.methods[m]; return x ? [x.psnr, x.ssim, x.mse, x.seconds] : ['', '', '', '']; }),
  ].map((c) => q(String(c))).join(','));
  return [head.join(','), ...lines].join('\n') + '\n';
}

