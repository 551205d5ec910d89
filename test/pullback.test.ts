import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pullBack } from '../src/attacks/layerwise/pullback.js';
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
