import { fail } from '../core/errors.js';
import { SLOPE_RANGE } from '../core/limits.js';

export type ActivationName = 'tanh' | 'sigmoid' | 'leaky_relu' | 'softplus' | 'identity' | 'relu';

export const ACTIVATIONS: readonly ActivationName[] = [
  'tanh', 'sigmoid', 'leaky_relu', 'softplus', 'identity', 'relu',
];

/** An elementwise activation with the pieces the attacks need: value, derivative, inverse. */
export interface Activation {
  readonly name: ActivationName;
  readonly invertible: boolean;
  /**
   * Invertible only where the output is positive (ReLU): there the pre-activation equals the output;
   * where it is zero the pre-activation is only known to be ≤ 0 (the unit is inactive).
   */
  readonly partial?: boolean;
  f(z: number): number;
  /** Derivative with respect to the pre-activation z. */
  df(z: number): number;
  /** Second derivative (gradient-matching attacks differentiate through df). */
  d2f(z: number): number;
  /** Pre-activation from an output value; only for values strictly inside `range`. */
  inverse(a: number): number;
  /** The open interval of outputs the inverse accepts. */
  readonly range: readonly [number, number];
}

// PyTorch's softplus switches to the identity above this to avoid overflow.
const SOFTPLUS_THRESHOLD = 20;

export function makeActivation(name: ActivationName, slope = 0.01): Activation {
  switch (name) {
    case 'tanh':
      return {
        name, invertible: true, f: Math.tanh, df: (z) => 1 - Math.tanh(z) ** 2,
        d2f: (z) => { const t = Math.tanh(z); return -2 * t * (1 - t * t); },
        inverse: Math.atanh, range: [-1, 1],
      };
    case 'sigmoid': {
      const s = (z: number) => 1 / (1 + Math.exp(-z));
      return {
        name, invertible: true, f: s, df: (z) => s(z) * (1 - s(z)),
        d2f: (z) => { const v = s(z); return v * (1 - v) * (1 - 2 * v); },
        inverse: (a) => Math.log(a / (1 - a)), range: [0, 1],
      };
    }
    case 'leaky_relu':
      if (!(slope >= SLOPE_RANGE[0] && slope <= SLOPE_RANGE[1])) {
        fail(`leaky_relu slope must be from ${SLOPE_RANGE[0]} to ${SLOPE_RANGE[1]}, got ${slope}`);
      }
      return {
        name, invertible: true,
        f: (z) => (z >= 0 ? z : slope * z),
        df: (z) => (z >= 0 ? 1 : slope),
        d2f: () => 0,
        inverse: (a) => (a >= 0 ? a : a / slope),
        range: [-Infinity, Infinity],
      };
    case 'softplus':
      return {
        name, invertible: true,
        f: (z) => (z > SOFTPLUS_THRESHOLD ? z : Math.log1p(Math.exp(z))),
        df: (z) => (z > SOFTPLUS_THRESHOLD ? 1 : 1 / (1 + Math.exp(-z))),
        d2f: (z) => {
          if (z > SOFTPLUS_THRESHOLD) return 0;
          const v = 1 / (1 + Math.exp(-z));
          return v * (1 - v);
        },
        inverse: (a) => (a > SOFTPLUS_THRESHOLD ? a : Math.log(Math.expm1(a))),
        range: [0, Infinity],
      };
    case 'identity':
      return {
        name, invertible: true, f: (z) => z, df: () => 1, d2f: () => 0, inverse: (a) => a,
        range: [-Infinity, Infinity],
      };
    case 'relu':
      return {
        name, invertible: false, partial: true,
        f: (z) => (z > 0 ? z : 0),
        df: (z) => (z > 0 ? 1 : 0),
        d2f: () => 0,
        inverse: (a) => a,
        range: [0, Infinity],
      };
  }
}
