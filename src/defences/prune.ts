import { survivorMask } from './adaptive.js';
import { copyTensors } from './tensors.js';
import { fractionCount, zeroSmallest } from './magnitude.js';
import type { Defence } from './types.js';
import { num } from './types.js';

/**
 * Magnitude pruning per tensor: in each tensor of the update, the round(p·n) entries of smallest
 * magnitude are set to zero (ties: the lower index first). DLG reports that p ≥ 20 % stops it.
 */
export const prune: Defence = {
  name: 'prune',
  description: 'magnitude pruning: zero the fraction p of smallest-magnitude entries of each tensor',
  options: [{ name: 'p', kind: 'number', min: 0, max: 1, help: 'the fraction of each tensor zeroed' }],
  strength: { option: 'p', stronger: 'higher' },
  wrap: (inner, p) => (params, batch) => {
    const out = inner(params, batch);
    const tensors = copyTensors(out.tensors);
    for (const v of tensors.values()) zeroSmallest([v], fractionCount(num(p, 'p'), v.length));
    return { ...out, tensors };
  },
  // the zeros received are (almost surely) the dropped entries: compare the survivors only
  adapt: (_p, received) => ({ mask: survivorMask(received.tensors) }),
};
