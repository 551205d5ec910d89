import { fail } from '../core/errors.js';
import type { DefenceRecord } from '../threat/payload.js';
import { erfcx, expMinusSquare, normalCdf } from './normal.js';

/**
 * Privacy accounting of the Gaussian mechanism (docs/METHOD.md, "Accounting"). A release with L2
 * sensitivity Δ and noise N(0, σ²) is described by μ = Δ/σ; in DP-SGD's convention Δ = C and σ = z·C,
 * so μ = 1/z. Its exact privacy profile (Balle & Wang 2018, the analytic Gaussian mechanism) is
 *   δ(ε) = Φ(μ/2 − ε/μ) − e^ε·Φ(−μ/2 − ε/μ),
 * and T releases of the same data (no subsampling) compose exactly into one with μ·√T (Gaussian
 * differential privacy, Dong, Roth & Su 2019), so ε over T rounds is exact too. Rényi DP (Mironov
 * 2017) gives the familiar bound: order α costs T·α·μ²/2, and ε = min over α of that + log(1/δ)/(α−1).
 */

/** δ(ε) of a Gaussian mechanism with μ = Δ/σ. */
export function gaussianDelta(epsilon: number, mu: number): number {
  const a = mu / 2 - epsilon / mu, b = -mu / 2 - epsilon / mu;
  if (b >= -1) return normalCdf(a) - Math.exp(epsilon) * normalCdf(b);
  // e^ε·Φ(b) = e^{ε − b²/2}·erfcx(−b/√2)/2 and ε − b²/2 = −a²/2 exactly: no e^ε to overflow, no two
  // large exponents to cancel; when a is in the left tail too, Φ(a) = e^{−a²/2}·erfcx(−a/√2)/2 shares
  // the factor, and only the difference of the erfcx values is left
  const r = Math.SQRT1_2;
  if (a < -1) return (expMinusSquare(a, 2) * (erfcx(-a * r) - erfcx(-b * r))) / 2;
  return normalCdf(a) - (expMinusSquare(a, 2) * erfcx(-b * r)) / 2;
}

/**
 * The smallest ε with δ(ε) ≤ δ, by bisection to adjacent doubles: δ(ε) falls as ε grows, so the
 * bracket [lo, hi] with δ(lo) > δ ≥ δ(hi) halves until nothing lies between; hi is returned, an ε
 * that does hold. Doubling finds hi; ε = 0 when even δ(0) is within δ.
 */
export function gaussianEpsilon(delta: number, mu: number): number {
  if (!(delta > 0 && delta < 1)) fail(`δ must be in (0, 1), got ${delta}`);
  if (!(mu > 0) || !Number.isFinite(mu)) fail(`μ = Δ/σ must be a positive number, got ${mu}`);
  if (gaussianDelta(0, mu) <= delta) return 0;
  let lo = 0, hi = 1;
  while (gaussianDelta(hi, mu) > delta) {
    lo = hi;
    hi *= 2;
    if (!Number.isFinite(hi)) fail(`no finite ε reaches δ = ${delta} for μ = ${mu}`);
  }
  for (;;) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) return hi;
    if (gaussianDelta(mid, mu) > delta) lo = mid;
    else hi = mid;
  }
}

/** ε of `releases` Gaussian releases with noise multiplier z, exactly (μ = √releases / z). */
export function gaussianEpsilonComposed(z: number, releases: number, delta: number): number {
  return gaussianEpsilon(delta, Math.sqrt(releases) / z);
}

/**
 * The RDP bound for `releases` releases at noise multiplier z: RDP of order α is
 * ρ(α) = releases·α/(2z²); converting, ε = ρ(α) + log(1/δ)/(α − 1), least at α = 1 + √(log(1/δ)/a)
 * with a = releases/(2z²), where it is a + 2·√(a·log(1/δ)).
 */
export function rdpEpsilon(z: number, releases: number, delta: number): number {
  const a = releases / (2 * z * z), L = -Math.log(delta);
  return a + 2 * Math.sqrt(a * L);
}

/** The same conversion at one order α > 1 (any α gives a valid bound; rdpEpsilon takes the best). */
export function rdpEpsilonAt(z: number, releases: number, delta: number, alpha: number): number {
  return (releases * alpha) / (2 * z * z) - Math.log(delta) / (alpha - 1);
}

/** What the accounting says of an update's declared noise. */
export interface Privacy {
  delta: number;
  z: number;
  clip: number;
  per: string;
  /** Gaussian releases in one round: 1, or E when the noise is under E FedAvg local steps. */
  releasesPerRound: number;
  rounds: number;
  /** ε of one round (its releases composed), exact. */
  epsilon: number;
  /** ε over `rounds` rounds, exact (Gaussian DP composition). */
  epsilonRounds: number;
  /** ε over `rounds` rounds by the RDP conversion: an upper bound on epsilonRounds. */
  epsilonRoundsRdp: number;
}

/**
 * The privacy of a declared chain (noise appears at most once), or undefined without noise. FedAvg
 * listed after the noise runs it once per local step; secure aggregation adds others' noise, which
 * the accounting leaves out (it only helps).
 */
export function privacyOf(defences: readonly DefenceRecord[]): Privacy | undefined {
  const at = defences.findIndex((r) => r.name === 'noise');
  if (at < 0) return undefined;
  const p = defences[at].params;
  const z = p.z as number, delta = p.delta as number, rounds = p.rounds as number;
  const releasesPerRound = defences.slice(at + 1)
    .filter((r) => r.name === 'fedavg').reduce((n, r) => n * (r.params.steps as number), 1);
  const total = releasesPerRound * rounds;
  return {
    delta, z, clip: p.clip as number, per: p.per as string, releasesPerRound, rounds,
    epsilon: gaussianEpsilonComposed(z, releasesPerRound, delta),
    epsilonRounds: gaussianEpsilonComposed(z, total, delta),
    epsilonRoundsRdp: rdpEpsilon(z, total, delta),
  };
}
