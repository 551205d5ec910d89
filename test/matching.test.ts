import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACTIVATIONS, type ActivationName } from '../src/core/activations.js';
import { simulateClient } from '../src/core/client.js';
import { matchingLoss, type GradientDistance, type MatchingProblem } from '../src/core/matching.js';
import { initParams } from '../src/core/network.js';
import { Rng } from '../src/core/rng.js';
import { buildModel, type ModelSpec } from '../src/core/spec.js';

/** ∂(gradient distance)/∂input against central finite differences, float64. */
function worstError(spec: ModelSpec, distance: GradientDistance, from = 0): number {
  const model = buildModel(spec);
  const params = initParams(model, 2);
  const rng = new Rng(8);
  const [c, h, w] = spec.input;
  const truth = Float64Array.from({ length: c * h * w }, () => rng.uniform() - 0.5);
  const target = simulateClient(model, params, truth, 1).gradients;
  const g0 = model.layers[from];
  const x = Float64Array.from({ length: g0.inC * g0.inH * g0.inW }, () => 0.4 * (rng.uniform() - 0.5));
  const p: MatchingProblem = { model, params, target, label: 1, distance, from };
  const { grad } = matchingLoss(p, x);
  let worst = 0;
  const eps = 1e-6;
  for (let k = 0; k < x.length; k++) {
    const save = x[k];
    x[k] = save + eps;
    const up = matchingLoss(p, x).value;
    x[k] = save - eps;
    const down = matchingLoss(p, x).value;
    x[k] = save;
    const fd = (up - down) / (2 * eps);
    const scale = Math.max(1e-9, Math.max(...grad.map(Math.abs)));
    worst = Math.max(worst, Math.abs(fd - grad[k]) / scale);
  }
  return worst;
}

const conv = (act: ActivationName, extra: Partial<{ stride: number; padding: number; bias: boolean }> = {}) => ({
  type: 'conv' as const, out: 3, kernel: 3, stride: extra.stride ?? 2, padding: extra.padding ?? 1, bias: extra.bias ?? true, activation: act,
});

describe('gradient-matching objective: gradient against finite differences (error ≤ 1e-6 of the largest entry)', () => {
  for (const act of ACTIVATIONS.filter((a) => a !== 'relu') as ActivationName[]) {
    for (const distance of ['l2', 'cosine'] as const) {
      it(`conv (stride 2, padding 1) + linear, ${act}, ${distance}`, () => {
        const spec: ModelSpec = { name: 't', input: [2, 6, 6], layers: [conv(act), { type: 'linear', out: 4, bias: true, activation: act === 'sigmoid' ? 'sigmoid' : 'identity' }] };
        const e = worstError(spec, distance);
        assert.ok(e < 1e-6, `worst relative error ${e}`);
      });
    }
  }
  it('two conv layers (stride 1 no padding, stride 2), no biases, tanh output', () => {
    const spec: ModelSpec = { name: 't', input: [2, 7, 7], layers: [conv('tanh', { stride: 1, padding: 0, bias: false }), conv('softplus', { stride: 2, padding: 0, bias: false }), { type: 'linear', out: 3, bias: true, activation: 'tanh' }] };
    for (const d of ['l2', 'cosine'] as const) { const e = worstError(spec, d); assert.ok(e < 1e-6, `${d}: ${e}`); }
  });
  it('a sub-network from layer 1 (the hybrid attack\'s per-layer objective)', () => {
    const spec: ModelSpec = { name: 't', input: [2, 7, 7], layers: [conv('tanh', { stride: 1, padding: 0 }), conv('sigmoid'), { type: 'linear', out: 3, bias: true, activation: 'identity' }] };
    const e = worstError(spec, 'l2', 1);
    assert.ok(e < 1e-6, `${e}`);
  });
  it('is zero, with zero gradient, at the true input', () => {
    const spec: ModelSpec = { name: 't', input: [1, 6, 6], layers: [conv('tanh'), { type: 'linear', out: 3, bias: true, activation: 'identity' }] };
    const model = buildModel(spec);
    const params = initParams(model, 5);
    const x = Float64Array.from({ length: 36 }, (_, i) => Math.sin(i) * 0.4);
    const target = simulateClient(model, params, x, 2).gradients;
    const r = matchingLoss({ model, params, target, label: 2, distance: 'l2' }, x);
    assert.ok(r.value < 1e-28 && Math.max(...r.grad.map(Math.abs)) < 1e-14);
  });
});
