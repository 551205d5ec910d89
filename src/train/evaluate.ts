import { Engine } from '../autodiff/engine.js';
import { crossEntropy } from '../autodiff/prims/softmax.js';
import type { Normalisation } from '../formats/image.js';
import type { Kernels } from '../kernels/kernels.js';
import { OutputPool } from '../kernels/pool.js';
import { paramVars } from '../model/gradients.js';
import { forwardGraph, type Graph, type ParamMap } from '../model/graph.js';
import { batchOf, type LabelledImage } from './dataset.js';

export interface Evaluation {
  /** The fraction classified correctly (the first largest logit is the prediction). */
  accuracy: number;
  /** The mean cross-entropy. */
  loss: number;
  count: number;
}

/** How many of a batch's logits rows [B, K] put their first maximum on the label. */
export function correctCount(logits: Float64Array, labels: readonly number[]): number {
  const k = logits.length / labels.length;
  let correct = 0;
  labels.forEach((y, b) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (logits[b * k + j] > logits[b * k + best]) best = j;
    if (best === y) correct++;
  });
  return correct;
}

/**
 * The model as deployed: batch norm on its running statistics (eval mode), over `images` in batches
 * of `batch` (the results do not depend on it beyond rounding).
 */
export function evaluate(
  kernels: Kernels, g: Graph, params: ParamMap, images: readonly LabelledImage[], norm: Normalisation,
  batch: number,
): Evaluation {
  const pool = new OutputPool();
  const e = new Engine(kernels.withOutputs(pool.take));
  const shape = g.input as [number, number, number];
  let correct = 0, lossSum = 0;
  for (let start = 0; start < images.length; start += batch) {
    const indices = Array.from({ length: Math.min(batch, images.length - start) }, (_, i) => start + i);
    const { x, labels } = batchOf(images, indices, shape, norm);
    const vars = paramVars(e, g, params, false);
    const logits = forwardGraph({ e, bnMode: 'eval' }, g, vars, { x: e.constant(x) })[g.output];
    lossSum += crossEntropy(e, logits, labels).data[0] * labels.length;
    correct += correctCount(logits.data, labels);
    pool.release();
  }
  const count = images.length;
  return { accuracy: count ? correct / count : NaN, loss: count ? lossSum / count : NaN, count };
}
