import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rgap } from '../src/attacks/layerwise/rgap.js';
import { lastLayerInput } from '../src/attacks/layerwise/closed-form.js';
import { REFERENCE_NORMALISATION } from '../src/formats/image.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { chainToGraph } from '../src/model/chain.js';
import { buildGraph } from '../src/model/graph.js';
import { initParams } from '../src/model/params.js';
import { simulateDefendedClient } from '../src/threat/client.js';
import { updateTensors, type DefenceRecord, type SharedUpdate } from '../src/threat/payload.js';
import { Matrix, solve } from 'ml-matrix';
import { withNoisePrior } from '../src/attacks/layerwise/noise-prior.js';
import { solveLayer } from '../src/solve/layersolve.js';
import { denseSystem, randomLayer } from './layer-systems.js';

/**
 * The layer-wise attacks read adaptively (docs/METHOD.md §15): pruned gradient entries are no
 * equations, so their rows are dropped and the closed form of the last layer uses surviving pairs.
 */

// a sigmoid convolution on 1×6×6 and a linear layer: 64 weight rows and 36 gradient rows for 36
// unknowns, so the convolution's system stays of full rank with rows dropped
const model = buildGraph(chainToGraph({ name: 'tiny', input: [1, 6, 6], layers: [
  { type: 'conv', out: 4, kernel: 3, stride: 1, padding: 0, bias: true, activation: 'sigmoid' },
  { type: 'linear', out: 5, bias: true, activation: 'identity' }] }));
const params = initParams(model, 3);
const payload = { model, params, normalisation: REFERENCE_NORMALISATION, bnMode: 'eval' as const };
const truth = Float64Array.from({ length: 36 }, (_, i) => 0.4 * Math.sin(i / 2.5));

function defended(defences: DefenceRecord[]): SharedUpdate {
  return simulateDefendedClient({
    kernels: JS_KERNELS, model, params, bnMode: 'eval', defences, seed: 5,
  }, { shape: [1, 1, 6, 6], data: truth }, [2]).update;
}

const relErr = (x: Float64Array) => Math.hypot(...x.map((v, i) => v - truth[i])) / Math.hypot(...truth);

describe('adaptive rgap under pruning', () => {
  // p = 0.09: 3 of the convolution's 36 weight gradients and 29 of the linear layer's 320 go, no bias
  const u = () => defended([{ name: 'prune', params: { p: 0.09 } }]);
  const run = (adaptive: boolean) => rgap.run(
    payload, { ...u(), labels: [2] }, { seed: 0, tol: 1e-10, adaptive });

  it('drops the pruned rows: the exact image where the rest has full rank; naively it is lost', () => {
    const naive = run(false), adaptive = run(true);
    const [conv] = adaptive.layers;
    assert.equal(conv.gradientConstraints, 36 - 3);
    assert.equal(conv.rankDeficiency, 0);
    assert.ok(relErr(adaptive.images.data) < 1e-8, `adaptive ${relErr(adaptive.images.data)}`);
    assert.ok(relErr(naive.images.data) > 1e-3, `naive ${relErr(naive.images.data)}`);
  });

  it('p = 0.5: half the rows and 3 of 5 bias entries go (refilled from the loss at x); still exact', () => {
    const u = defended([{ name: 'prune', params: { p: 0.5 } }]);
    const r = rgap.run(payload, { ...u, labels: [2] }, { seed: 0, tol: 1e-10, adaptive: true });
    assert.equal(updateTensors(u).get('layers.1.bias')?.filter((v) => v === 0).length, 3);
    assert.equal(r.layers[0].gradientConstraints, 18);
    assert.equal(r.layers[0].rankDeficiency, 0);
    assert.ok(relErr(r.images.data) < 1e-8, `adaptive ${relErr(r.images.data)}`);
  });

  it('clip then top-k (a chain): the conv loses all its gradient rows, its weight rows still decide', () => {
    const u = defended([{ name: 'clip', params: { norm: 0.1, per: 'example' } },
      { name: 'topk', params: { keep: 0.8 } }]);
    const run = (adaptive: boolean) => rgap.run(
      payload, { ...u, labels: [2] }, { seed: 0, tol: 1e-10, adaptive });
    const naive = run(false), adaptive = run(true);
    assert.equal(adaptive.layers[0].gradientConstraints, 0);
    assert.ok(relErr(adaptive.images.data) < 1e-8, `adaptive ${relErr(adaptive.images.data)}`);
    assert.ok(relErr(naive.images.data) > 0.1, `naive ${relErr(naive.images.data)}`);
  });
});

describe('the last layer in closed form with pruned entries', () => {
  it('uses the surviving pairs only, and leaves an input without one undetermined (NaN)', () => {
    const x = [2, -1, 0.5], db = Float64Array.of(0.3, -0.6);
    const dW = Float64Array.from({ length: 6 }, (_, i) => db[Math.floor(i / 3)] * x[i % 3]);
    // entry (0, 1) pruned; input 2 loses both its entries
    const weight = Uint8Array.of(1, 0, 0, 1, 1, 0);
    const r = lastLayerInput(db, dW, 2, { weight, bias: null });
    assert.equal(r.unknown, 1);
    assert.ok(Math.abs(r.x[0] - 2) < 1e-15 && Math.abs(r.x[1] + 1) < 1e-15 && Number.isNaN(r.x[2]));
  });
});

describe('the noise prior (Tikhonov) on a layer system', () => {
  it('solves (UᵀU + λ²I) x = Uᵀv + λ²·x̄, λ = σ/s', () => {
    // rank-deficient (fewer rows than columns) and full-rank systems
    for (const [cin, h, cout, k, st, p] of [[3, 8, 2, 4, 2, 0], [2, 6, 4, 3, 1, 0]]) {
      const sys = randomLayer(cin, h, cout, k, st, p, 4);
      const plain = solveLayer(sys, { tol: 1e-10 }).x;
      const sigma = 0.05;
      const mean = plain.reduce((a, v) => a + v, 0) / plain.length;
      const s2 = plain.reduce((a, v) => a + (v - mean) ** 2, 0) / plain.length;
      const got = solveLayer(withNoisePrior(sys, { mean, variance: s2 }, sigma), { tol: 1e-10 }).x;
      const { u, v } = denseSystem(sys);
      const ut = u.transpose();
      const lhs = ut.mmul(u).add(Matrix.eye(sys.n).mul(sigma * sigma / s2));
      const rhs = ut.mmul(Matrix.columnVector(v)).add(Matrix.columnVector(
        new Array(sys.n).fill(sigma * sigma / s2 * mean)));
      const want = solve(lhs, rhs).getColumn(0);
      const err = Math.hypot(...want.map((w, i) => w - got[i])) / Math.hypot(...want);
      assert.ok(err < 1e-8, `relative error ${err}`);
      const moved = Math.hypot(...plain.map((w, i) => w - got[i])) / Math.hypot(...plain);
      assert.ok(moved > 1e-6, `the prior changes the answer (${moved})`);
    }
  });
});
