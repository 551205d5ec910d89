import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACTIVATIONS, type ActivationName } from '../src/core/activations.js';
import { convInputGrad } from '../src/core/conv.js';
import { backward, crossEntropy, forward, initParams, type Params } from '../src/core/network.js';
import { Rng } from '../src/core/rng.js';
import { buildModel, type ModelSpec } from '../src/core/spec.js';

/** Central finite differences of the loss against the analytic gradients, float64. */
function loss(spec: ModelSpec, params: Params, x: Float64Array, label: number): number {
  const m = buildModel(spec);
  return crossEntropy(forward(m, params, x).logits, label).loss;
}

function check(spec: ModelSpec, seed: number) {
  const model = buildModel(spec);
  const params = initParams(model, seed);
  const rng = new Rng(seed + 7);
  const [c, h, w] = spec.input;
  const x = Float64Array.from({ length: c * h * w }, () => rng.uniform() - 0.5);
  const label = 1;
  const trace = forward(model, params, x);
  const back = backward(model, params, trace, label);
  const eps = 1e-6;
  let worst = 0;
  const compare = (analytic: number, bump: (d: number) => void) => {
    bump(eps);
    const up = loss(spec, params, x, label);
    bump(-2 * eps);
    const down = loss(spec, params, x, label);
    bump(eps);
    const numeric = (up - down) / (2 * eps);
    const err = Math.abs(numeric - analytic) / Math.max(1e-4, Math.abs(numeric) + Math.abs(analytic));
    worst = Math.max(worst, err);
  };
  params.forEach((p, i) => {
    for (let k = 0; k < p.weight.length; k += Math.max(1, Math.floor(p.weight.length / 25))) compare(back.grads[i].weight[k], (d) => (p.weight[k] += d));
    if (p.bias) for (let k = 0; k < p.bias.length; k++) compare(back.grads[i].bias![k], (d) => (p.bias![k] += d));
  });
  // input gradient: pull dz of layer 0 through its transposed convolution
  const dx = convInputGrad(model.layers[0], params[0].weight, back.dz[0]);
  for (let k = 0; k < x.length; k += 3) compare(dx[k], (d) => (x[k] += d));
  return worst;
}

const smooth = ACTIVATIONS.filter((a) => a !== 'relu') as ActivationName[];

describe('gradients against central finite differences (relative error ≤ 1e-5)', () => {
  for (const act of smooth) {
    it(`conv stride 2 padding 1 + linear, ${act}`, () => {
      const spec: ModelSpec = { name: 't', input: [2, 7, 7], layers: [
        { type: 'conv', out: 3, kernel: 3, stride: 2, padding: 1, bias: true, activation: act },
        { type: 'linear', out: 4, bias: true, activation: act === 'sigmoid' ? 'sigmoid' : 'identity' }] };
      { const e = check(spec, 3); assert.ok(e < 1e-5, `worst ${e}`); }
    });
  }
  it('conv stride 1 no padding, no bias, then two linear layers', () => {
    const spec: ModelSpec = { name: 't', input: [3, 6, 6], layers: [
      { type: 'conv', out: 2, kernel: 4, stride: 1, padding: 0, bias: false, activation: 'tanh' },
      { type: 'linear', out: 5, bias: false, activation: 'softplus' },
      { type: 'linear', out: 3, bias: true, activation: 'identity' }] };
    assert.ok(check(spec, 4) < 1e-5);
  });
  it('conv stride 3 that leaves input rows uncovered, leaky_relu slope 0.2', () => {
    const spec: ModelSpec = { name: 't', input: [1, 8, 8], layers: [
      { type: 'conv', out: 2, kernel: 3, stride: 3, padding: 0, bias: true, activation: 'leaky_relu', slope: 0.2 },
      { type: 'linear', out: 3, bias: true, activation: 'identity' }] };
    assert.ok(check(spec, 5) < 1e-5);
  });
  it('cross-entropy gradient is softmax − onehot', () => {
    const { dlogits, loss: l } = crossEntropy(Float64Array.of(1, 2, 3), 0);
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)], s = e[0] + e[1] + e[2];
    assert.ok(Math.abs(l - -Math.log(e[0] / s)) < 1e-12);
    assert.ok(Math.abs(dlogits[0] - (e[0] / s - 1)) < 1e-12 && Math.abs(dlogits[2] - e[2] / s) < 1e-12);
  });
});
