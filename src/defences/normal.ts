/**
 * The normal distribution's tails to full double precision, for the privacy accounting, where
 * δ ≈ 1e-5 is a difference of two tail probabilities and ε comes from e^ε times a tail far out
 * (a 1e-7-accurate approximation such as Abramowitz–Stegun 7.1.26 would leave no correct digit).
 *
 * erfc(x) for |x| ≤ 1: 1 − erf(x) with erf(x) = (2/√π)·e^{−x²}·Σ_n (2x²)^n·x / (1·3·…·(2n+1)), a
 * series of positive terms (no cancellation); erfc ≥ 0.157 there, so the subtraction loses under a
 * bit. For x > 1: the scaled erfcx(x) = e^{x²}·erfc(x) by Laplace's continued fraction
 * 1/√π · 1/(x + (1/2)/(x + (2/2)/(x + (3/2)/(x + …)))), evaluated by the modified Lentz method until a
 * step changes it by less than an ulp, and e^{−x²} with x² split so its rounding does not enter the
 * exponent. For x < −1, erfc(x) = 2 − erfc(−x). Relative error ~1e-15 against 50-digit mpmath
 * (test/defences.test.ts, fixture from scripts/make-normal-fixture.py).
 */

const SQRT_PI = Math.sqrt(Math.PI);

/** erf(x) for |x| ≤ 1 by its positive series. */
function erfSmall(x: number): number {
  const t = 2 * x * x;
  let term = x, sum = x;
  for (let n = 1; n < 100 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= t / (2 * n + 1);
    sum += term;
  }
  return (2 / SQRT_PI) * Math.exp(-x * x) * sum;
}

/** e^{x²}·erfc(x) for x > 1, by the continued fraction (Lentz). */
export function erfcx(x: number): number {
  const tiny = 1e-300;
  let f = x, c = x, d = 0;
  for (let n = 1; n < 20000; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const step = c * d;
    f *= step;
    if (Math.abs(step - 1) < 1e-16) break;
  }
  return 1 / (SQRT_PI * f);
}

/**
 * e^{−x²/s} (s = 1 or 2) without the rounding of x² in the exponent: x = h + l with h a multiple of
 * 1/16, so h² is exact and x² = h² + l·(x + h).
 */
export function expMinusSquare(x: number, s = 1): number {
  const h = Math.round(x * 16) / 16, l = x - h;
  return Math.exp(-(h * h) / s) * Math.exp(-(l * (x + h)) / s);
}

export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < -1) return 2 - erfc(-x);
  if (x <= 1) return 1 - erfSmall(x);
  if (x > 27.3) return 0; // below the smallest double
  return expMinusSquare(x) * erfcx(x);
}

/** Φ(x), the standard normal distribution function. */
export function normalCdf(x: number): number {
  return erfc(-x * Math.SQRT1_2) / 2;
}

/** log Φ(x), for the far left tail. */
export function logNormalCdf(x: number): number {
  if (x >= -1) return Math.log(normalCdf(x));
  // log erfc(y) = −y² + log erfcx(y) with y = −x/√2; y² = x²/2 computed from x itself
  return -(x * x) / 2 + Math.log(erfcx(-x * Math.SQRT1_2)) - Math.LN2;
}
