import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pullBack } from '../src/core/attacks/pullback.js';
import { backward, forward, initParams } from '../src/core/network.js';
import { Rng } from '../src/core/rng.js';
import { buildModel, type ModelSpec } from '../src/core/spec.js';

describe('pull-back constraint', () => {
  for (const [act, cout] of [['tanh', 4], ['sigmoid', 2], ['softplus', 4], ['leaky_relu', 4]] as const) {
    it(`is zero at the true input and its gradient matches finite differences (${act}, layer below ${cout < 3 ? 'under' : 'over'}-determined)`, () => {
      const spec: ModelSpec = { name: 't', input: [2, 6, 6], layers: [
        { type: 'conv', out: cout, kernel: 3, stride: 1, padding: 0, bias: true, activation: act },
        { type: 'conv', out: 2, kernel: 2, stride: 2, padding: 0, bias: false, activation: 'tanh' },
        { type: 'linear', out: 3, bias: true, activation: 'identity' }] };
      const model = buildModel(spec);
      const params = initParams(model, 3);
      const rng = new Rng(2);
      const image = Float64Array.from({ length: 72 }, () => rng.uniform() - 0.5);
      const tr = forward(model, params, image);
      const bk = backward(model, params, tr, 1);
      const pb = pullBack(model, params, bk.grads, 1, bk.dz[1], { tol: 1e-10 });
      const truth = tr.inputs[1];
      assert.ok(pb(truth).value < 1e-20, `value at truth ${pb(truth).value}`);
      // away from the truth: a perturbed candidate inside the activation's range
      const x = truth.map((v, k) => v + 0.05 * Math.sin(3 * k));
      const { grad } = pb(x);
      const scale = Math.max(...grad.map(Math.abs));
      for (let k = 0; k < x.length; k += 3) {
        const s = x[k];
        x[k] = s + 1e-6; const up = pb(x).value;
        x[k] = s - 1e-6; const down = pb(x).value;
        x[k] = s;
        const fd = (up - down) / 2e-6;
        assert.ok(Math.abs(fd - grad[k]) <= 1e-5 * scale, `k=${k}: fd ${fd} vs ${grad[k]}`);
      }
    });
  }
});
