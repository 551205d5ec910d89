import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { getAttack } from '../../attacks/registry.js';
import { chainOrNull } from '../../model/chain.js';
import { fail } from '../../core/errors.js';
import { formatBytes } from '../../core/limits.js';
import {
  checkMemory, estimate, largestOf, parameterBytes, passBytes, solveBytes,
} from '../../core/memory.js';
import type { Graph, GraphSpec, ParamMap } from '../../model/graph.js';
import { chainSpec, isModelFile, resolveStudyModels } from '../../model/sweeps.js';
import type { Spearman } from '../../study/stats.js';
import {
  chainArchitecture, graphArchitecture, studyReport, type Architecture,
} from '../../study/report.js';
import { summarise, toCsv } from '../../study/summary.js';
import {
  bitmapToTensor, decodeImage, encodeImagePng, fitBitmap, REFERENCE_NORMALISATION, unitTensorToBitmap,
} from '../../formats/image.js';
import {
  checkOutput, contentHash, loadModel, readBytes, removeStaleTemps, writeFilesAtomically,
} from '../../io/files.js';
import { loadImageSet } from '../../io/imagesets.js';
import { loadParams, MODEL_OPTIONS } from '../args.js';
import { PRECISION_OPTION, precisionOf } from '../attack-setup.js';
import type { Command } from '../command.js';
import { MEMORY_OPTION, type Args } from '../options.js';
import { bar } from '../progress.js';
import type { CellResult, StudyCell, StudyRow } from '../../study/cell.js';

export const studyCommand: Command = {
  name: 'study',
  usage: 'gradleak study [--models all|sweeps|sweep:<factor>|m1,m2,...] '
    + `[--images samples|DIR|CIFAR.bin|IDX-images]
               [--count N] [--methods rgap,hybrid] [--iterations N] [--train-steps N] [--train-lr R]
               [--weights W.safetensors] [--workers N] [--seed N] [--out DIR]
  For every architecture × image: play the client (seeded PyTorch-style weights, an ONNX file's own,
  or --weights; with --train-steps, after N SGD steps on its image), audit, run each method, and
  record the index variants, per-layer rank deficiencies, structural ranks, conditions,
  PSNR/SSIM/MSE and times.
  --models: 'all' = the 34 presets (default); 'sweeps' = cnn3_c1 with one of channels, kernel, stride,
  padding, depth, activation changed ('sweep:kernel' for one family); or names and model files
  (spec .json, .onnx), comma-separated; a file is labelled by its name. --weights: one model only.
  Cells run on worker threads (default: one per core). Finished cells are kept in DIR/results.jsonl
  and skipped on a rerun (an unreadable line is set aside in results.torn.jsonl and its cell redone);
  Ctrl-C stops the study with the finished cells kept. Writes to DIR (default out/study): results.json,
  results.csv, summary.json (Spearman's rho of each index variant against each method's PSNR and the
  best, with 95% intervals), report.md, scatter-<method>.svg/.png, rank-deficiency.svg/.png,
  best-worst.svg/.png, reconstructions/. Images that are not the model's size are resampled; without
  dataset labels, image i gets label i mod classes.`,
  options: {
    models: { kind: 'list', arg: 'LIST', help: 'all (default), sweeps, sweep:<factor>, or model names' },
    images: {
      kind: 'string', arg: 'SET',
      help: 'samples (default), a folder of PNG/JPEG, a CIFAR-10 .bin batch or an IDX images file',
    },
    count: { kind: 'int', arg: 'N', help: 'images taken from the set (default 5)', min: 1, max: 1e6 },
    methods: { kind: 'list', arg: 'M1,M2', help: 'attacks per cell (default rgap,hybrid)' },
    iterations: { kind: 'int', arg: 'N', help: 'iterations of the optimisation attacks', min: 1, max: 1e9 },
    ...PRECISION_OPTION,
    'train-steps': {
      kind: 'int', arg: 'N', help: 'SGD steps the client takes on its image first (default 0)',
      min: 0, max: 1e6,
    },
    'train-lr': {
      kind: 'number', arg: 'R', help: 'their learning rate (default 0.01)', min: 0, aboveMin: true, max: 1e3,
    },
    workers: { kind: 'int', arg: 'N', help: 'worker threads (default: one per core)', min: 1, max: 256 },
    seed: MODEL_OPTIONS.seed,
    weights: {
      kind: 'string', arg: 'W.safetensors',
      help: 'weights of the one model studied (a trained checkpoint), by its tensors\' names',
    },
    out: { kind: 'string', arg: 'DIR', help: 'output folder (default out/study)' },
    ...MEMORY_OPTION,
  },
  run: runStudy,
};

function runStudy(v: Args): Promise<void> {
  const out = v.str('out') ?? 'out/study';
  checkOutput(out, 'dir');
  const ceiling = v.maxMemory();
  const models = studyModels(v, resolveStudyModels(v.list('models', ['all'])), ceiling);
  const methods = v.list('methods', ['rgap', 'hybrid']);
  const attacks = methods.map(getAttack);
  const count = v.int('count', 5);
  const seed = v.int('seed', 0);
  const iterations = v.int('iterations');
  const trainSteps = v.int('train-steps', 0);
  const trainLr = v.num('train-lr', 0.01);
  const precision = precisionOf(v);
  // a cell needs one model's audit and its largest method; workers run cells side by side
  const perCell = estimate(largestOf(models.map(({ graph: model }) => {
    const view = chainOrNull(model);
    return [
      parameterBytes(model, 4), passBytes(model), ...(view ? solveBytes(view.model) : []),
      ...largestOf(attacks.map((x) => x.memory(model, 1))),
    ];
  })));
  checkMemory(perCell, ceiling, 'a study cell');
  const images = loadImageSet(v.str('images') ?? 'samples', count);
  // a trained client is a different cell; untrained keys stay as they were so old journals resume
  const trained = trainSteps > 0 ? `|train${trainSteps}@${trainLr}` : '';
  // likewise float64 matching (what every study before the WebAssembly kernels ran)
  const arithmetic = precision === 'f64' ? '' : `|${precision}`;
  const journal = path.join(out, 'results.jsonl');
  for (const f of removeStaleTemps(out, 2)) console.error(`study: removed ${f}, left by an interrupted run`);
  const done = readJournal(journal);
  // every cell of this study in a fixed order (models × images); outputs follow it, not the order
  // in which the workers happen to finish
  const keys: string[] = [];
  const cells: StudyCell[] = [];
  for (const m of models) {
    const input = m.graph.input as [number, number, number];
    images.forEach((img, i) => {
      const key = `${m.key}|${img.id}|${methods.join('+')}|${iterations ?? 'default'}|${seed}${trained}`
        + arithmetic;
      keys.push(key);
      if (done.has(key)) return;
      const label = (img.label ?? i) % m.graph.classes;
      cells.push({
        key, model: m.label, ...m.cell, image: img.id,
        input: bitmapToTensor(fitBitmap(img.bitmap, input), input, REFERENCE_NORMALISATION),
        label, methods, iterations, seed, trainSteps, trainLr, precision,
      });
    });
  }
  const byLabel = new Map(models.map((m) => [m.label, m]));
  const inputOf = (model: string) => byLabel.get(model)!.graph.input as [number, number, number];
  const total = keys.length;
  let workers = Math.min(
    v.int('workers', os.availableParallelism?.() ?? os.cpus().length), cells.length || 1);
  const fits = Math.max(1, Math.floor(ceiling / perCell.bytes));
  if (workers > fits) {
    console.error(`study: ${workers} workers would need ${formatBytes(workers * perCell.bytes)}, `
      + `above the ${formatBytes(ceiling)} memory ceiling; running ${fits}`);
    workers = fits;
  }
  for (const c of cells) c.maxBytes = Math.floor(ceiling / workers);
  fs.mkdirSync(out, { recursive: true });
  console.error(`study: ${models.length} models × ${images.length} images = ${total} cells; `
    + `${total - cells.length} already done, ${cells.length} to run on ${workers} worker(s)`);
  const t0 = performance.now();
  let finished = total - cells.length;
  return runPool(cells, workers, ({ row, reconstructions }) => {
    // the reconstructions first: a journal line promises that its images exist
    const shape = inputOf(row.model);
    writeFilesAtomically(Object.entries(reconstructions).map(([method, x]) => (
      { file: reconstructionFile(out, row, method), data: encodeImagePng(unitTensorToBitmap(x, shape)) })));
    fs.appendFileSync(journal, JSON.stringify(row) + '\n');
    done.set(row.key, row);
    progress(++finished, total, cells.length, t0, row);
  }, (signal) => {
    if (process.stderr.isTTY) process.stderr.write('\n');
    console.error(`study: stopped by ${signal}; ${done.size} finished cells are kept in ${journal}: `
      + `run the same command to resume`);
  }).then((errors) => {
    if (process.stderr.isTTY) process.stderr.write('\n');
    const rows = keys.flatMap((k) => done.get(k) ?? []);
    const summary = summarise(rows, methods);
    const imageById = new Map(images.map((img) => [img.id, img.bitmap]));
    const report = rows.length === 0 ? [] : studyReport({
      rows, methods, summary, architectureOf: (m) => byLabel.get(m)!.architecture,
      command: `gradleak study ${v.argv.join(' ')}`.trim(),
      target: (r) => {
        const b = imageById.get(r.image);
        return b ? fitBitmap(b, inputOf(r.model)) : null;
      },
      reconstruction: (r, m) => {
        const f = reconstructionFile(out, r, m);
        return fs.existsSync(f) ? decodeImage(fs.readFileSync(f), f) : null;
      },
    });
    writeFilesAtomically([
      ...report.map((f) => ({ file: path.join(out, f.file), data: f.data })),
      { file: path.join(out, 'results.json'), data: JSON.stringify(rows, null, 1) + '\n' },
      { file: path.join(out, 'results.csv'), data: toCsv(rows, methods) },
      { file: path.join(out, 'summary.json'), data: JSON.stringify(summary, null, 1) + '\n' },
    ]);
    for (const e of errors) console.error(`study: cell ${e.key} failed: ${e.error}`);
    console.log(
      `${rows.length} cells in ${out} (${((performance.now() - t0) / 1000).toFixed(1)} s this run)`);
    for (const [method, s] of Object.entries(summary.spearman)) {
      console.log(`  ${method}: Spearman rho(index, PSNR) = ${fmt(s.copaIndex)}; `
        + `normalised ${fmt(s.normalisedIndex)}; structural ${fmt(s.structuralIndex)}`);
    }
    if (errors.length) process.exitCode = 1;
  });
}

/** A model of the study, as its cells and its report need it. */
interface StudyModel {
  /** How rows and the report name it: a preset's name, a file's base name. */
  label: string;
  /** Its part of a cell's journal key: the label, with hashes of a file's and of --weights' bytes. */
  key: string;
  graph: Graph;
  architecture: Architecture;
  /** What its cells carry to a worker beyond the label: a file's graph, weights not from the seed. */
  cell: { spec?: GraphSpec; weights?: ParamMap };
}

/**
 * The study's models: presets by name (a cell rebuilds them by name, and their keys stay what they
 * always were, so old journals resume), model files read once here (their cells carry the graph and
 * an ONNX file's initializers), and --weights for a single model, which replace the seeded or the
 * file's own weights.
 */
function studyModels(v: Args, names: string[], ceiling: number): StudyModel[] {
  const weights = v.str('weights');
  if (weights && names.length !== 1) fail(`--weights goes with one model; --models gives ${names.length}`);
  const models = names.map((ref): StudyModel => {
    const file = isModelFile(ref);
    const graph = loadModel(ref, ceiling / 3);
    const label = file ? path.basename(ref) : ref;
    const kind = /\.onnx$/i.test(ref) ? 'onnx' : 'spec';
    let key = file ? `${label}@${contentHash(ref, 'model', kind, ceiling / 3)}` : ref;
    const cell: StudyModel['cell'] = file ? { spec: graph.spec } : {};
    // --weights, else an ONNX file's initializers (checked as everywhere); else each cell seeds its own
    if (weights || graph.weights) cell.weights = loadParams(v, graph);
    if (weights) key += `+weights@${contentHash(weights, 'weights', 'safetensors', ceiling)}`;
    // a chain's own spec says it as the study always did; any graph says it from its nodes
    const chain = file ? null : chainSpec(ref);
    return {
      label, key, graph, cell, architecture: chain ? chainArchitecture(chain) : graphArchitecture(graph),
    };
  });
  const labels = new Set<string>();
  for (const m of models) {
    if (labels.has(m.label)) fail(`two models of the study are called ${JSON.stringify(m.label)}; `
      + 'rename one of the files');
    labels.add(m.label);
  }
  return models;
}

/**
 * The finished cells of earlier runs. A line that cannot be read (cut by a kill while it was being
 * appended, or edited by hand) is moved to results.torn.jsonl and the journal rewritten without it,
 * so that its cell runs again once and later lines are appended after a clean line end.
 */
function readJournal(journal: string): Map<string, StudyRow> {
  const done = new Map<string, StudyRow>();
  if (!fs.existsSync(journal)) return done;
  const text = new TextDecoder().decode(readBytes(journal, 'study journal', 'dataset'));
  const lines = text.split('\n');
  const last = lines.pop()!; // '' when the file ends with a newline, as every complete journal does
  const good: string[] = [], torn: string[] = [];
  for (const line of lines) {
    if (!line.trim()) continue;
    const row = parseRow(line);
    if (row) { done.set(row.key, row); good.push(line); } else torn.push(line);
  }
  if (last.trim()) torn.push(last);
  if (torn.length === 0) return done;
  const aside = path.join(path.dirname(journal), 'results.torn.jsonl');
  fs.appendFileSync(aside, torn.map((l) => l + '\n').join(''));
  writeFilesAtomically([{ file: journal, data: good.map((l) => l + '\n').join('') }]);
  console.error(
    `study: set aside ${torn.length} unreadable journal line(s) in ${aside}; their cells run again`);
  return done;
}

function parseRow(line: string): StudyRow | null {
  try {
    const r = JSON.parse(line) as StudyRow;
    const ok = typeof r === 'object' && r !== null && typeof r.key === 'string' && typeof r.model === 'string'
      && typeof r.image === 'string' && typeof r.copaIndex === 'number'
      && typeof r.methods === 'object' && r.methods !== null
      && Object.values(r.methods).every((m) => typeof m?.psnr === 'number');
    return ok ? r : null;
  } catch {
    return null;
  }
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
    console.error(`study: ${doneCount}/${total} ${row.model} ${row.image}: index ${row.copaIndex}, `
      + `${psnrs} (${secs.toFixed(0)} s)`);
    return;
  }
  const ranThisRun = doneCount - (total - toRun);
  const left = (secs / ranThisRun) * (total - doneCount);
  process.stderr.write(`\rstudy ${bar(doneCount, total, 30)} ${doneCount}/${total} cells, `
    + `${fmtTime(secs)} elapsed, ~${fmtTime(left)} left   `);
}

const fmtTime = (s: number) => (s >= 3600
  ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`
  : s >= 60 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${Math.round(s)} s`);

interface CellError { key: string; error: string }

/**
 * Runs the cells on `n` worker threads; resolves with the cells that failed. SIGINT, SIGTERM and
 * SIGHUP stop the workers and end the process (the journal holds every finished cell; writes are
 * synchronous, so a signal never lands half-way through one).
 */
function runPool(
  cells: StudyCell[], n: number,
  onRow: (r: CellResult) => void, onStop: (signal: string) => void,
): Promise<CellError[]> {
  if (cells.length === 0) return Promise.resolve([]);
  const errors: CellError[] = [];
  const pool: Worker[] = [];
  const stop = (signal: NodeJS.Signals, code: number) => {
    for (const w of pool) void w.terminate();
    onStop(signal);
    process.exit(code);
  };
  const handlers = ([['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const).map(([signal, code]) => {
    const h = () => stop(signal, code);
    process.on(signal, h);
    return [signal, h] as const;
  });
  let next = 0, live = n;
  return new Promise<CellError[]>((resolve, reject) => {
    for (let w = 0; w < n; w++) {
      const worker = new Worker(new URL('../study-worker.js', import.meta.url));
      pool.push(worker);
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
  }).finally(() => { for (const [signal, h] of handlers) process.off(signal, h); });
}
