import path from 'node:path';
import { ATTACKS, getAttack } from '../../attacks/registry.js';
import { batchQuality, type Quality } from '../../metrics/quality.js';
import { drawText, textWidth } from '../../formats/font.js';
import {
  drawScaled, encodeImagePng, toUnitRange, unitTensorToBitmap, type Bitmap,
} from '../../formats/image.js';
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

interface Row {
  method: string;
  psnr?: number;
  psnrClipped?: number;
  ssim?: number;
  mse?: number;
  seconds: number;
  iterations?: number;
  msPerIteration?: number;
}

function runCompare(v: Args): void {
  const attacks = v.list('methods', ATTACKS.map((a) => a.name)).map(getAttack);
  const { payload, update, options, targets, out } = attackSetup(v, attacks);
  const model = payload.model, norm = payload.normalisation, B = update.batch;
  const shape = model.input as [number, number, number];
  const n = shape[0] * shape[1] * shape[2];
  const rows: Row[] = [];
  // the grid shows the batch's first image and, per method, the reconstruction paired with it
  const images: { label: string; lines: string[]; bitmap: Bitmap }[] = [];
  if (targets) images.push({
    label: 'target', lines: [], bitmap: unitTensorToBitmap(targets.subarray(0, n), shape),
  });
  const files: { file: string; data: Uint8Array | string }[] = [];
  for (const attack of attacks) {
    // which method is running, on a terminal (a log gets the table at the end, and errors stay one line)
    if (!v.flag('json') && process.stderr.isTTY) process.stderr.write(`${attack.name}...\n`);
    const t0 = performance.now();
    const res = attack.run(payload, update, { ...options, onProgress: progressReporter(v.flag('json')) });
    const seconds = (performance.now() - t0) / 1000;
    if (!v.flag('json')) for (const w of res.warnings) console.error(`warning: ${attack.name}: ${w}`);
    const recon = toUnitRange(res.images.data, norm);
    const bq = targets ? batchQuality(recon, targets, B, shape) : null;
    const q: Quality | null = bq ? bq.mean : null;
    rows.push({
      method: attack.name, ...(q ?? {}), seconds,
      ...(res.iterations !== undefined
        ? { iterations: res.iterations, msPerIteration: res.msPerIteration }
        : {}),
    });
    const shown = bq ? Math.max(0, bq.pairs.findIndex((p) => p.target === 0)) : 0;
    const bitmap = unitTensorToBitmap(recon.subarray(shown * n, (shown + 1) * n), shape);
    images.push({
      label: attack.name, lines: q ? [`PSNR ${q.psnr.toFixed(1)}`, `SSIM ${q.ssim.toFixed(2)}`] : [], bitmap,
    });
    files.push({ file: path.join(out, `${attack.name}.png`), data: encodeImagePng(bitmap) });
  }
  files.push({ file: path.join(out, 'compare.png'), data: encodeImagePng(labelledRow(images)) });
  files.push({
    file: path.join(out, 'compare.json'),
    data: JSON.stringify({ model: model.name, methods: rows }, null, 1) + '\n',
  });
  files.push({ file: path.join(out, 'compare.md'), data: markdown(model.name, rows) });
  writeFilesAtomically(files);
  if (v.flag('json')) console.log(JSON.stringify({ model: model.name, methods: rows }));
  else console.log(
    `${markdown(model.name, rows)}\nwrote ${path.join(out, 'compare.png')}, compare.json, compare.md`);
}

function markdown(model: string, rows: Row[]): string {
  const f = (x: number | undefined, d: number) => (x === undefined ? '—' : x.toFixed(d));
  return [
    `## ${model}`, '',
    '| method | PSNR dB | PSNR clipped dB | SSIM | MSE | seconds | iterations | ms/iteration |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.method} | ${f(r.psnr, 2)} | ${f(r.psnrClipped, 2)} | ${f(r.ssim, 3)} `
      + `| ${r.mse === undefined ? '—' : r.mse.toExponential(2)} | ${r.seconds.toFixed(2)} `
      + `| ${r.iterations ?? '—'} | ${f(r.msPerIteration, 2)} |`),
    '',
  ].join('\n');
}

/** One row of images, each upscaled 6× with its name above and its metrics below. */
function labelledRow(cells: { label: string; lines: string[]; bitmap: Bitmap }[]): Bitmap {
  const scale = 6, gap = 12, text = 2, lineH = 7 * text;
  const cellW = Math.max(...cells.map((c) => Math.max(
    c.bitmap.width * scale, textWidth(c.label, text), ...c.lines.map((l) => textWidth(l, text)))));
  const imgH = Math.max(...cells.map((c) => c.bitmap.height * scale));
  const width = cells.length * cellW + (cells.length + 1) * gap;
  const height = gap + lineH + 4 + imgH + 4 + 2 * lineH + gap;
  const out: Bitmap = { width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(255) };
  cells.forEach((c, i) => {
    const x0 = gap + i * (cellW + gap);
    drawText(out, c.label, x0, gap, text, [0, 0, 0]);
    const y0 = gap + lineH + 4;
    drawScaled(out, c.bitmap, x0, y0, scale);
    c.lines.forEach((l, j) => drawText(out, l, x0, y0 + imgH + 4 + j * lineH, text, [60, 60, 60]));
  });
  return out;
}
