import type { Difference, Spearman } from './stats.js';
import { sweepOf } from '../model/sweeps.js';
import type { ModelSpec } from '../model/chain-spec.js';
import type { Graph } from '../model/graph.js';
import { encodeImagePng, type Bitmap } from '../formats/image.js';
import { imageGrid, scatterPlot, stackedBars } from '../plot/charts.js';
import { sceneToBitmap } from '../plot/raster.js';
import type { Scene } from '../plot/scene.js';
import { sceneToSvg } from '../plot/svg.js';
import type { StudyRow } from './cell.js';
import { EXACT_DB, psnrOf, reportedMethods, type IndexCorrelations, type StudySummary } from './summary.js';

export interface ReportInput {
  rows: StudyRow[];
  methods: string[];
  summary: StudySummary;
  /** What the report says of each model (chainArchitecture, graphArchitecture). */
  architectureOf: (model: string) => Architecture;
  /** The client's image as the model saw it (evaluation only), and a method's reconstruction. */
  target: (row: StudyRow) => Bitmap | null;
  reconstruction: (row: StudyRow, method: string) => Bitmap | null;
  /** The command line that made the study, quoted in the report. */
  command: string;
}

export interface ReportFile { file: string; data: string | Uint8Array }

/** Per architecture: the mean over its images. */
interface ModelSummary {
  model: string;
  cells: number;
  copaIndex: number;
  structuralIndex: number;
  normalisedIndex: number;
  deficiency: number[];
  psnr: Record<string, number>;
  flagged: boolean;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const capped = (v: number) => Math.min(v, EXACT_DB);
const dB = (v: number) => (v >= EXACT_DB ? `≥${EXACT_DB}` : v.toFixed(1));
const plotDb = (v: number) => (v >= EXACT_DB ? `>=${EXACT_DB}` : v.toFixed(1));
const rhoText = (s: Spearman) => `${s.rho.toFixed(3)} [${s.low.toFixed(3)}, ${s.high.toFixed(3)}]`;

/**
 * What the report says of an architecture: the activations of its hidden layers, e.g. 'tanh' or
 * 'tanh+leaky_relu' (the scatter's colour), and the output widths and paddings of its hidden
 * weighted layers (0 for a linear one).
 */
export interface Architecture { activations: string; widths: number[]; padding: number[] }

export function chainArchitecture(spec: ModelSpec): Architecture {
  const hidden = spec.layers.slice(0, -1);
  return {
    activations: [...new Set(hidden.map((l) => l.activation))].join('+') || spec.layers[0].activation,
    widths: hidden.map((l) => l.out), padding: hidden.map((l) => (l.type === 'conv' ? l.padding : 0)),
  };
}

const ACTIVATIONS: readonly string[] = ['relu', 'leaky_relu', 'tanh', 'sigmoid', 'softplus'];

/** The same of any graph (a graph preset, spec or ONNX file): what comes before its last weighted node. */
export function graphArchitecture(g: Graph): Architecture {
  const weighted = g.nodes.filter((n) => n.op.name === 'conv2d' || n.op.name === 'linear');
  const last = weighted.length ? weighted[weighted.length - 1].index : g.nodes.length;
  const hidden = weighted.slice(0, -1).map((n) => n.attrs as { out: number; padding?: [number, number] });
  const activations = g.nodes.filter((n) => n.index < last && ACTIVATIONS.includes(n.op.name))
    .map((n) => n.op.name);
  return {
    activations: [...new Set(activations)].join('+') || 'identity',
    widths: hidden.map((a) => a.out), padding: hidden.map((a) => a.padding?.[0] ?? 0),
  };
}

function byModel(rows: StudyRow[], methods: string[]): ModelSummary[] {
  const groups = new Map<string, StudyRow[]>();
  for (const r of rows) {
    if (!groups.has(r.model)) groups.set(r.model, []);
    groups.get(r.model)!.push(r);
  }
  return [...groups].map(([model, rs]) => ({
    model, cells: rs.length,
    copaIndex: mean(rs.map((r) => r.copaIndex)),
    structuralIndex: mean(rs.map((r) => r.structuralIndex)),
    normalisedIndex: mean(rs.map((r) => r.normalisedIndex)),
    deficiency: rs[0].rankDeficiency.map((_, i) => mean(rs.map((r) => r.rankDeficiency[i]))),
    psnr: Object.fromEntries([...methods, 'best']
      .map((m) => [m, mean(rs.map((r) => capped(psnrOf(r, m, methods))))])),
    flagged: rs.some((r) => r.flaggedLayers.length > 0),
  }));
}

/** A scene as name.svg and name.png. */
export const bothFormats = (name: string, scene: Scene): ReportFile[] => [
  { file: `${name}.svg`, data: sceneToSvg(scene) },
  { file: `${name}.png`, data: encodeImagePng(sceneToBitmap(scene)) },
];

/** Plots (PNG and SVG) and report.md for a finished study; pure, so a browser can make them too. */
export function studyReport(input: ReportInput): ReportFile[] {
  const { rows, methods, summary, architectureOf } = input;
  const all = reportedMethods(methods);
  const files: ReportFile[] = [];
  const groups = [...new Set(rows.map((r) => architectureOf(r.model).activations))].sort();
  for (const m of all) {
    const s = summary.spearman[m].copaIndex;
    files.push(...bothFormats(`scatter-${m}`, scatterPlot({
      title: `Security index vs PSNR: ${m === 'best' ? `best of ${methods.join(', ')}` : m}`,
      subtitle: `Spearman rho = ${rhoText(s)} (95% CI), n = ${s.n} cells; PSNR capped at ${EXACT_DB} dB`,
      xLabel: "authors' security index (signed log scale)", yLabel: 'PSNR dB',
      points: rows.map((r) => ({
        x: r.copaIndex, y: psnrOf(r, m, methods), group: architectureOf(r.model).activations,
      })).filter((p) => Number.isFinite(p.y)),
      groups, yCap: EXACT_DB,
    })));
  }
  const models = byModel(rows, methods);
  const layers = Math.max(...models.map((s) => s.deficiency.length));
  files.push(...bothFormats('rank-deficiency', stackedBars({
    title: 'Rank deficiency per layer and architecture',
    subtitle: 'unknowns a layer\'s system leaves open (mean over images); '
      + 'after each bar: index, mean best PSNR',
    xLabel: 'open directions (|rank deficiency|), stacked by layer',
    segmentNames: Array.from({ length: layers }, (_, i) => `layer ${i}`),
    rows: models.map((s) => ({
      label: s.model, segments: s.deficiency.map((d) => -d),
      note: `${Math.round(s.copaIndex)}  ${plotDb(s.psnr.best)} dB`,
    })),
  })));
  const grid = bestWorstGrid(input);
  if (grid) files.push(...bothFormats('best-worst', grid));
  files.push({ file: 'report.md', data: markdown(input, models) });
  return files;
}

/** The six best and six worst cells by best PSNR: target over each method's reconstruction. */
function bestWorstGrid(input: ReportInput): Scene | null {
  const { rows, methods } = input;
  const sorted = rows.filter((r) => Number.isFinite(psnrOf(r, 'best', methods)))
    .sort((a, b) => psnrOf(b, 'best', methods) - psnrOf(a, 'best', methods));
  const k = Math.min(6, Math.floor(sorted.length / 2));
  if (k === 0) return null;
  const picked = [...sorted.slice(0, k), ...sorted.slice(-k)];
  const columns = [];
  for (const r of picked) {
    const images = [input.target(r), ...methods.map((m) => input.reconstruction(r, m))];
    if (images.some((b) => b === null)) return null;
    columns.push({
      images: images as Bitmap[],
      lines: [r.model, r.image.replace(/\.[a-z]+$/i, ''), `${plotDb(psnrOf(r, 'best', methods))} dB`],
    });
  }
  return imageGrid(
    `Best ${k} and worst ${k} cells (by best PSNR)`,
    `left: the ${k} best, right: the ${k} worst; under each: model, image, best PSNR`,
    ['target', ...methods], columns,
  );
}

function markdown(input: ReportInput, models: ModelSummary[]): string {
  const { rows, methods, summary, architectureOf } = input;
  const all = reportedMethods(methods);
  const main = summary.spearman[all[all.length - 1]];
  const lines: string[] = [];
  const p = (s = '') => lines.push(s);
  const images = new Set(rows.map((r) => r.image)).size;
  p('# Does the security index predict leakage?');
  p();
  p(`${rows.length} cells: ${models.length} architectures × ${images} images; `
    + `methods ${methods.join(', ')}; the client's weights as the server sent them.`);
  p(`Made by \`${input.command}\`. PSNR uses peak 1 on [0,1] images; `
    + `cells above ${EXACT_DB} dB (exact recovery) tie at ${EXACT_DB}.`);
  p();
  p('## Finding');
  p();
  const target = all[all.length - 1] === 'best'
    ? `the best PSNR over ${methods.join(' and ')}`
    : `${methods[0]}'s PSNR`;
  p(`Spearman's ρ between the authors' security index and ${target}: **${rhoText(main.copaIndex)}** `
    + `(95% Fisher-z interval, n = ${main.copaIndex.n}). ${verdict(main.copaIndex)}`);
  p();
  p('| method | authors\' index | normalised | structural |');
  p('|---|---|---|---|');
  for (const m of all) {
    const s = summary.spearman[m];
    p(`| ${m} | ${rhoText(s.copaIndex)} | ${rhoText(s.normalisedIndex)} | ${rhoText(s.structuralIndex)} |`);
  }
  p();
  p('Paired differences against the authors\' index '
    + '(same cells; 95% interval by bootstrapping whole architectures):');
  p();
  p('| method | normalised − authors\' | structural − authors\' |');
  p('|---|---|---|');
  const diffText = (d: Difference) =>
    `${d.diff >= 0 ? '+' : ''}${d.diff.toFixed(3)} [${d.low.toFixed(3)}, ${d.high.toFixed(3)}]`;
  for (const m of all) p(`| ${m} | ${diffText(summary.spearman[m].versusAuthors.normalisedIndex)} | `
    + `${diffText(summary.spearman[m].versusAuthors.structuralIndex)} |`);
  p();
  p(variants(main));
  p();
  p('![index vs PSNR](scatter-' + all[all.length - 1] + '.svg)');
  p();
  p('## Exceptions');
  p();
  p('Architectures whose PSNR rank departs most from their index rank '
    + '(mean over images; rank 1 = most secure index / lowest PSNR):');
  p();
  p('| model | index | rank by index | mean best PSNR | rank by PSNR | hidden activations | channels '
    + '| padding |');
  p('|---|---|---|---|---|---|---|---|');
  const n = models.length;
  const rank = (vals: number[]) => {
    const order = vals.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
    const r = new Array<number>(vals.length);
    order.forEach(([, i], k) => { r[i] = k + 1; });
    return r;
  };
  const ri = rank(models.map((s) => s.copaIndex)), rp = rank(models.map((s) => s.psnr.best));
  const outliers = models.map((s, i) => ({ s, ri: ri[i], rp: rp[i], d: Math.abs(ri[i] - rp[i]) }))
    .sort((a, b) => b.d - a.d || a.s.model.localeCompare(b.s.model)).slice(0, Math.min(8, n));
  for (const o of outliers) {
    const a = architectureOf(o.s.model);
    p(`| ${o.s.model} | ${Math.round(o.s.copaIndex)} | ${o.ri} of ${n} | ${dB(o.s.psnr.best)} dB `
      + `| ${o.rp} of ${n} | ${a.activations} | ${a.widths.join('→')} | ${a.padding.join(',')} |`);
  }
  p();
  const determinedButLost = models.filter((s) => s.copaIndex === 0 && s.psnr.best < 40);
  const openButRecovered = models.filter((s) => s.copaIndex < 0 && s.psnr.best >= 30);
  p(`Index 0 (every layer determined) but mean best PSNR below 40 dB: ${listOf(determinedButLost)}.`);
  p();
  p('Index below 0 (some layer under-determined) yet mean best PSNR of 30 dB or more: '
    + `${listOf(openButRecovered)}.`);
  const flagged = models.filter((s) => s.flagged);
  if (flagged.length) {
    p();
    p(`Count-based and numerical rank disagree (audit flag) on: ${flagged.map((s) => s.model).join(', ')}.`);
  }
  p();
  const sweeps = sweepTables(models, methods);
  if (sweeps.length) lines.push(...sweeps);
  p('## Per architecture');
  p();
  p(`| model | layers' rank deficiency | index | structural | normalised `
    + `| ${all.map((m) => `${m} dB`).join(' | ')} |`);
  p(`|---|---|---|---|---|${all.map(() => '---').join('|')}|`);
  for (const s of models) {
    p(`| ${s.model} | ${s.deficiency.map((d) => Math.round(d)).join(', ')} | ${Math.round(s.copaIndex)} `
      + `| ${Math.round(s.structuralIndex)} | ${s.normalisedIndex.toFixed(3)} `
      + `| ${all.map((m) => dB(s.psnr[m])).join(' | ')} |`);
  }
  p();
  p('## Figures');
  p();
  for (const m of all) p(`- \`scatter-${m}.svg\`/\`.png\`: `
    + `index against ${m === 'best' ? 'the best' : m} PSNR, one dot per cell, `
    + 'coloured by hidden activations.');
  p('- `rank-deficiency.svg`/`.png`: per-layer rank deficiency of each architecture.');
  p('- `best-worst.svg`/`.png`: targets and reconstructions of the best and worst cells.');
  return lines.join('\n') + '\n';
}

function verdict(s: Spearman): string {
  if (!Number.isFinite(s.rho)) return 'Too few cells to say.';
  const strength = Math.abs(s.rho) >= 0.7 ? 'strong' : Math.abs(s.rho) >= 0.4 ? 'moderate'
    : Math.abs(s.rho) >= 0.2 ? 'weak' : 'no';
  if (s.low <= 0 && s.high >= 0) return `The interval includes zero: at n = ${s.n} `
    + 'this is not distinguishable from no correlation.';
  return `A ${strength} ${s.rho > 0 ? 'positive' : 'negative'} rank correlation, `
    + 'the interval excluding zero: '
    + `${s.rho > 0 ? 'architectures with a more negative index leak less.' : 'the opposite of the claim.'}`;
}

function variants(c: IndexCorrelations): string {
  const cmp = (name: string, d: Difference) => {
    const clear = d.low > 0 || d.high < 0;
    return `the ${name} variant's ρ is ${d.diff >= 0 ? 'higher' : 'lower'} `
      + `by ${Math.abs(d.diff).toFixed(3)} `
      + `(95% interval of the difference [${d.low.toFixed(3)}, ${d.high.toFixed(3)}], `
      + `${d.resamples} bootstrap resamples of whole architectures: `
      + `${clear ? `it predicts ${d.diff > 0 ? 'better' : 'worse'}` : 'not a clear difference'})`;
  };
  return 'Against the authors\' index, on the same cells: '
    + `${cmp('normalised', c.versusAuthors.normalisedIndex)}; `
    + `${cmp('structural', c.versusAuthors.structuralIndex)}.`;
}

const listOf = (ms: ModelSummary[]) => (ms.length
  ? ms.map((s) => `${s.model} (${Math.round(s.copaIndex)}, ${dB(s.psnr.best)} dB)`).join(', ')
  : 'none');

/** One table per sweep factor present in the study: the factor's value against index and PSNR. */
function sweepTables(models: ModelSummary[], methods: string[]): string[] {
  const all = reportedMethods(methods);
  const byFactor = new Map<string, { value: string; s: ModelSummary }[]>();
  for (const s of models) {
    const sw = sweepOf(s.model);
    if (!sw) continue;
    if (!byFactor.has(sw.factor)) byFactor.set(sw.factor, []);
    byFactor.get(sw.factor)!.push({ value: sw.value, s });
  }
  if (byFactor.size === 0) return [];
  const out = [
    '## One factor at a time', '',
    'Each sweep changes one factor of cnn3_c1 (conv 6@3×3 s1 → conv 3@4×4 s2 → linear, tanh); '
      + 'values are means over images.',
    '',
  ];
  for (const [factor, entries] of byFactor) {
    out.push(
      `### ${factor}`, '',
      `| ${factor} | rank deficiency per layer | index | ${all.map((m) => `${m} dB`).join(' | ')} |`,
      `|---|---|---|${all.map(() => '---').join('|')}|`,
    );
    for (const { value, s } of entries) out.push(
      `| ${value} | ${s.deficiency.map((d) => Math.round(d)).join(', ')} | ${Math.round(s.copaIndex)} `
      + `| ${all.map((m) => dB(s.psnr[m])).join(' | ')} |`);
    out.push('');
  }
  return out;
}
