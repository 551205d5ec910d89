/** Rounding to the nearest integer, halves to the even neighbour (IEEE 754's default). */
export function roundHalfEven(y: number): number {
  const f = Math.floor(y), r = y - f;
  return r > 0.5 || (r === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

/** Largest finite float16, and the magnitude from which float16 rounding overflows to infinity. */
export const FLOAT16_MAX = 65504;
const FLOAT16_OVERFLOW = 65520;

/**
 * The float16 (IEEE binary16) value nearest to x, ties to even, computed from the float64 directly
 * (rounding through float32 first would round twice). Spacing 2^(e−10) in the binade [2^e, 2^(e+1)),
 * 2^−24 below 2^−14 (subnormals); from 65520, halfway to the next power of two, it is ±Infinity.
 */
export function roundToFloat16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= FLOAT16_OVERFLOW) return x > 0 ? Infinity : -Infinity;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const q = 2 ** (Math.max(e, -14) - 10);
  // a / q is exact (a power-of-two scaling), so the rounding below is the only one
  return Math.sign(x) * roundHalfEven(a / q) * q;
}
