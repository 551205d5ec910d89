import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  identityPullBack, layerBelow, pullBack, solvedPullBack,
} from '../src/attacks/layerwise/pullback.js';
import { Engine } from '../src/autodiff/engine.js';
import { crossEntropy } from '../src/autodiff/prims/softmax.js';
import { Rng } from '../src/core/rng.js';
import type { ModelSpec } from '../src/model/chain-spec.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { chainParams } from '../src/model/chain.js';
import { paramVars } from '../src/model/gradients.js';
import { forwardGraph } from '../src/model/graph.js';
import { chainCase } from './helpers.js';

describe('pull-back constraint', () => {
  for (const [act, cout] of [['tanh', 4], ['sigmoid', 2], ['softplus', 4], ['leaky_relu', 4]] as const) {
    it(`is zero at the true input and its gradient matches finite differences (${act}, layer below ${cout < 3 ? 'under' : 'over'}-determined)`, () => {
      const spec: ModelSpec = { name: 't', input: [2, 6, 6], layers: [
        { type: 'conv', out: cout, kernel: 3, stride: 1, padding: 0, bias: true, activation: act },
        { type: 'conv', out: 2, kernel: 2, stride: 2, padding: 0, bias: false, activation: 'tanh' },
        { type: 'linear', out: 3, bias: true, activation: 'identity' }] };
      const c = chainCase(spec, 3);
      const rng = new Rng(2);
      const image = Float64Array.from({ length: 72 }, () => rng.uniform() - 0.5);
      // the true input of layer 1 (layer 0's activation output) and dL/dz of layer 1, from the graph engine
      const e = new Engine(JS_KERNELS);
      const vars = paramVars(e, c.graph, c.params, true);
      const values = forwardGraph({ e, bnMode: 'eval' }, c.graph, vars, { x: e.constant({ shape: [1, 2, 6, 6], data: image }) });
      const at = (name: string) => c.graph.nodes.findIndex((n) => n.name === name);
      const loss = crossEntropy(e, values[c.graph.output], [1]);
      const trainable = c.graph.params.filter((p) => p.trainable);
      const grads = e.grad(loss, [values[at('layers.1')], ...trainable.map((p) => vars.get(p.name)!)]);
      const named = new Map(trainable.map((p, i) => [p.name, grads[i + 1]!.data]));
      const pb = pullBack(
        JS_KERNELS, c.model, c.layers, chainParams(c.view, named), 1, grads[0]!.data, { tol: 1e-10 });
      const truth = values[at('layers.0') + 1].data;
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

describe('pull-back over the identities (closed form)', () => {
  // layer 0 under-determined: 3 output channels, rows 27 + 54 − 9 = 72 < 2·7·7 = 98 unknowns
  for (const [act, bias] of [['tanh', true], ['sigmoid', false], ['softplus', true]] as const) {
    it(`equals the solved least-squares residual and its gradient (${act}, bias ${bias})`, () => {
      const spec: ModelSpec = { name: 't', input: [2, 7, 7], layers: [
        { type: 'conv', out: 3, kernel: 3, stride: 2, padding: 0, bias, activation: act },
        { type: 'conv', out: 2, kernel: 2, stride: 1, padding: 0, bias: false, activation: 'tanh' },
        { type: 'linear', out: 3, bias: true, activation: 'identity' }] };
      const c = chainCase(spec, 5);
      const rng = new Rng(4);
      const grads = c.layers.map((t) => ({
        weight: t.weight.map(() => 0.1 * rng.normal()), bias: t.bias ? t.bias.map(() => rng.normal()) : null,
      }));
      const dz1 = Float64Array.from({ length: 2 * 2 * 2 }, () => rng.normal());
      const below = layerBelow(JS_KERNELS, c.model, c.layers, grads, 1, dz1);
      const solve = { tol: 1e-10 };
      const closed = identityPullBack(below), solved = solvedPullBack(below, solve);
      const [lo, hi] = c.model.layers[0].activation.range;
      const x = Float64Array.from({ length: 27 }, () => {
        const v = rng.uniform();
        return Number.isFinite(hi) ? lo + (hi - lo) * (0.1 + 0.8 * v) : 0.1 + 2 * v;
      });
      const a = closed(x), b = solved(x);
      assert.ok(b.value > 1e-6, `a consistent system says nothing: ${b.value}`);
      assert.ok(Math.abs(a.value - b.value) <= 1e-10 * b.value, `value ${a.value} vs ${b.value}`);
      const scale = Math.max(...b.grad.map(Math.abs));
      for (let k = 0; k < x.length; k++) {
        assert.ok(Math.abs(a.grad[k] - b.grad[k]) <= 1e-9 * scale, `k=${k}: ${a.grad[k]} vs ${b.grad[k]}`);
      }
      // pullBack itself takes the closed form here, so its values are the closed form's to the bit
      const pb = pullBack(JS_KERNELS, c.model, c.layers, grads, 1, dz1, solve);
      assert.deepEqual(pb(x), a);
    });
  }
});
