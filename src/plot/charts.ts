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

/** niceTicks extended by a step at either end where they stop short of lo or hi. */
function coveringTicks(lo: number, hi: number, want: number): number[] {
  const t = niceTicks(lo, hi, want);
  const step = t.length > 1 ? t[1] - t[0] : Math.max(1, Math.abs(hi - lo));
  if (t.length === 0) return [lo, hi];
  if (t[0] > lo) t.unshift(t[0] - step);
  if (t[t.length - 1] < hi) t.push(t[t.length - 1] + step);
  return t;
}

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

export interface CurveSeries {
  name: string;
  /** One value per x position (null: not measured), with its interval (NaN: none to draw). */
  points: ({ y: number; low: number; high: number } | null)[];
}

export interface CurvePanel {
  title: string;
  /** The label of each x position, left to right. */
  ticks: string[];
  series: CurveSeries[];
  /** A second quantity on a right-hand axis, drawn in grey (ε for noise). */
  right?: { label: string; values: (number | null)[] };
}

export interface CurveOptions {
  title: string;
  subtitle: string;
  yLabel: string;
  panels: CurvePanel[];
  /** A horizontal reference line (the break-point threshold), labelled. */
  threshold?: { y: number; label: string };
  /** Values above are drawn at the cap. */
  yCap: number;
}

/**
 * Curves over ordered categories, one panel each, side by side and wrapped three a row: each
 * series in its palette colour with its 95% interval as a vertical bar, a shared left axis, and
 * optionally a panel's own right axis (grey squares).
 */
export function curvePanels(o: CurveOptions): Scene {
  const pw = 300, ph = 220, left = 70, gapX = 150, top = 130, gapY = 120;
  const perRow = Math.min(3, o.panels.length);
  const rows = Math.ceil(o.panels.length / perRow);
  const W = left + perRow * (pw + gapX), H = top + rows * (ph + gapY);
  const marks: Mark[] = [
    text(16, 16, o.title, 'start', TITLE), text(16, 44, o.subtitle, 'start', FONT, GREY),
  ];
  const names = [...new Set(o.panels.flatMap((p) => p.series.map((s) => s.name)))];
  const colourOf = new Map(names.map((n, i) => [n, PALETTE[i % PALETTE.length]]));
  names.forEach((n, i) => {
    const x = 16 + i * 150;
    marks.push({ kind: 'rect', x, y: 68, w: 12, h: 12, fill: colourOf.get(n)! }, text(x + 18, 69, n));
  });
  const ys = o.panels.flatMap((p) => p.series.flatMap((s) => s.points.flatMap((q) => (q
    ? [q.y, q.low, q.high].filter(Number.isFinite).map((v) => Math.min(v, o.yCap)) : []))));
  const yticks = coveringTicks(Math.min(0, ...ys), Math.max(10, o.threshold?.y ?? 0, ...ys), 5);
  const ylo = yticks[0], yhi = yticks[yticks.length - 1];
  o.panels.forEach((panel, k) => {
    const x0 = left + (k % perRow) * (pw + gapX), y0 = top + Math.floor(k / perRow) * (ph + gapY);
    const n = panel.ticks.length;
    const px = (i: number) => x0 + (n === 1 ? pw / 2 : 12 + (i / (n - 1)) * (pw - 24));
    const py = (v: number) => y0 + ph - ((Math.min(v, o.yCap) - ylo) / (yhi - ylo || 1)) * ph;
    marks.push(text(x0, y0 - 44, panel.title, 'start'));
    for (const t of yticks) {
      marks.push({ kind: 'line', x1: x0, y1: py(t), x2: x0 + pw, y2: py(t), colour: LIGHT, width: 1 });
      marks.push(text(x0 - 8, py(t) - 5, String(t), 'end'));
    }
    if (o.threshold) marks.push(
      { kind: 'line', x1: x0, y1: py(o.threshold.y), x2: x0 + pw, y2: py(o.threshold.y), colour: GREY,
        width: 1 },
      text(x0 + pw - 2, py(o.threshold.y) - 14, o.threshold.label, 'end', FONT, GREY));
    marks.push(
      { kind: 'line', x1: x0, y1: y0 + ph, x2: x0 + pw, y2: y0 + ph, colour: BLACK, width: 1 },
      { kind: 'line', x1: x0, y1: y0, x2: x0, y2: y0 + ph, colour: BLACK, width: 1 },
      text(x0 - 8, y0 - 24, o.yLabel, 'end', FONT, GREY));
    panel.ticks.forEach((t, i) => marks.push(text(px(i), y0 + ph + 8 + (i % 2) * 14, t, 'middle')));
    if (panel.right) {
      const vals = panel.right.values.filter((v): v is number => v !== null && Number.isFinite(v) && v > 0);
      // a log axis when the values span more than two decades (ε from 1 to 10⁵ across a noise sweep)
      const log = vals.length > 1 && Math.max(...vals) > 100 * Math.min(...vals);
      const scale = (v: number) => (log ? Math.log10(v) : v);
      const rticks = log
        ? coveringTicks(Math.floor(Math.log10(Math.min(...vals))), Math.ceil(Math.log10(Math.max(...vals))), 4)
          .filter(Number.isInteger)
        : coveringTicks(0, Math.max(1e-9, ...vals), 4);
      const rlo = log ? rticks[0] : 0, rhi = rticks[rticks.length - 1];
      const ry = (v: number) => y0 + ph - ((scale(v) - rlo) / (rhi - rlo || 1)) * ph;
      marks.push({ kind: 'line', x1: x0 + pw, y1: y0, x2: x0 + pw, y2: y0 + ph, colour: GREY, width: 1 },
        text(x0 + pw + 8, y0 - 24, panel.right.label, 'start', FONT, GREY));
      for (const t of rticks) marks.push(
        text(x0 + pw + 8, ry(log ? 10 ** t : t) - 5, log ? `1e${t}` : String(t), 'start', FONT, GREY));
      let prev: [number, number] | null = null;
      panel.right.values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v) || (log && v <= 0)) { prev = null; return; }
        const at: [number, number] = [px(i), ry(v)];
        if (prev) marks.push(
          { kind: 'line', x1: prev[0], y1: prev[1], x2: at[0], y2: at[1], colour: GREY, width: 1 });
        marks.push({ kind: 'rect', x: at[0] - 3, y: at[1] - 3, w: 6, h: 6, fill: GREY });
        prev = at;
      });
    }
    for (const s of panel.series) {
      const colour = colourOf.get(s.name)!;
      let prev: [number, number] | null = null;
      s.points.forEach((q, i) => {
        if (!q || !Number.isFinite(q.y)) { prev = null; return; }
        const at: [number, number] = [px(i), py(q.y)];
        if (prev) marks.push(
          { kind: 'line', x1: prev[0], y1: prev[1], x2: at[0], y2: at[1], colour, width: 2 });
        if (Number.isFinite(q.low) && Number.isFinite(q.high)) marks.push({
          kind: 'line', x1: at[0], y1: py(q.low), x2: at[0], y2: py(q.high), colour, width: 1,
        });
        marks.push({ kind: 'circle', cx: at[0], cy: at[1], r: 4, fill: colour });
        prev = at;
      });
    }
  });
  return { width: W, height: H, background: WHITE, marks };
}
