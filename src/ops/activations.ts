import { unary } from '../autodiff/prims/unary.js';
import { fail } from '../core/errors.js';
import { SLOPE_RANGE } from '../core/limits.js';
import { describe } from '../model/chain-spec.js';
import type { UnaryName } from '../kernels/kernels.js';
import { ONE_TO_ONE, type LayerwiseRule, type Op } from './op.js';

/** ReLU is invertible only where it is active: a zero output says no more than that its input was ≤ 0. */
const ACTIVE_SET: LayerwiseRule<unknown> = {
  knownInputs: (_a, { input }, known) => Uint8Array.from(known, (k, i) => (k && input[i] > 0 ? 1 : 0)),
};

/**
 * Elementwise activations: shape unchanged, no parameters. leaky_relu takes "slope" (PyTorch's
 * negative_slope).
 */
function activation(name: UnaryName): Op<{ slope: number }> {
  const leaky = name === 'leaky_relu';
  return {
    name,
    arity: 1,
    fields: leaky ? ['slope'] : [],
    attrs: (raw, where) => {
      if (!leaky) return { slope: 0 };
      const slope = raw.slope ?? 0.01;
      const [lo, hi] = SLOPE_RANGE;
      if (typeof slope !== 'number' || !(slope >= lo && slope <= hi)) fail(where(
        `"slope" must be a number from ${lo} to ${hi}, got ${describe(slope)}`));
      return { slope };
    },
    shape: (_a, [x]) => x,
    params: () => [],
    apply: ({ e }, [x], _p, a) => (name === 'identity' ? x : unary(e, x, name, a.slope)),
    // the others are strictly monotonic: one to one
    layerwise: name === 'relu' ? ACTIVE_SET : ONE_TO_ONE,
  };
}

export const RELU = activation('relu');
export const LEAKY_RELU = activation('leaky_relu');
export const TANH = activation('tanh');
export const SIGMOID = activation('sigmoid');
export const SOFTPLUS = activation('softplus');
export const IDENTITY = activation('identity');
