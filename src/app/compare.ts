import type { Attack } from '../attacks/types.js';
import { drawText, textWidth } from '../formats/font.js';
import { drawScaled, encodeImagePng, unitTensorToBitmap, type Bitmap } from '../formats/image.js';
import type { Quality } from '../metrics/quality.js';
import { runAttackJob, type AttackJob, type AttackOutcome } from './attack.js';

/** One method's line of a comparison. */
export interface CompareRow {
  method: string;
  psnr?: number;
  psnrClipped?: number;
  ssim?: number;
  mse?: number;
  seconds: number;
  iterations?: number;
  msPerIteration?: number;
}

export interface CompareOutcome {
  model: string;
  rows: CompareRow[];
  /** Per method, the reconstruction shown (the one paired with the batch's first image). */
  shown: { method: string; bitmap: Bitmap }[];
  /** compare.png, compare.json, compare.md and <method>.png, by name. */
  files: { name: string; data: Uint8Array | string }[];
}

/**
 * The methods on the same model, weights and update, one after the other (they share the job's
 * solver cache, so hybrid and copa reuse rgap's solves). `onStart` and `onDone` tell which runs.
 */
export function runCompareJob(
  attacks: readonly Attack[], job: Omit<AttackJob, 'attack'>,
  hooks: { onStart?: (a: Attack) => void; onDone?: (a: Attack, o: AttackOutcome) => void } = {},
): CompareOutcome {
  const model = job.payload.model, targets = job.targets;
  const shape = model.input as [number, number, number];
  const n = shape[0] * shape[1] * shape[2];
  const rows: CompareRow[] = [];
  // the grid shows the batch's first image and, per method, the reconstruction paired with it
  const cells: { label: string; lines: string[]; bitmap: Bitmap }[] = [];
  if (targets) {
    cells.push({ label: 'target', lines: [], bitmap: unitTensorToBitmap(targets.subarray(0, n), shape) });
  }
  const shown: CompareOutcome['shown'] = [];
  for (const attack of attacks) {
    hooks.onStart?.(attack);
    const o = runAttackJob({ ...job, attack });
    hooks.onDone?.(attack, o);
    const q: Quality | null = o.quality ? o.quality.mean : null;
    rows.push({
      method: attack.name, ...(q ?? {}), seconds: o.timing.seconds,
      ...(o.run.iterations !== undefined
        ? { iterations: o.run.iterations, msPerIteration: o.run.msPerIteration }
        : {}),
    });
    const first = o.quality?.pairs.find((p) => p.target === 0);
    const index = first ? first.reconstruction ?? o.quality!.pairs.indexOf(first) : 0;
    const bitmap = o.bitmaps[index];
    const lines = q ? [`PSNR ${q.psnr.toFixed(1)}`, `SSIM ${q.ssim.toFixed(2)}`] : [];
    cells.push({ label: attack.name, lines, bitmap });
    shown.push({ method: attack.name, bitmap });
  }
  const files: CompareOutcome['files'] = shown.map((s) => ({
    name: `${s.method}.png`, data: encodeImagePng(s.bitmap),
  }));
  files.push({ name: 'compare.png', data: encodeImagePng(labelledRow(cells)) });
  const json = JSON.stringify({ model: model.name, methods: rows }, null, 1) + '\n';
  files.push({ name: 'compare.json', data: json });
  files.push({ name: 'compare.md', data: compareMarkdown(model.name, rows) });
  return { model: model.name, rows, shown, files };
}

export function compareMarkdown(model: string, rows: CompareRow[]): string {
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
