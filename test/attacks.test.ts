import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ig } from '../src/attacks/matching/ig.js';
import { igWhole } from '../src/attacks/matching/ig-whole.js';
import { dlg } from '../src/attacks/matching/dlg.js';
import { matchingObjective } from '../src/attacks/matching/objective.js';
import { REFERENCE_NORMALISATION } from '../src/formats/image.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { chainToGraph } from '../src/model/chain.js';
import { buildGraph } from '../src/model/graph.js';
import { initParams } from '../src/model/params.js';
import { simulateClient } from '../src/threat/client.js';
import { batchGradients } from '../src/model/gradients.js';
import { adam, lbfgs } from '../src/optim/optimisers.js';
import { totalVariation } from '../src/optim/regularisers.js';
import { Rng } from '../src/core/rng.js';
import { ROOT, runCli, tmpDir } from './helpers.js';

describe('optimisers', () => {
  // f(x) = ½ xᵀAx − bᵀx with A = diag(1..n) + 0.5·11ᵀ: minimiser solves Ax = b
  const n = 6;
  const A = (i: number, j: number) => (i === j ? i + 1 : 0) + 0.5;
  const b = Float64Array.from({ length: n }, (_, i) => Math.cos(i));
  const f = (x: Float64Array) => {
    const g = new Float64Array(n);
    let v = 0;
    for (let i = 0; i < n; i++) { for (let j = 0; j < n; j++) g[i] += A(i, j) * x[j]; v += 0.5 * x[i] * g[i] - b[i] * x[i]; g[i] -= b[i]; }
    return { value: v, grad: g };
  };
  const residual = (x: Float64Array) => Math.hypot(...f(x).grad);
  it('L-BFGS reaches the minimiser of a quadratic', () => {
    const r = lbfgs(f, new Float64Array(n), { iterations: 100 });
    assert.ok(residual(r.best) < 1e-8, `gradient norm ${residual(r.best)}`);
  });
  it('L-BFGS with a box projects a start outside it and reaches the constrained minimiser', () => {
    // f = (x0 − 1.5)² + (x1 − 0.3)² on [0, 1]²: the minimiser (1, 0.3) sits on a bound, the start is
    // outside the box where clamping alone costs more than any step gains: every trial failed.
    const q = (x: Float64Array) => ({
      value: (x[0] - 1.5) ** 2 + (x[1] - 0.3) ** 2, grad: Float64Array.of(2 * (x[0] - 1.5), 2 * (x[1] - 0.3)),
    });
    const r = lbfgs(q, Float64Array.of(1.1, 0.35), { iterations: 50 }, 10, [0, 1]);
    assert.ok(r.iterations > 1, `stopped after ${r.iterations} iteration(s)`);
    assert.ok(Math.abs(r.best[0] - 1) < 1e-12 && Math.abs(r.best[1] - 0.3) < 1e-8, `${r.best}`);
  });
  it('Adam reaches the minimiser of a quadratic and keeps to its box', () => {
    const r = adam(f, new Float64Array(n), { lr: 0.05 }, { iterations: 3000 });
    assert.ok(residual(r.best) < 1e-3, `gradient norm ${residual(r.best)}`);
    const boxed = adam(f, new Float64Array(n), { lr: 0.05, box: [-0.1, 0.1] }, { iterations: 200 });
    assert.ok(boxed.best.every((v) => v >= -0.1 && v <= 0.1));
  });
});

describe('total variation', () => {
  it('matches its definition and finite differences away from ties', () => {
    const rng = new Rng(3);
    const x = Float64Array.from({ length: 2 * 4 * 5 }, () => rng.uniform());
    const { value, grad } = totalVariation(x, [2, 4, 5]);
    let h = 0, v = 0;
    for (let c = 0; c < 2; c++) for (let i = 0; i < 4; i++) for (let j = 0; j < 5; j++) {
      const k = (c * 4 + i) * 5 + j;
      if (j < 4) h += Math.abs(x[k] - x[k + 1]);
      if (i < 3) v += Math.abs(x[k] - x[k + 5]);
    }
    assert.ok(Math.abs(value - (h / 32 + v / 30)) < 1e-14);
    for (let k = 0; k < x.length; k++) {
      const s = x[k];
      x[k] = s + 1e-7; const up = totalVariation(x, [2, 4, 5]).value;
      x[k] = s - 1e-7; const down = totalVariation(x, [2, 4, 5]).value;
      x[k] = s;
      assert.ok(Math.abs((up - down) / 2e-7 - grad[k]) < 1e-6);
    }
  });
});

describe('gradient-matching attacks', () => {
  const model = buildGraph(chainToGraph({ name: 'small', input: [1, 8, 8], layers: [
    { type: 'conv', out: 4, kernel: 3, stride: 1, padding: 0, bias: false, activation: 'sigmoid' },
    { type: 'linear', out: 5, bias: true, activation: 'identity' }] }));
  const params = initParams(model, 7);
  const payload = { model, params, normalisation: REFERENCE_NORMALISATION, bnMode: 'eval' as const };
  const truth = Float64Array.from({ length: 64 }, (_, i) => 0.4 * Math.sin(i / 3));
  const { update } = simulateClient(JS_KERNELS, model, params, 'eval', { shape: [1, 1, 8, 8], data: truth }, [2]);

  it('the whole-gradient cosine: 1 − cos of the concatenated gradients, and its derivative', () => {
    const x = Float64Array.from({ length: 64 }, (_, i) => 0.3 * Math.cos(i / 2));
    const f = matchingObjective({ kernels: JS_KERNELS, graph: model, params, bnMode: 'eval', target: update.gradients, labels: [2], distance: 'cosine-whole' }, [1, 1, 8, 8]);
    const g = batchGradients(JS_KERNELS, model, params, { shape: [1, 1, 8, 8], data: x }, [2], 'eval').gradients;
    let dot = 0, gg = 0, tt = 0;
    for (const [k, t] of update.gradients) t.forEach((v, i) => { dot += v * g.get(k)![i]; gg += g.get(k)![i] ** 2; tt += v * v; });
    const { value, grad } = f(x);
    const expected = 1 - dot / Math.sqrt(gg * tt);
    assert.ok(Math.abs(value - expected) < 1e-14, `${value} vs ${expected}`);
    assert.ok(Math.abs(f(truth).value) < 1e-14, `zero at the truth: ${f(truth).value}`);
    const rng = new Rng(2), dir = Float64Array.from(x, () => rng.normal()), h = 1e-5;
    const numeric = (f(x.map((v, i) => v + h * dir[i])).value - f(x.map((v, i) => v - h * dir[i])).value) / (2 * h);
    const analytic = grad.reduce((acc, v, i) => acc + v * dir[i], 0);
    assert.ok(Math.abs(numeric - analytic) < 1e-7 * Math.max(1, Math.abs(analytic)), `${numeric} vs ${analytic}`);
  });

  // the whole-gradient cosine starts near its floor (the largest tensor dominates): a smaller factor
  for (const [attack, factor] of [[ig, 100], [igWhole, 4], [dlg, 100]] as const) {
    it(`${attack.name} lowers the matching loss ${factor}-fold and infers the label`, () => {
      const r = attack.run(payload, update, { seed: 1, tol: 1e-10, iterations: 300 });
      assert.deepEqual(r.labels, [2]);
      assert.ok(r.trace!.length === r.iterations && r.iterations! > 10);
      assert.ok(r.trace![r.trace!.length - 1] < r.trace![0] / factor, `loss ${r.trace![0]} → ${r.trace![r.trace!.length - 1]}`);
    });
    it(`${attack.name} is deterministic with a seed`, () => {
      const a = attack.run(payload, update, { seed: 4, tol: 1e-10, iterations: 40 });
      const b = attack.run(payload, update, { seed: 4, tol: 1e-10, iterations: 40 });
      assert.deepEqual([...a.images.data], [...b.images.data]);
    });
  }

  it('dlg on an exactly recoverable model gets the image back', () => {
    const r = dlg.run(payload, update, { seed: 1, tol: 1e-10, iterations: 300 });
    const err = Math.hypot(...r.images.data.map((v, i) => v - truth[i])) / Math.hypot(...truth);
    const m = matchingObjective({ kernels: JS_KERNELS, graph: model, params, bnMode: 'eval', target: update.gradients, labels: [2], distance: 'l2' }, [1, 1, 8, 8])(r.images.data).value;
    assert.ok(err < 1e-2, `relative image error ${err} (matching loss ${m})`);
  });

  it('restarts keep the best of several starts', () => {
    const one = ig.run(payload, update, { seed: 3, tol: 1e-10, iterations: 30 });
    const three = ig.run(payload, update, { seed: 3, tol: 1e-10, iterations: 30, restarts: 3 });
    assert.equal(three.iterations, 90);
    const last = (r: typeof one) => Math.min(...r.trace!);
    assert.ok(last(three) <= last(one), `${last(three)} vs ${last(one)}`);
  });
});

describe('CLI: optimisation attacks', () => {
  it('a --budget run stops on time and still writes its best result', () => {
    const d = tmpDir('budget');
    const r = runCli(['attack', '--method', 'ig', '--model', 'cnn3_c1', '--image', path.join(ROOT, 'samples/hills.png'), '--iterations', '1000000', '--budget', '0.5', '--out', d, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.stoppedBy, 'budget');
    // stopped by the clock, not by the count (speed is the bench's business, not a test's)
    assert.ok(j.iterations > 10 && j.iterations < 1000000, `${j.iterations} iterations`);
    assert.ok(fs.existsSync(path.join(d, 'reconstruction.png')));
    assert.equal(JSON.parse(fs.readFileSync(path.join(d, 'result.json'), 'utf8')).stoppedBy, 'budget');
  });
  it('same seed, same bytes for ig', () => {
    const outs = [tmpDir('ig-a'), tmpDir('ig-b')];
    for (const d of outs) assert.equal(runCli(['attack', '--method', 'ig', '--model', 'cnn2_c1', '--image', path.join(ROOT, 'samples/rings.png'), '--iterations', '60', '--seed', '9', '--out', d]).status, 0);
    for (const f of ['result.json', 'reconstruction.png']) assert.ok(fs.readFileSync(path.join(outs[0], f)).equals(fs.readFileSync(path.join(outs[1], f))), f);
  });
});

describe('hybrid on a reference fixture', () => {
  it('cnn2_c2: 800 iterations lift rgap\'s 19.95 dB by more than 5 dB', async () => {
    const { loadFixture } = await import('./helpers.js');
    const { hybrid } = await import('../src/attacks/layerwise/hybrid.js');
    const { psnr } = await import('../src/metrics/quality.js');
    const f = loadFixture('cnn2_c2-chelsea');
    const r = hybrid.run(f.payload, f.update, { seed: 0, tol: 1e-10, iterations: 800 });
    const p = psnr(r.images.data.map((v) => v + 0.5), f.target);
    assert.ok(p > 19.95 + 5, `PSNR ${p}`);
    assert.equal(r.layers[0].rankDeficiency, -1470);
  });
});

describe('copa', () => {
  it('runs through the CLI with the pull-back term and reports its layers', () => {
    const d = tmpDir('copa');
    const r = runCli(['attack', '--method', 'copa', '--model', 'cnn3_c1', '--image', path.join(ROOT, 'samples/hills.png'), '--iterations', '20', '--out', d, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.method, 'copa');
    assert.equal(j.layers[1].rankDeficiency, -4533);
    assert.ok(j.iterations > 0 && Number.isFinite(j.psnr));
  });
});

describe('CLI: compare', () => {
  it('runs every method on the same gradients and writes the grid and both tables', () => {
    const d = tmpDir('compare');
    const r = runCli(['compare', '--methods', 'rgap,hybrid,copa,ig,dlg', '--model', 'cnn2_c1', '--image', path.join(ROOT, 'samples/hills.png'), '--iterations', '15', '--out', d, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(j.methods.map((m: { method: string }) => m.method), ['rgap', 'hybrid', 'copa', 'ig', 'dlg']);
    assert.ok(j.methods[0].psnr > 60, 'rgap recovers cnn2_c1 exactly');
    for (const f of ['compare.png', 'compare.json', 'compare.md', 'rgap.png', 'dlg.png']) assert.ok(fs.existsSync(path.join(d, f)), f);
    assert.match(fs.readFileSync(path.join(d, 'compare.md'), 'utf8'), /\| rgap \| \d+\.\d\d \|/);
  });
  it('rejects an unknown method before doing any work', () => {
    const d = path.join(tmpDir('compare-bad'), 'out');
    const r = runCli(['compare', '--methods', 'rgap,magic', '--model', 'cnn2_c1', '--image', path.join(ROOT, 'samples/hills.png'), '--out', d]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown method "magic"/);
    assert.ok(!fs.existsSync(d));
  });
});
