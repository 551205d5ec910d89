import type { Engine, Primitive, Var } from '../engine.js';
import { add, mul, scale } from './arith.js';
import { broadcastTo, reshape, sumTo } from './shape.js';

/**
 * Row-wise softmax of [N, K] logits, and the mean cross-entropy built on it. The cross-entropy is
 * one primitive whose VJP is (softmax − one-hot)/N times the adjoint, computed exactly as the
 * client's backward pass has always done it (p − 1 at the label), so gradients are bit for bit those
 * of the chain code; softmax's own VJP, p ⊙ (g − ⟨g, p⟩), carries the second order.
 */
export const SOFTMAX: Primitive = {
  name: 'softmax',
  forward: (k, [z]) => ({ out: { shape: z.shape, data: k.softmax(z.data, z.shape[0], z.shape[1]) } }),
  vjp: (e, { output: p }, g) => {
    const [n] = p.shape;
    const dot = broadcastTo(e, sumTo(e, mul(e, g, p), [n, 1]), p.shape);
    return [mul(e, p, add(e, g, scale(e, dot, -1)))];
  },
};

export const softmax = (e: Engine, z: Var): Var => e.apply(SOFTMAX, [z], undefined);

export const CROSS_ENTROPY: Primitive<readonly number[]> = {
  name: 'cross_entropy',
  forward: (k, [z], labels) => {
    const [n, classes] = z.shape;
    const p = k.softmax(z.data, n, classes);
    let loss = 0;
    for (let i = 0; i < n; i++) loss -= Math.log(p[i * classes + labels[i]]);
    return { out: { shape: [1], data: Float64Array.of(loss / n) } };
  },
  vjp: (e, { inputs: [z], attrs: labels }, g) => {
    const [n, classes] = z.shape;
    const minusOneHot = new Float64Array(n * classes);
    labels.forEach((y, i) => { minusOneHot[i * classes + y] = -1; });
    const diff = add(e, softmax(e, z), e.constant({ shape: z.shape, data: minusOneHot }));
    const mean = n === 1 ? diff : scale(e, diff, 1 / n); // × 1 would be exact anyway; skipped
    return [mul(e, broadcastTo(e, reshape(e, g, [1, 1]), [n, classes]), mean)];
  },
};

/** Mean cross-entropy of [N, K] logits against N labels. */
export const crossEntropy = (e: Engine, z: Var, labels: readonly number[]): Var =>
  e.apply(CROSS_ENTROPY, [z], [...labels]);
