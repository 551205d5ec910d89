import { formatDefence } from '../defences/spec.js';
import type { Bitmap } from '../formats/image.js';
import { curvePanels, imageGrid, type CurvePanel, type GridColumn } from '../plot/charts.js';
import type { Scene } from '../plot/scene.js';
import { bothFormats, type ReportFile } from '../study/report.js';
import type { MeanInterval } from '../study/stats.js';
import { EXACT_DB } from '../study/summary.js';
import type { DefenceRecord } from '../threat/payload.js';
import { strengthOf, type AttackMode } from './cell.js';
import type { DefendSummary } from './summary.js';

export interface DefendReportInput {
  summary: DefendSummary;
  /** Each defence's records, weakest first (as summarised). */
  sweeps: DefenceRecord[][];
  series: [string, AttackMode][];
  model: string;
  images: string[];
  /** The command line, quoted in the report. */
  command: string;
  /** The first image as the model saw it, and a reconstruction of it (null: none kept). */
  target: Bitmap;
  reconstruction: (record: DefenceRecord | null, method: string, mode: AttackMode) => Bitmap | null;
}

const dB = (v: number) => (v >= EXACT_DB ? `≥${EXACT_DB}` : v.toFixed(1));
const ci = (m: MeanInterval, digits = 1, unit = '') => (Number.isFinite(m.low)
  ? `${m.mean.toFixed(digits)} [${m.low.toFixed(digits)}, ${m.high.toFixed(digits)}]${unit}`
  : `${m.mean.toFixed(digits)}${unit}`);
const psnrCi = (m: MeanInterval) => (m.mean >= EXACT_DB ? `≥${EXACT_DB}` : ci(m));
const strengthText = (s: number | string | null) => (s === null ? 'none' : String(s));
const eps = (e: number | null) => (e === null ? '' : e.toPrecision(3));

/** Plots (PNG and SVG) and report.md of a finished sweep; pure, so a browser can make them too. */
export function defendReport(input: DefendReportInput): ReportFile[] {
  const files: ReportFile[] = [...bothFormats('psnr-vs-strength', curves(input))];
  for (const records of input.sweeps) {
    const grid = curveGrid(input, records);
    if (grid) files.push(...bothFormats(`grid-${records[0].name}`, grid));
  }
  files.push({ file: 'report.md', data: markdown(input) });
  return files;
}

/** One panel per defence: the baseline at the left, then its strengths; ε on the right for noise. */
function curves(input: DefendReportInput): Scene {
  const { summary } = input;
  const panels = summary.curves.map(({ defence, points }, k): CurvePanel => {
    const records = input.sweeps[k];
    const at = (r: DefenceRecord, series: string) => points.find(
      (p) => p.spec === formatDefence(r) && p.series === series);
    const series = input.series.map(([m, mode]) => {
      const name = points.find((p) => p.method === m && p.mode === mode)?.series ?? m;
      const base = summary.baseline.find((p) => p.method === m);
      return {
        name,
        points: [base, ...records.map((r) => at(r, name))].map((p) => (p
          ? { y: p.psnr.mean, low: p.psnr.low, high: p.psnr.high } : null)),
      };
    });
    const epsilon = records.map((r) => points.find((p) => p.spec === formatDefence(r))?.epsilon ?? null);
    return {
      title: defence, ticks: ['none', ...records.map((r) => String(strengthOf(r)))], series,
      ...(epsilon.some((e) => e !== null) ? { right: { label: 'epsilon', values: [null, ...epsilon] } } : {}),
    };
  });
  return curvePanels({
    title: `Leakage against defence strength: ${input.model}`,
    subtitle: `mean PSNR over ${input.images.length} image(s) with 95% intervals; `
      + `grey line: break threshold; grey squares: epsilon at one release`,
    yLabel: 'PSNR dB', panels, yCap: EXACT_DB,
    threshold: { y: summary.threshold, label: `${summary.threshold} dB` },
  });
}

/** The first image's reconstruction at each strength, one row per attack, the target first. */
function curveGrid(input: DefendReportInput, records: DefenceRecord[]): Scene | null {
  const columns: GridColumn[] = [];
  const rows = input.series.map(([m, mode]) => (mode === 'adaptive' ? `${m} adaptive` : m));
  columns.push({ images: rows.map(() => input.target), lines: ['target'] });
  for (const r of [null, ...records]) {
    // the baseline runs naively only: its column repeats the naive reconstruction in every row
    const images = input.series.map(([m, mode]) => input.reconstruction(r, m, r ? mode : 'naive'));
    if (images.some((b) => b === null)) return null;
    columns.push({ images: images as Bitmap[], lines: [r ? String(strengthOf(r)) : 'none'] });
  }
  return imageGrid(
    `${records[0].name}: ${input.images[0]}`,
    'target, none, then weakest to strongest',
    rows, columns);
}

function markdown(input: DefendReportInput): string {
  const { summary } = input;
  const lines: string[] = [];
  const p = (s = '') => lines.push(s);
  const seriesNames = input.series.map(([m, mode]) => (mode === 'adaptive' ? `${m} adaptive` : m));
  p(`# How strong must a defence be? ${input.model}`);
  p();
  p(`Made by \`${input.command}\`. ${input.images.length} image(s): ${input.images.join(', ')}; `
    + `attacks ${seriesNames.join(', ')}. PSNR uses peak 1 on [0,1] images; exact recoveries count as `
    + `${EXACT_DB} dB. Intervals are 95% (Student's t over the images).`);
  p();
  p('## Break points');
  p();
  p(`The weakest strength from which the best attack's mean PSNR stays below ${summary.threshold} dB `
    + 'at every stronger setting measured.');
  p();
  const bestBase = Math.max(...summary.baseline.map((b) => b.psnr.mean));
  if (bestBase < summary.threshold) {
    p(`Without a defence the best attack already stays below ${summary.threshold} dB `
      + `(${dB(bestBase)} dB): every defence "breaks" it at its weakest strength, and the break points `
      + 'say nothing about the defences here. Read the curves instead, or raise the attack.');
    p();
  }
  p('| defence | break point | best attack per strength (weakest first) |');
  p('|---|---|---|');
  for (const b of summary.breakPoints) p(`| ${b.defence} | ${b.strength === null ? 'not reached' : b.strength} `
    + `| ${b.best.map((x) => `${x.strength}: ${dB(x.psnr)} dB (${x.series})`).join('; ')} |`);
  p();
  p('## No defence');
  p();
  p('| attack | PSNR dB | SSIM |');
  p('|---|---|---|');
  for (const b of summary.baseline) p(`| ${b.series} | ${psnrCi(b.psnr)} | ${ci(b.ssim, 3)} |`);
  p();
  for (const { defence, points } of summary.curves) {
    const noise = points.some((x) => x.epsilon !== null);
    p(`## ${defence}`);
    p();
    p(`| strength | ${noise ? 'ε (one release) | ' : ''}relative error | cosine | `
      + `${seriesNames.map((s) => `${s} PSNR dB | ${s} SSIM`).join(' | ')} |`);
    p(`|---|${noise ? '---|' : ''}---|---|${seriesNames.map(() => '---|---').join('|')}|`);
    for (const spec of [...new Set(points.map((x) => x.spec))]) {
      const here = points.filter((x) => x.spec === spec);
      const cells = seriesNames.map((s) => {
        const x = here.find((y) => y.series === s);
        return x ? `${psnrCi(x.psnr)} | ${ci(x.ssim, 3)}` : ' | ';
      });
      p(`| ${strengthText(here[0].strength)} | ${noise ? `${eps(here[0].epsilon)} | ` : ''}`
        + `${here[0].relError.toPrecision(3)} | ${here[0].cosine.toFixed(4)} | ${cells.join(' | ')} |`);
    }
    p();
    p(`Every parameter: ${[...new Set(points.map((x) => `\`${x.spec}\``))].join(', ')}.`);
    const gaveUp = points.filter((x) => x.gaveUp > 0);
    if (gaveUp.length) p(`The attack gave up on the update (and the blank image was scored) in: `
      + `${gaveUp.map((x) => `${x.series} at ${strengthText(x.strength)} (${x.gaveUp} of ${x.psnr.n})`)
        .join(', ')}.`);
    p();
  }
  p('## Figures');
  p();
  p('- `psnr-vs-strength.svg`/`.png`: mean PSNR against strength per attack, one panel per defence '
    + '(ε on the right for noise).');
  for (const records of input.sweeps) p(`- \`grid-${records[0].name}.svg\`/\`.png\`: the first image's `
    + `reconstructions along the ${records[0].name} curve.`);
  return lines.join('\n') + '\n';
}
