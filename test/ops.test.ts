import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchingObjective } from '../src/attacks/matching/objective.js';
import { Engine } from '../src/autodiff/engine.js';
import { crossEntropy } from '../src/autodiff/prims/softmax.js';
import { Rng } from '../src/core/rng.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { batchGradients, paramVars } from '../src/model/gradients.js';
import { buildGraph, forwardGraph, parseGraphSpec, type Graph, type NodeSpec, type ParamMap } from '../src/model/graph.js';
import { initParams } from '../src/model/params.js';
import { OPS } from '../src/ops/registry.js';
import type { BnMode } from '../src/ops/op.js';

/**
 * Every op inside a small graph, against central finite differences: the gradients of the mean
 * cross-entropy of a batch of 3 with respect to every trainable tensor and to the input (first
 * order), and the gradient of the gradient-matching objective with respect to the input (second
 * order, both distances). Float64; the worst relative error must be below 1e-6.
 */
const INPUT: [number, number, number] = [2, 6, 6];
const B = 3;
const LABELS = [1, 0, 2];

function graph(name: string, body: Omit<NodeSpec, 'inputs'>[] & { inputs?: string[] }[], head: 'conv' | 'flat' = 'conv'): Graph {
  const tail = head === 'conv'
    ? [{ name: 'flat', op: 'flatten' }, { name: 'out', op: 'linear', out: 3 }]
    : [{ name: 'out', op: 'linear', out: 3 }];
  return buildGraph(parseGraphSpec({ name, input: INPUT, nodes: [...body, ...tail] }, name));
}

/** Perturbs the loss in one value of one tensor (or of the input) and compares with the gradient. */
function firstOrder(g: Graph, bnMode: BnMode, seed: number): number {
  const params = jitter(g, initParams(g, seed), seed);
  const rng = new Rng(seed + 1);
  const x = Float64Array.from({ length: B * 72 }, () => rng.uniform() - 0.5);
  const loss = () => batchGradients(JS_KERNELS, g, params, { shape: [B, ...INPUT], data: x }, LABELS, bnMode).loss;
  const { gradients } = batchGradients(JS_KERNELS, g, params, { shape: [B, ...INPUT], data: x }, LABELS, bnMode);
  // the input's gradient, from the engine directly
  const e = new Engine(JS_KERNELS);
  const xv = e.variable({ shape: [B, ...INPUT], data: x });
  const values = forwardGraph({ e, bnMode }, g, paramVars(e, g, params, false), { x: xv });
  const [dx] = e.grad(crossEntropy(e, values[g.output], LABELS), [xv]);
  let worst = 0;
  const check = (v: Float64Array, k: number, analytic: number) => {
    const keep = v[k], h = 1e-6;
    v[k] = keep + h; const up = loss();
    v[k] = keep - h; const down = loss();
    v[k] = keep;
    const numeric = (up - down) / (2 * h);
    worst = Math.max(worst, Math.abs(numeric - analytic) / Math.max(1e-3, Math.abs(numeric) + Math.abs(analytic)));
  };
  for (const p of g.params.filter((q) => q.trainable)) {
    const v = params.get(p.name)!, gr = gradients.get(p.name)!;
    for (let k = 0; k < v.length; k += Math.max(1, Math.floor(v.length / 12))) check(v, k, gr[k]);
  }
  for (let k = 0; k < x.length; k += 7) check(x, k, dx!.data[k]);
  return worst;
}

/** The matching objective's gradient in the candidate against finite differences of its value. */
function secondOrder(g: Graph, bnMode: BnMode, seed: number, distance: 'l2' | 'cosine'): number {
  const params = jitter(g, initParams(g, seed), seed);
  const rng = new Rng(seed + 2);
  const truth = Float64Array.from({ length: B * 72 }, () => rng.uniform() - 0.5);
  const target = batchGradients(JS_KERNELS, g, params, { shape: [B, ...INPUT], data: truth }, LABELS, bnMode).gradients;
  const f = matchingObjective({ kernels: JS_KERNELS, graph: g, params, bnMode, target, labels: LABELS, distance }, [B, ...INPUT]);
  const x = Float64Array.from({ length: B * 72 }, () => rng.uniform() - 0.5);
  const { grad } = f(x);
  let worst = 0;
  for (let k = 0; k < x.length; k += 5) {
    const keep = x[k], h = 1e-5;
    x[k] = keep + h; const up = f(x).value;
    x[k] = keep - h; const down = f(x).value;
    x[k] = keep;
    const numeric = (up - down) / (2 * h);
    worst = Math.max(worst, Math.abs(numeric - grad[k]) / Math.max(1e-3 * Math.max(...grad.map(Math.abs)), Math.abs(numeric) + Math.abs(grad[k])));
  }
  return worst;
}

/** Batch-norm buffers and affine terms away from their initial 0/1 values, so every term is exercised. */
function jitter(g: Graph, params: Map<string, Float64Array>, seed: number): ParamMap {
  const rng = new Rng(seed + 99);
  for (const p of g.params.filter((q) => g.nodes[q.node].op.name === 'batch_norm2d')) {
    const v = params.get(p.name)!;
    for (let i = 0; i < v.length; i++) v[i] = p.name.endsWith('running_var') ? 0.5 + rng.uniform() : p.name.endsWith('weight') ? 0.5 + rng.uniform() : rng.uniform() - 0.5;
  }
  return params;
}

const conv = (name: string, extra: Record<string, unknown> = {}) => ({ name, op: 'conv2d', out: 3, kernel: 3, padding: 1, ...extra });

const CASES: [string, Graph, BnMode[]][] = [
  ['conv2d (rectangular kernel, per-axis stride and padding) + linear', graph('conv', [conv('c', { kernel: [3, 2], stride: [2, 1], padding: [1, 0] }), { name: 't', op: 'tanh' }]), ['eval']],
  ['linear + flatten only', graph('mlp', [{ name: 'flat0', op: 'flatten' }, { name: 'fc', op: 'linear', out: 5 }, { name: 's', op: 'sigmoid' }], 'flat'), ['eval']],
  ['relu', graph('relu', [conv('c'), { name: 'r', op: 'relu' }]), ['eval']],
  ['leaky_relu (slope 0.2)', graph('leaky', [conv('c'), { name: 'r', op: 'leaky_relu', slope: 0.2 }]), ['eval']],
  ['tanh', graph('tanh', [conv('c'), { name: 'a', op: 'tanh' }]), ['eval']],
  ['sigmoid', graph('sigmoid', [conv('c'), { name: 'a', op: 'sigmoid' }]), ['eval']],
  ['softplus', graph('softplus', [conv('c'), { name: 'a', op: 'softplus' }]), ['eval']],
  ['identity and dropout', graph('ident', [conv('c'), { name: 'a', op: 'identity' }, { name: 'd', op: 'dropout', p: 0.3 }, { name: 't', op: 'tanh' }]), ['eval']],
  ['max_pool2d (padding)', graph('maxpool', [conv('c'), { name: 't', op: 'tanh' }, { name: 'p', op: 'max_pool2d', kernel: 3, stride: 2, padding: 1 }]), ['eval']],
  ['avg_pool2d', graph('avgpool', [conv('c'), { name: 't', op: 'tanh' }, { name: 'p', op: 'avg_pool2d', kernel: 2 }]), ['eval']],
  ['global_avg_pool', graph('gap', [conv('c'), { name: 't', op: 'tanh' }, { name: 'p', op: 'global_avg_pool' }]), ['eval']],
  ['batch_norm2d, eval and train', graph('bn', [conv('c'), { name: 'bn', op: 'batch_norm2d' }, { name: 't', op: 'tanh' }]), ['eval', 'train']],
  ['add (a residual connection)', graph('res', [
    conv('c1'), { name: 't1', op: 'tanh' }, conv('c2', { inputs: ['t1'] }), { name: 'add', op: 'add', inputs: ['c2', 't1'] }, { name: 't2', op: 'tanh' },
  ]), ['eval']],
];

describe('every op against finite differences', () => {
  for (const [title, g, modes] of CASES) {
    for (const mode of modes) {
      it(`${title}${modes.length > 1 ? ` (${mode})` : ''}: gradients of the loss, and of gradient matching (L2 and cosine)`, (t) => {
        const first = firstOrder(g, mode, 3);
        assert.ok(first < 1e-6, `first order: ${first}`);
        const second = (['l2', 'cosine'] as const).map((d) => secondOrder(g, mode, 4, d));
        second.forEach((err, i) => assert.ok(err < 1e-5, `second order (${['l2', 'cosine'][i]}): ${err}`));
        t.diagnostic(`worst relative error: first order ${first.toExponential(1)}, `
          + `second order l2 ${second[0].toExponential(1)}, cosine ${second[1].toExponential(1)}`);
      });
    }
  }
  it('covers every op of the registry', () => {
    const used = new Set(CASES.flatMap(([, g]) => g.nodes.map((n) => n.op.name)));
    assert.deepEqual(OPS.map((o) => o.name).filter((n) => !used.has(n)), []);
  });
});
