/** Statistics for the architecture study. */
import { Rng } from '../core/rng.js';

/** Ranks 1..n, ties sharing their average rank. */
export function ranks(values: readonly number[]): number[] {
  const idx = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(values.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k][1]] = avg;
    i = j + 1;
  }
  return r;
}

export function pearson(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = x.reduce((s, v) => s + v, 0) / n, my = y.reduce((s, v) => s + v, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

export interface Spearman {
  rho: number;
  n: number;
  /** 95% interval by Fisher's z with standard error sqrt(1.06/(n−3)) (Fieller, Hartley & Pearson 1957). */
  low: number;
  high: number;
}

export function spearman(x: readonly number[], y: readonly number[]): Spearman {
  const n = x.length;
  const rho = pearson(ranks(x), ranks(y));
  if (n < 4 || !Number.isFinite(rho)) return { rho, n, low: NaN, high: NaN };
  const z = Math.atanh(Math.max(-0.999999, Math.min(0.999999, rho)));
  const se = Math.sqrt(1.06 / (n - 3));
  return { rho, n, low: Math.tanh(z - 1.96 * se), high: Math.tanh(z + 1.96 * se) };
}

export interface Difference {
  /** rho(b, y) − rho(a, y) on all the data. */
  diff: number;
  /** 95% percentile interval over resamples. */
  low: number;
  high: number;
  resamples: number;
}

/**
 * Whether index b predicts y better than index a: the difference of their Spearman correlations with
 * the same y, with a paired bootstrap that resamples whole clusters (here: architectures), since the
 * cells of one architecture share its index and are not independent. Seeded.
 */
export function spearmanDifference(
  cluster: readonly string[], a: readonly number[], b: readonly number[], y: readonly number[],
  seed = 0, resamples = 2000,
): Difference {
  const diffOf = (idx: number[]) => {
    const pick = (v: readonly number[]) => idx.map((i) => v[i]);
    return spearman(pick(b), pick(y)).rho - spearman(pick(a), pick(y)).rho;
  };
  const all = y.map((_, i) => i);
  const groups = [...new Set(cluster)].map((c) => all.filter((i) => cluster[i] === c));
  const rng = new Rng(seed);
  const d: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const idx = groups.flatMap(() => groups[Math.floor(rng.uniform() * groups.length)]);
    const v = diffOf(idx);
    if (Number.isFinite(v)) d.push(v);
  }
  d.sort((p, q) => p - q);
  const q = (f: number) => d[Math.min(d.length - 1, Math.max(0, Math.round(f * (d.length - 1))))] ?? NaN;
  return { diff: diffOf(all), low: q(0.025), high: q(0.975), resamples: d.length };
}

export interface MeanInterval {
  mean: number;
  n: number;
  /** 95% interval of the mean by Student's t (NaN for fewer than two values). */
  low: number;
  high: number;
}

/** Student's t, two-sided 95% (the 0.975 quantile), for 1..30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/**
 * The t quantile: the table up to 30 degrees of freedom, beyond it the Cornish–Fisher expansion
 * about the normal quantile (its error is below 1e-4 there).
 */
export function tQuantile975(df: number): number {
  if (df <= T975.length) return T975[df - 1];
  const z = 1.959964, z3 = z ** 3, z5 = z ** 5;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df * df);
}

/** The mean of `values` with its 95% t interval (the images of a sweep point are independent draws). */
export function meanInterval(values: readonly number[]): MeanInterval {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, n, low: NaN, high: NaN };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  const half = tQuantile975(n - 1) * Math.sqrt(variance / n);
  return { mean, n, low: mean - half, high: mean + half };
}
