import { privacyOf } from '../defences/accounting.js';
import { getDefence } from '../defences/registry.js';
import { formatDefence } from '../defences/spec.js';
import { meanInterval, type MeanInterval } from '../study/stats.js';
import { EXACT_DB } from '../study/summary.js';
import type { DefenceRecord } from '../threat/payload.js';
import type { AttackMode, DefendRow } from './cell.js';

/** PSNR for means and curves: an exact recovery (up to +∞) counts as EXACT_DB. */
export const cappedPsnr = (p: number): number => Math.min(p, EXACT_DB);

/** A curve's name: the method, with ' adaptive' for the attack that knows the defence. */
export const seriesName = (method: string, mode: AttackMode): string =>
  (mode === 'adaptive' ? `${method} adaptive` : method);

/** One point of a curve: a defence at one strength (or none), one attack, the mean over the images. */
export interface CurvePoint {
  defence: string;
  strength: number | string | null;
  /** The defence with every parameter (`noise:z=1,clip=1,...`), or 'none'. */
  spec: string;
  method: string;
  mode: AttackMode;
  series: string;
  psnr: MeanInterval;
  ssim: MeanInterval;
  /** Means over the images of the update's relative error and cosine against the clean gradient. */
  relError: number;
  cosine: number;
  /** ε of one release at the noise's δ (noise only). */
  epsilon: number | null;
  /** Images on which the attack refused the update (the blank image was scored). */
  gaveUp: number;
}

export interface BreakPoint {
  defence: string;
  /** The weakest strength from which the best attack stays below the threshold; null: not reached. */
  strength: number | string | null;
  /** Per strength, weakest first: the best attack's mean PSNR and which attack it was. */
  best: { strength: number | string; psnr: number; series: string }[];
}

export interface DefendSummary {
  threshold: number;
  baseline: CurvePoint[];
  /** Per defence (in the order given), its points: strengths weakest first, then series. */
  curves: { defence: string; points: CurvePoint[] }[];
  breakPoints: BreakPoint[];
}

/** A sweep's records from the weakest to the strongest, by the defence's own direction. */
export function weakestFirst(records: readonly DefenceRecord[]): DefenceRecord[] {
  if (records.length === 0) return [];
  const d = getDefence(records[0].name), option = d.options.find((o) => o.name === d.strength.option)!;
  const rank = (r: DefenceRecord) => {
    const v = r.params[option.name];
    return typeof v === 'number' ? v : option.choices!.indexOf(v);
  };
  const sign = d.strength.stronger === 'higher' ? 1 : -1;
  return [...records].sort((a, b) => sign * (rank(a) - rank(b)));
}

/**
 * The break point of one defence: with the best attack's mean PSNR per strength, weakest first, the
 * index of the weakest strength from which every stronger one stays below `threshold` too; −1 when
 * even the strongest does not (NaN counts as not below).
 */
export function breakIndex(best: readonly number[], threshold: number): number {
  let i = best.length;
  while (i > 0 && best[i - 1] < threshold) i--;
  return i < best.length ? i : -1;
}

/**
 * Means with 95% intervals of every (defence, strength, attack, mode) over the images, the utility
 * cost, and each defence's break point. `sweeps` are the records of each defence, weakest first.
 */
export function summariseDefend(
  rows: readonly DefendRow[], sweeps: readonly DefenceRecord[][], series: readonly [string, AttackMode][],
  threshold: number,
): DefendSummary {
  const point = (record: DefenceRecord | null, method: string, mode: AttackMode): CurvePoint | null => {
    const spec = record ? formatDefence(record) : 'none';
    const rs = rows.filter((r) => r.method === method && r.mode === mode
      && (record ? r.defence === record.name && formatDefence({ name: r.defence, params: r.params }) === spec
        : r.defence === 'none'));
    if (rs.length === 0) return null;
    const avg = (f: (r: DefendRow) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
    return {
      defence: record?.name ?? 'none', strength: rs[0].strength, spec, method, mode,
      series: seriesName(method, mode),
      psnr: meanInterval(rs.map((r) => cappedPsnr(r.psnr))), ssim: meanInterval(rs.map((r) => r.ssim)),
      relError: avg((r) => r.relError), cosine: avg((r) => r.cosine),
      epsilon: record ? privacyOf([record])?.epsilon ?? null : null,
      gaveUp: rs.filter((r) => typeof r.gaveUp === 'string').length,
    };
  };
  const baseline = [...new Set(series.map(([m]) => m))].flatMap((m) => point(null, m, 'naive') ?? []);
  const curves = sweeps.map((records) => ({
    defence: records[0].name,
    points: records.flatMap((r) => series.flatMap(([m, mode]) => point(r, m, mode) ?? [])),
  }));
  const breakPoints = sweeps.map((records, k): BreakPoint => {
    const best = records.map((r) => {
      const spec = formatDefence(r);
      const here = curves[k].points.filter((p) => p.spec === spec);
      const top = here.reduce<CurvePoint | null>(
        (a, p) => (a === null || p.psnr.mean > a.psnr.mean ? p : a), null);
      return { strength: r.params[getDefence(r.name).strength.option], psnr: top?.psnr.mean ?? NaN,
        series: top?.series ?? '' };
    });
    const at = breakIndex(best.map((b) => b.psnr), threshold);
    return { defence: records[0].name, strength: at < 0 ? null : best[at].strength, best };
  });
  return { threshold, baseline, curves, breakPoints };
}
