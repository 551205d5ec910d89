import fs from 'node:fs';
import path from 'node:path';
import { getAttack } from '../../attacks/registry.js';
import { fail } from '../../core/errors.js';
import { checkMemory } from '../../core/memory.js';
import { resolveStudyModels } from '../../model/sweeps.js';
import type { Spearman } from '../../study/stats.js';
import { studyReport } from '../../study/report.js';
import { summarise, toCsv } from '../../study/summary.js';
import {
  bitmapToTensor, decodeImage, encodeImagePng, fitBitmap, REFERENCE_NORMALISATION, unitTensorToBitmap,
} from '../../formats/image.js';
import { checkOutput, removeStaleTemps, writeFilesAtomically } from '../../io/files.js';
import { loadImageSet } from '../../io/imagesets.js';
import { MODEL_OPTIONS } from '../args.js';
import { studyModels } from '../study-models.js';
import { PRECISION_OPTION, precisionOf } from '../attack-setup.js';
import type { Command } from '../command.js';
import { MEMORY_OPTION, type Args } from '../options.js';
import { cellProgress, parseJson, readJournal } from '../cell-pool.js';
import { cellRunner, QUEUE_OPTION, withoutQueue } from '../cell-runner.js';
import { cellMemory, type CellResult, type StudyCell, type StudyRow } from '../../study/cell.js';

export const studyCommand: Command = {
  name: 'study',
  usage: 'gradleak study [--models all|sweeps|sweep:<factor>|m1,m2,...] '
    + `[--images samples|DIR|CIFAR.bin|IDX-images]
               [--count N] [--methods rgap,hybrid] [--iterations N]
               [--weights W.safetensors] [--workers N] [--seed N] [--out DIR]
  For every architecture × image: play the client (seeded PyTorch-style weights, an ONNX file's own,
  or --weights), audit, run each method, and
  record the index variants, per-layer rank deficiencies, structural ranks, conditions,
  PSNR/SSIM/MSE and times.
  --models: 'all' = the 34 presets (default); 'sweeps' = cnn3_c1 with one of channels, kernel, stride,
  padding, depth, activation changed ('sweep:kernel' for one family); or names and model files
  (spec .json, .onnx), comma-separated; a file is labelled by its name. --weights: one model only.
  Cells run on worker threads (default: one per core), or with --queue on \`gradleak worker\`
  processes anywhere. Finished cells are kept in DIR/results.jsonl and skipped on a rerun (an
  unreadable line is set aside in results.torn.jsonl and its cell redone); Ctrl-C stops the study
  with the finished cells kept. Writes to DIR (default out/study): results.json, results.csv,
  summary.json (Spearman's rho of each index variant against each method's PSNR and the
  best, with 95% intervals), report.md, scatter-<method>.svg/.png, rank-deficiency.svg/.png,
  best-worst.svg/.png, reconstructions/. Images that are not the model's size are resampled; without
  dataset labels, image i gets label i mod classes. A client that trains before it shares (FedAvg local
  steps) is a defence: gradleak defend --defence fedavg:steps=1,5,20.`,
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
    // kept only to say where the client's local training went
    'train-steps': { kind: 'string', arg: 'N', help: 'removed: use defend --defence fedavg:steps=N' },
    'train-lr': { kind: 'string', arg: 'R', help: 'removed: use defend --defence fedavg:steps=N,lr=R' },
    workers: { kind: 'int', arg: 'N', help: 'worker threads (default: one per core)', min: 1, max: 256 },
    ...QUEUE_OPTION,
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
  for (const o of ['train-steps', 'train-lr']) if (v.has(o)) fail(`--${o} is gone: a client that trains `
    + 'on its batch first is the FedAvg defence; run gradleak defend --defence fedavg:steps=N[,lr=R]');
  const out = v.str('out') ?? 'out/study';
  checkOutput(out, 'dir');
  const ceiling = v.maxMemory();
  const models = studyModels(v, resolveStudyModels(v.list('models', ['all'])), ceiling);
  const methods = v.list('methods', ['rgap', 'hybrid']);
  const attacks = methods.map(getAttack);
  const count = v.int('count', 5);
  const seed = v.int('seed', 0);
  const iterations = v.int('iterations');
  const precision = precisionOf(v);
  // a cell needs one model's audit and its largest method; workers run cells side by side
  const perCell = cellMemory(models.map((m) => m.graph), attacks);
  checkMemory(perCell, ceiling, 'a study cell');
  const images = loadImageSet(v.str('images') ?? 'samples', count);
  // float64 matching (what every study before the WebAssembly kernels ran) keeps its old keys
  const arithmetic = precision === 'f64' ? '' : `|${precision}`;
  const journal = path.join(out, 'results.jsonl');
  for (const f of removeStaleTemps(out, 2)) console.error(`study: removed ${f}, left by an interrupted run`);
  const done = readJournal(journal, parseRow, 'study');
  // every cell of this study in a fixed order (models × images); outputs follow it, not the order
  // in which the workers happen to finish
  const keys: string[] = [];
  const cells: StudyCell[] = [];
  for (const m of models) {
    const input = m.graph.input as [number, number, number];
    images.forEach((img, i) => {
      const key = `${m.key}|${img.id}|${methods.join('+')}|${iterations ?? 'default'}|${seed}${arithmetic}`;
      keys.push(key);
      if (done.has(key)) return;
      const label = (img.label ?? i) % m.graph.classes;
      cells.push({
        key, model: m.label, ...m.cell, image: img.id,
        input: bitmapToTensor(fitBitmap(img.bitmap, input), input, REFERENCE_NORMALISATION),
        label, methods, iterations, seed, precision,
      });
    });
  }
  const byLabel = new Map(models.map((m) => [m.label, m]));
  const inputOf = (model: string) => byLabel.get(model)!.graph.input as [number, number, number];
  const total = keys.length;
  const runner = cellRunner(v, 'study', 'workers', cells.length, perCell.bytes, ceiling, out);
  for (const c of cells) c.maxBytes = runner.cellBytes;
  fs.mkdirSync(out, { recursive: true });
  console.error(`study: ${models.length} models × ${images.length} images = ${total} cells; `
    + `${total - cells.length} already done, ${cells.length} to run on ${runner.where}`);
  const t0 = performance.now();
  let finished = total - cells.length;
  return runner.run<StudyCell, CellResult>('study', cells, ({ row, reconstructions }) => {
    // the reconstructions first: a journal line promises that its images exist
    const shape = inputOf(row.model);
    writeFilesAtomically(Object.entries(reconstructions).map(([method, x]) => (
      { file: reconstructionFile(out, row, method), data: encodeImagePng(unitTensorToBitmap(x, shape)) })));
    fs.appendFileSync(journal, JSON.stringify(row) + '\n');
    done.set(row.key, row);
    const psnrs = Object.entries(row.methods).map(([m, r]) => `${m} ${r.psnr.toFixed(1)} dB`).join(', ');
    cellProgress('study', ++finished, total, cells.length, t0,
      `${row.model} ${row.image}: index ${row.copaIndex}, ${psnrs}`);
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
      command: `gradleak study ${withoutQueue(v.argv).join(' ')}`.trim(),
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

function parseRow(line: string): StudyRow | null {
  const r = parseJson(line) as StudyRow | null;
  const ok = typeof r === 'object' && r !== null && typeof r.key === 'string' && typeof r.model === 'string'
    && typeof r.image === 'string' && typeof r.copaIndex === 'number'
    && typeof r.methods === 'object' && r.methods !== null
    && Object.values(r.methods).every((m) => typeof m?.psnr === 'number');
  return ok ? r : null;
}

/** Where a cell's reconstruction by one method is kept (PNG, [0,1] mapped to 0..255). */
export function reconstructionFile(out: string, row: StudyRow, method: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');
  return path.join(out, 'reconstructions', safe(row.model), `${safe(row.image)}.${method}.png`);
}

const fmt = (s: Spearman) => `${s.rho.toFixed(3)} [${s.low.toFixed(3)}, ${s.high.toFixed(3)}] (n=${s.n})`;
