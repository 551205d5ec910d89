import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SingularValueDecomposition } from 'ml-matrix';
import { gainOfSystem } from '../src/analysis/noise.js';
import { noiseView } from '../src/analysis/noise-view.js';
import { rgap } from '../src/attacks/layerwise/rgap.js';
import { checkUpdate } from '../src/attacks/update.js';
import { Rng } from '../src/core/rng.js';
import { applyDefences } from '../src/defences/apply.js';
import { parseDefence } from '../src/defences/spec.js';
import { REFERENCE_NORMALISATION } from '../src/formats/image.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { DEFAULT_RANK_TOL } from '../src/solve/layersolve.js';
import { SolverCache } from '../src/solve/solver-cache.js';
import { chainCase, runCli } from './helpers.js';
import { denseSystem, randomLayer } from './layer-systems.js';

/**
 * The analytic view of noise: each layer's gain is a Hutchinson estimate of ‖U⁺P‖²_F (P: the gradient
 * rows) and is checked against that norm from an SVD pseudo-inverse; the whole prediction is checked
 * against rgap run on noised updates.
 */
describe('noise view', () => {
  for (const [title, cin, h, cout, k, s, p] of [
    ['column path', 2, 6, 4, 3, 1, 0], ['row path', 3, 8, 2, 4, 2, 0],
  ] as const) {
    it(`a layer's gain is the pseudo-inverse's Frobenius norm on the gradient rows: ${title}`, () => {
      const sys = randomLayer(cin, h, cout, k, s, p, 3);
      const pinv = new SingularValueDecomposition(denseSystem(sys).u, { autoTranspose: true }).inverse();
      let exact = 0;
      for (let i = 0; i < sys.n; i++) {
        for (let j = sys.s.rows; j < sys.s.rows + sys.grad.rows; j++) exact += pinv.get(i, j) ** 2;
      }
      exact /= sys.n;
      const { mean, relativeError } = gainOfSystem(sys, { tol: 1e-10 }, 400, new Rng(1));
      assert.ok(relativeError < 0.05, `probe spread ${relativeError}`);
      // relativeError is that of the square root: the mean's is twice it; four standard errors
      assert.ok(Math.abs(mean / exact - 1) < 8 * relativeError, `estimate ${mean}, exact ${exact}`);
    });
  }

  // the view linearises around the true image's systems: a model rgap inverts exactly
  it('predicts rgap\'s error under Gaussian noise, clipping included', () => {
    const c = chainCase({ name: 'small', input: [2, 8, 8], layers: [
      { type: 'conv', out: 6, kernel: 3, stride: 1, padding: 1, bias: false, activation: 'sigmoid' },
      { type: 'conv', out: 8, kernel: 3, stride: 2, padding: 1, bias: false, activation: 'sigmoid' },
      { type: 'linear', out: 5, bias: true, activation: 'identity' }] }, 7);
    const rng = new Rng(9);
    const image = { shape: [1, 2, 8, 8], data: Float64Array.from({ length: 128 }, () => rng.uniform() - 0.5) };
    const payload = {
      model: c.graph, params: c.params, normalisation: REFERENCE_NORMALISATION, bnMode: 'eval' as const,
    };
    const solver = new SolverCache();
    const run = (spec: string[], seed: number) => {
      const { update } = applyDefences({
        kernels: JS_KERNELS, model: c.graph, params: c.params, bnMode: 'eval', defences: spec.map(parseDefence),
        seed,
      }, { images: image, labels: [2] });
      return rgap.run(payload, { ...checkUpdate(c.graph, update), labels: [2] },
        { seed: 0, tol: DEFAULT_RANK_TOL, solver }).images.data;
    };
    const rms = (a: Float64Array, b: Float64Array) =>
      Math.sqrt(a.reduce((t, v, i) => t + (v - b[i]) ** 2, 0) / a.length);
    const gradients = [...c.client(image.data, 2).update.gradients.values()];
    const norm = Math.hypot(...gradients.flatMap((g) => [...g]));
    for (const clipOver of [4, 0.5]) {
      const clip = clipOver * norm;
      const spec = `noise:z=${(1e-6 / clip).toPrecision(8)},clip=${clip.toPrecision(8)}`;
      const view = noiseView(payload, image, 2, parseDefence(spec), { solver, probes: 24 });
      assert.ok(Math.abs(view.gradientNorm / norm - 1) < 1e-12, `gradient norm ${view.gradientNorm}`);
      assert.ok(Math.abs(view.clipScale - Math.min(1, clipOver)) < 1e-7, `clip scale ${view.clipScale}`);
      assert.ok(Math.abs(view.sigma / (1e-6 / view.clipScale) - 1) < 1e-6, `σ ${view.sigma}`);
      const reference = run([`clip:${clip.toPrecision(8)}`], 0);
      const draws = Array.from({ length: 6 }, (_, t) => rms(run([spec], 50 + t), reference));
      const measured = Math.sqrt(draws.reduce((a, b) => a + b * b, 0) / draws.length);
      const ratio = measured / view.inputError!;
      assert.ok(ratio > 0.75 && ratio < 1.25,
        `ratio ${ratio}: clip ×${clipOver}: measured ${measured}, predicted ${view.inputError}`);
    }
  });

  it('audit --defence noise prints the view; other defences and --gradients are refused in one line', () => {
    const r = runCli(['audit', '--model', 'cnn2_c1', '--defence', 'noise:z=1,clip=1', '--json', '--probes', '4']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.noise.layers.length, 2);
    assert.ok(out.noise.sigma >= 1 && out.noise.inputError > 0, JSON.stringify(out.noise).slice(0, 200));
    for (const args of [['--defence', 'prune:0.5'], ['--probes', '4'],
      ['--defence', 'noise:z=1', '--gradients', 'x.safetensors']]) {
      const bad = runCli(['audit', '--model', 'cnn2_c1', ...args]);
      assert.equal(bad.status, 2, bad.stderr);
      assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    }
  });
});
