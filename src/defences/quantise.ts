import { cellDistance } from './adaptive.js';
import { roundHalfEven, roundToFloat16 } from './rounding.js';
import type { Defence } from './types.js';
import { str } from './types.js';

/**
 * Quantisation of every entry before it is sent: float16 (round to nearest, ties to even; beyond
 * float16's range, ±Infinity, as a real float16 would be), intB with a symmetric per-tensor scale
 * s = max|x| / (2^(B−1) − 1), sending round(x/s) (ties to even) and s, so the server reads round(x/s)·s
 * within s/2 of x, or signSGD, which sends sign(x) alone.
 */
export const FORMATS = ['float16', 'int8', 'int4', 'int2', 'sign'] as const;

/** x rounded to the symmetric B-bit grid of step max|x| / (2^(B−1) − 1); all zeros stay zeros. */
export function quantiseSymmetric(v: Float64Array, bits: number): Float64Array {
  const levels = 2 ** (bits - 1) - 1;
  let max = 0;
  for (let k = 0; k < v.length; k++) max = Math.max(max, Math.abs(v[k]));
  if (max === 0) return v.slice();
  const scale = max / levels;
  return v.map((x) => Math.min(levels, Math.max(-levels, roundHalfEven(x / scale))) * scale);
}

export function quantiseTensor(v: Float64Array, format: string): Float64Array {
  if (format === 'float16') return v.map(roundToFloat16);
  if (format === 'sign') return v.map(Math.sign);
  return quantiseSymmetric(v, Number(format.slice(3)));
}

export const quantise: Defence = {
  name: 'quantise',
  description: 'quantisation: float16, intB with a per-tensor scale, or signSGD (the sign of each entry)',
  options: [{
    name: 'format', kind: 'choice', choices: FORMATS,
    help: 'float16, int8, int4, int2 (symmetric, one scale per tensor) or sign',
  }],
  strength: { option: 'format', stronger: 'higher' },
  wrap: (inner, p) => (params, batch) => {
    const out = inner(params, batch);
    const tensors = new Map([...out.tensors].map(([k, v]) => [k, quantiseTensor(v, str(p, 'format'))]));
    return { ...out, tensors };
  },
  /**
   * intB: any value in the received value's rounding cell (half a step s = max|r| / (2^(B−1) − 1)
   * either side) would have been sent as it was, so the distance is zero inside and grows outside.
   * sign: only directions are received; cosine against the sign vector. float16: its rounding (a
   * relative 2^−11) is far below what matching resolves, so the naive reading stands.
   */
  adapt: (p) => {
    const format = str(p, 'format');
    if (format === 'float16') return {};
    if (format === 'sign') return { distance: 'cosine' };
    return { distance: cellDistance(2 ** (Number(format.slice(3)) - 1) - 1) };
  },
};
