import { survivorMask } from './adaptive.js';
import { copyTensors } from './tensors.js';
import { fractionCount, zeroSmallest } from './magnitude.js';
import type { Defence } from './types.js';
import { num } from './types.js';

/**
 * Top-k sparsification over the whole update: only the k = round(keep·N) entries of largest magnitude
 * among all N entries of all tensors are sent, the rest are zero (ties: the earlier tensor in the
 * model's order, then the lower index, is dropped first). Unlike pruning, a tensor may lose all or
 * none of its entries.
 */
export const topk: Defence = {
  name: 'topk',
  description: 'top-k sparsification: keep the fraction `keep` of largest-magnitude entries of the update',
  options: [{
    name: 'keep', kind: 'number', min: 0, max: 1,
    help: 'the fraction of all entries kept (smaller is stronger)',
  }],
  strength: { option: 'keep', stronger: 'lower' },
  wrap: (inner, p) => (params, batch) => {
    const out = inner(params, batch);
    const tensors = copyTensors(out.tensors);
    const n = [...tensors.values()].reduce((s, v) => s + v.length, 0);
    zeroSmallest([...tensors.values()], n - fractionCount(num(p, 'keep'), n));
    return { ...out, tensors };
  },
  // the zeros received are (almost surely) the dropped entries: compare the survivors only
  adapt: (_p, received) => ({ mask: survivorMask(received.tensors) }),
};
