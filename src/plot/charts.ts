import type { Bitmap } from '../formats/image.js';
import { textWidth } from '../formats/font.js';
import { BLACK, GREY, LIGHT, PALETTE, WHITE, type Mark, type Scene } from './scene.js';

const FONT = 2; // pixel-font scale of labels: 10 px capitals
const TITLE = 3;

/** Signed log scale: spreads indices from 0 to −10⁴ while keeping 0 and the sign. */
const symlog = (v: number) => Math.sign(v) * Math.log10(1 + Math.abs(v));

/** About `want` round ticks (1, 2, 2.5 or 5 × 10ᵏ apart) covering [lo, hi]. */
function niceTicks(lo: number, hi: number, want = 6): number[] {
  const raw = (hi - lo) / want;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step)
    ticks.push(Math.round(t / step) * step);
  return ticks;
}

const text = (
  x: number, y: number, s: string, anchor: 'start' | 'middle' | 'end' = 'start', size = FONT, colour = BLACK,
): Mark =>
  ({ kind: 'text', x, y, text: s, size, colour, anchor });

export interface ScatterPoint { x: number; y: number; group: string }

export interface ScatterOptions {
  title: string;
  subtitle: string;
  xLabel: string;
  yLabel: string;
  points: ScatterPoint[];
  /** Legend order; each group gets the next palette colour. */
  groups: string[];
  /** Points above are drawn at the cap (exact recoveries would flatten everything else). */
  yCap: number;
}

/** Index (signed log axis) against PSNR, one colour per group, legend on the right. */
export function scatterPlot(o: ScatterOptions): Scene {
  const W = 820, H = 540, left = 80, right = 170, top = 78, bottom = 64;
  const pw = W - left - right, ph = H - top - bottom;
  const marks: Mark[] = [];
  const xs = o.points.map((p) => symlog(p.x)), ys = o.points.map((p) => Math.min(p.y, o.yCap));
  const xlo = Math.min(0, ...xs), xhi = Math.max(0, ...xs);
  const xpad = Math.max(0.2, 0.04 * (xhi - xlo));
  const ylo0 = Math.min(...ys, 0), yhi0 = Math.max(...ys, 10);
  const yticks = niceTicks(ylo0, yhi0);
  const ylo = Math.min(ylo0, yticks[0]), yhi = Math.max(yhi0, yticks[yticks.length - 1]);
  const px = (v: number) => left + ((symlog(v) - (xlo - xpad)) / (xhi - xlo + 2 * xpad)) * pw;
  const py = (v: number) => top + ph - ((Math.min(v, o.yCap) - ylo) / (yhi - ylo || 1)) * ph;
  marks.push(text(left, 16, o.title, 'start', TITLE), text(left, 44, o.subtitle, 'start', FONT, GREY));
  for (const t of yticks) {
    marks.push({ kind: 'line', x1: left, y1: py(t), x2: left + pw, y2: py(t), colour: LIGHT, width: 1 });
    marks.push(text(left - 8, py(t) - 5, String(t), 'end'));
  }
  const decades = [0, ...[1, 10, 100, 1000, 10000, 100000].flatMap((d) => [d, -d])]
    .filter((d) => symlog(d) >= xlo - xpad && symlog(d) <= xhi + xpad);
  for (const d of decades) {
    marks.push({ kind: 'line', x1: px(d), y1: top, x2: px(d), y2: top + ph, colour: LIGHT, width: 1 });
    marks.push(text(px(d), top + ph + 8, String(d), 'middle'));
  }
  marks.push({ kind: 'line', x1: left, y1: top + ph, x2: left + pw, y2: top + ph, colour: BLACK, width: 1 });
  marks.push({ kind: 'line', x1: left, y1: top, x2: left, y2: top + ph, colour: BLACK, width: 1 });
  marks.push(text(left + pw / 2, H - 24, o.xLabel, 'middle'), text(left - 8, top - 20, o.yLabel, 'start'));
  const colourOf = new Map(o.groups.map((g, i) => [g, PALETTE[i % PALETTE.length]]));
  for (const p of o.points) marks.push({
    kind: 'circle', cx: px(p.x), cy: py(p.y), r: 4, fill: colourOf.get(p.group) ?? GREY,
  });
  o.groups.forEach((g, i) => {
    const y = top + 10 + i * 22;
    marks.push({ kind: 'circle', cx: left + pw + 24, cy: y + 5, r: 5, fill: colourOf.get(g)! });
    marks.push(text(left + pw + 36, y, g));
  });
  return { width: W, height: H, background: WHITE, marks };
}

export interface BarRow { label: string; segments: number[]; note: string }

export interface BarOptions {
  title: string;
  subtitle: string;
  xLabel: string;
  rows: BarRow[];
  /** Name of segment i of every row (legend), e.g. 'layer 0'. */
  segmentNames: string[];
}

/** Horizontal stacked bars, one row each, segment i in palette colour i, a note after each bar. */
export function stackedBars(o: BarOptions): Scene {
  const rowH = 18, labelW = Math.max(...o.rows.map((r) => textWidth(r.label, FONT))) + 16;
  const noteW = Math.max(...o.rows.map((r) => textWidth(r.note, FONT))) + 16;
  const left = 16 + labelW, top = 96, plotW = 560;
  const W = left + plotW + noteW + 16, H = top + o.rows.length * rowH + 56;
  const max = Math.max(1, ...o.rows.map((r) => r.segments.reduce((a, b) => a + b, 0)));
  const marks: Mark[] = [
    text(16, 16, o.title, 'start', TITLE), text(16, 44, o.subtitle, 'start', FONT, GREY),
  ];
  o.segmentNames.forEach((name, i) => {
    const x = 16 + i * 110;
    marks.push(
      { kind: 'rect', x, y: 68, w: 12, h: 12, fill: PALETTE[i % PALETTE.length] }, text(x + 18, 69, name));
  });
  for (const t of niceTicks(0, max, 5)) {
    const x = left + (t / max) * plotW;
    marks.push({
      kind: 'line', x1: x, y1: top - 4, x2: x, y2: top + o.rows.length * rowH, colour: LIGHT, width: 1,
    });
    marks.push(text(x, top + o.rows.length * rowH + 8, String(t), 'middle'));
  }
  o.rows.forEach((r, j) => {
    const y = top + j * rowH;
    marks.push(text(left - 8, y + 3, r.label, 'end'));
    let x = left;
    r.segments.forEach((v, i) => {
      const w = (v / max) * plotW;
      if (w > 0) marks.push({
        kind: 'rect', x, y: y + 2, w: Math.max(1, w), h: rowH - 4, fill: PALETTE[i % PALETTE.length],
      });
      x += w;
    });
    marks.push(text(x + 8, y + 3, r.note, 'start', FONT, GREY));
  });
  marks.push(text(left + plotW / 2, H - 24, o.xLabel, 'middle'));
  return { width: W, height: H, background: WHITE, marks };
}

export interface GridColumn { images: Bitmap[]; lines: string[] }

/** Columns of images (one per row name) with caption lines under each column. */
export function imageGrid(
  title: string, subtitle: string, rowNames: string[], columns: GridColumn[], scale = 3,
): Scene {
  const imgW = Math.max(...columns.flatMap((c) => c.images.map((b) => b.width))) * scale;
  const imgH = Math.max(...columns.flatMap((c) => c.images.map((b) => b.height))) * scale;
  const labelW = Math.max(...rowNames.map((n) => textWidth(n, FONT))) + 24;
  const colW = Math.max(imgW, ...columns.flatMap((c) => c.lines.map((l) => textWidth(l, FONT)))) + 16;
  const lines = Math.max(0, ...columns.map((c) => c.lines.length));
  const top = 72, W = labelW + columns.length * colW + 8,
    H = top + rowNames.length * (imgH + 8) + lines * 16 + 16;
  const marks: Mark[] = [
    text(16, 16, title, 'start', TITLE), text(16, 44, subtitle, 'start', FONT, GREY),
  ];
  rowNames.forEach((n, r) => marks.push(text(labelW - 12, top + r * (imgH + 8) + imgH / 2 - 5, n, 'end')));
  columns.forEach((c, i) => {
    const x = labelW + i * colW + (colW - imgW) / 2;
    c.images.forEach((b, r) => marks.push({
      kind: 'image', x, y: top + r * (imgH + 8), bitmap: b, scale,
    }));
    c.lines.forEach((l, k) => marks.push(
      text(labelW + i * colW + colW / 2, top + rowNames.length * (imgH + 8) + k * 16, l, 'middle')));
  });
  return { width: W, height: H, background: WHITE, marks };
}
