import { unary } from '../autodiff/prims/unary.js';
import { fail } from '../core/errors.js';
import { SLOPE_RANGE } from '../core/limits.js';
import { describe } from '../model/chain-spec.js';
import type { UnaryName } from '../kernels/kernels.js';
import type { LayerwiseRule, Op } from './op.js';

/** Only leaky_relu reads its slope; the others carry 0 so that every activation has one attrs type. */
export interface SlopeAttrs { slope: number }

/**
 * Elementwise activations: shape unchanged, no parameters. leaky_relu takes "slope" (PyTorch's
 * negative_slope).
 */
export function activation(name: UnaryName, layerwise: LayerwiseRule<SlopeAttrs>): Op<SlopeAttrs> {
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
    layerwise,
  };
}
