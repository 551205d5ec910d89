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

/**
 * A client that has already trained: `steps` plain SGD steps (learning rate `lr`) on the image
 * before the shared gradient is computed. Returns new parameters; the attacker is given these
 * (it always knows the weights the gradient was computed at).
 */
export function trainOnImage(model: Model, params: Params, image: Float64Array, label: number, steps: number, lr: number): Params {
  checkImage(model, image);
  checkLabel(model, label);
  if (!Number.isInteger(steps) || steps < 0) fail(`training steps must be a non-negative integer, got ${steps}`);
  if (!(lr > 0) || !Number.isFinite(lr)) fail(`training learning rate must be a positive number, got ${lr}`);
  let p = params.map((t) => ({ weight: t.weight.slice(), bias: t.bias ? t.bias.slice() : null }));
  for (let s = 0; s < steps; s++) {
    const { grads } = backward(model, p, forward(model, p, image), label);
    p = p.map((t, i) => ({
      weight: t.weight.map((w, k) => w - lr * grads[i].weight[k]),
      bias: t.bias ? t.bias.map((b, k) => b - lr * grads[i].bias![k]) : null,
    }));
  }
  return p;
}
