import { fail } from '../core/errors.js';
import { applyDefences, type DefendedClient } from '../defences/apply.js';
import type { Kernels } from '../kernels/kernels.js';
import { batchGradients } from '../model/gradients.js';
import type { Graph, ParamMap } from '../model/graph.js';
import type { BnMode } from '../ops/op.js';
import { formatShape, sizeOf, type Tensor } from '../tensor/tensor.js';
import type { GradientUpdate, SharedUpdate } from './payload.js';

/**
 * The simulated federated-learning client: with evaluation, the only place that sees the images.
 * It computes the mean cross-entropy gradients of its batch, which is what leaves the client.
 */
export interface ClientResult<U extends SharedUpdate = GradientUpdate> {
  update: U;
  loss: number;
}

export function checkBatch(g: Graph, images: Tensor, labels: readonly number[]): void {
  const want = [images.shape[0], ...g.input];
  if (images.shape.length !== 4 || images.shape.slice(1).some((d, i) => d !== g.input[i])
    || images.data.length !== sizeOf(want)) {
    fail(`images have shape ${formatShape(images.shape)}, the model takes [N, ${g.input.join(', ')}]`);
  }
  if (labels.length !== images.shape[0]) fail(`${labels.length} label(s) for ${images.shape[0]} image(s)`);
  for (const y of labels) checkLabel(g, y);
}

export function checkLabel(g: Graph, label: number): void {
  if (!Number.isInteger(label) || label < 0 || label >= g.classes) fail(
    `label must be an integer in 0..${g.classes - 1}, got ${label}`);
}

export function simulateClient(
  kernels: Kernels, g: Graph, params: ParamMap, bnMode: BnMode, images: Tensor, labels: readonly number[],
): ClientResult {
  checkBatch(g, images, labels);
  const { loss, gradients } = batchGradients(kernels, g, params, images, labels, bnMode);
  return { update: { gradients, batch: images.shape[0] }, loss };
}

/**
 * The client with defences (defences/): they run here, on the client, in the order given, and the
 * update declares them. The other clients' images (secure aggregation) are checked like the batch.
 */
export function simulateDefendedClient(
  c: DefendedClient, images: Tensor, labels: readonly number[],
): ClientResult<SharedUpdate> {
  checkBatch(c.model, images, labels);
  if (c.population) checkBatch(c.model, c.population.images, c.population.labels);
  return applyDefences(c, { images, labels });
}

/**
 * A client that has already trained: `steps` plain SGD steps (learning rate `lr`) on its batch before
 * the shared gradient is computed. Returns the new weights; the attacker is given these (it always
 * knows the weights the gradient was computed at). Buffers are kept as they are.
 */
export function trainOnBatch(
  kernels: Kernels, g: Graph, params: ParamMap, bnMode: BnMode, images: Tensor, labels: readonly number[],
  steps: number, lr: number,
): Map<string, Float64Array> {
  checkBatch(g, images, labels);
  if (!Number.isInteger(steps) || steps < 0) fail(
    `training steps must be a non-negative integer, got ${steps}`);
  if (!(lr > 0) || !Number.isFinite(lr)) fail(
    `training learning rate must be a positive number, got ${lr}`);
  const p = new Map([...params].map(([k, v]) => [k, v.slice()]));
  for (let s = 0; s < steps; s++) {
    const { gradients } = batchGradients(kernels, g, p, images, labels, bnMode);
    for (const [name, grad] of gradients) p.set(name, p.get(name)!.map((w, k) => w - lr * grad[k]));
  }
  return p;
}
