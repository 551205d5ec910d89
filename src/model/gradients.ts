import { Engine, type Var } from '../autodiff/engine.js';
import { crossEntropy } from '../autodiff/prims/softmax.js';
import type { Kernels } from '../kernels/kernels.js';
import type { BnMode } from '../ops/op.js';
import type { Tensor } from '../tensor/tensor.js';
import { forwardGraph, type Graph, type ParamMap } from './graph.js';

/**
 * The loss of a batch and its gradients with respect to every trainable tensor: the mean
 * cross-entropy over the batch (PyTorch's default reduction), so the gradients are the batch mean,
 * which is what a federated client shares.
 */
export interface BatchGradients {
  loss: number;
  logits: Tensor;
  gradients: Map<string, Float64Array>;
  /** Every computed node's output, by node index (training reads batch norm's inputs from them). */
  outputs: readonly (Tensor | undefined)[];
}

/** Every tensor as a Var: trainable ones as variables (when `differentiate`), buffers as constants. */
export function paramVars(e: Engine, g: Graph, params: ParamMap, differentiate: boolean): Map<string, Var> {
  const out = new Map<string, Var>();
  for (const p of g.params) {
    const t = { shape: p.shape, data: params.get(p.name)! };
    out.set(p.name, differentiate && p.trainable ? e.variable(t) : e.constant(t));
  }
  return out;
}

export function batchGradients(
  kernels: Kernels, g: Graph, params: ParamMap, images: Tensor, labels: readonly number[], bnMode: BnMode,
): BatchGradients {
  const e = new Engine(kernels);
  const vars = paramVars(e, g, params, true);
  const values = forwardGraph({ e, bnMode }, g, vars, { x: e.constant(images) });
  const logits = values[g.output];
  const loss = crossEntropy(e, logits, labels);
  const trainable = g.params.filter((p) => p.trainable);
  const grads = e.grad(loss, trainable.map((p) => vars.get(p.name)!));
  const gradients = new Map<string, Float64Array>();
  trainable.forEach((p, i) => gradients.set(
    p.name, grads[i]?.data ?? new Float64Array(p.shape.reduce((a, b) => a * b, 1))));
  return {
    loss: loss.data[0], logits: logits.value, gradients, outputs: Array.from(values, (v) => v?.value),
  };
}
