import { maxPool2d } from '../autodiff/prims/pool.js';
import { remapSums } from './knowledge.js';
import type { LayerwiseRule } from './op.js';
import { pool, poolGeometry, type PoolAttrs } from './pool-window.js';

/**
 * A max-pooled output is the input at its window's argmax: a known output determines that one input
 * and says only "not larger" of the others, and a known sum of outputs is the sum of their winners.
 * The what-if takes the true argmax (first maximum, as the forward pass); an attacker does not see it.
 */
const ARGMAX: LayerwiseRule<PoolAttrs> = {
  knownInputs: (a, { kernels, inShape, input }, known) => {
    const { argmax } = kernels.maxPool2d(poolGeometry(a, inShape), 1, input);
    const values = new Uint8Array(input.length);
    argmax.forEach((at, k) => { if (known.values[k]) values[at] = 1; });
    return { values, sums: remapSums(known.sums, (k) => argmax[k], input.length) };
  },
};

export const MAX_POOL2D = pool('max_pool2d', maxPool2d, ARGMAX);
