import { fail } from './errors.js';
import { backward, forward, type Params } from './network.js';
import type { Model } from './spec.js';

/**
 * The simulated federated-learning client: the only place (with evaluation) that sees the image.
 * It computes one image's cross-entropy gradients, which are what leaves the client.
 */
export interface ClientUpdate {
  gradients: Params;
  loss: number;
}

export function checkImage(model: Model, image: Float64Array): void {
  const [c, h, w] = model.spec.input;
  if (image.length !== c * h * w) fail(`image has ${image.length} values, the model's input is ${c}×${h}×${w} = ${c * h * w}`);
}

export function checkLabel(model: Model, label: number): void {
  if (!Number.isInteger(label) || label < 0 || label >= model.classes) fail(`label must be an integer in 0..${model.classes - 1}, got ${label}`);
}

export function simulateClient(model: Model, params: Params, image: Float64Array, label: number): ClientUpdate {
  checkImage(model, image);
  checkLabel(model, label);
  const trace = forward(model, params, image);
  const { loss, grads } = backward(model, params, trace, label);
  return { gradients: grads, loss };
}
