import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { adaptiveReading } from '../src/attacks/adaptive.js';
import { crowdLabels } from '../src/attacks/crowd.js';
import { dlg } from '../src/attacks/matching/dlg.js';
import { ig } from '../src/attacks/matching/ig.js';
import { matchingObjective, type MatchingProblem } from '../src/attacks/matching/objective.js';
import { Rng } from '../src/core/rng.js';
import { clipToNorm } from '../src/defences/clip.js';
import { REFERENCE_NORMALISATION } from '../src/formats/image.js';
import { batchQuality } from '../src/metrics/quality.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { chainToGraph } from '../src/model/chain.js';
import { batchGradients } from '../src/model/gradients.js';
import { buildGraph } from '../src/model/graph.js';
import { initParams } from '../src/model/params.js';
import { simulateDefendedClient } from '../src/threat/client.js';
import type { DefenceRecord, SharedUpdate } from '../src/threat/payload.js';
import { naiveGradients } from '../src/threat/payload.js';
import { ROOT, runCli, tmpDir } from './helpers.js';

/**
 * Adaptive attacks (docs/METHOD.md, "Adaptive attacks"): each defence's rule against a closed form
 * or finite differences, and seeded end-to-end cases where the adaptive attack beats the naive one.
 */

// a sigmoid convolution and a linear layer on 1×8×8: second derivatives everywhere, and fast
const model = buildGraph(chainToGraph({ name: 'small', input: [1, 8, 8], layers: [
  { type: 'conv', out: 4, kernel: 3, stride: 1, padding: 0, bias: false, activation: 'sigmoid' },
  { type: 'linear', out: 5, bias: true, activation: 'identity' }] }));
const params = initParams(model, 7);
const payload = { model, params, normalisation: REFERENCE_NORMALISATION, bnMode: 'eval' as const };
const image = (phase: number) => Float64Array.from({ length: 64 }, (_, i) => 0.4 * Math.sin(i / 3 + phase));
const truth = image(0);
const trainable = model.params.filter((q) => q.trainable);

function defended(defences: DefenceRecord[], images = truth, labels = [2]): SharedUpdate {
  return simulateDefendedClient({
    kernels: JS_KERNELS, model, params, bnMode: 'eval', defences, seed: 5,
  }, { shape: [labels.length, 1, 8, 8], data: images }, labels).update;
}

/** The target's update summed with K − 1 other clients' (secure aggregation), one image each. */
function crowdUpdate(K: number, others: Float64Array, labels: number[]): SharedUpdate {
  return simulateDefendedClient({
    kernels: JS_KERNELS, model, params, bnMode: 'eval', defences: [{ name: 'secagg', params: { clients: K } }],
    seed: 5, population: { images: { shape: [K - 1, 1, 8, 8], data: others }, labels },
  }, { shape: [1, 1, 8, 8], data: truth }, [2]).update;
}

/** The adaptive objective on an update, as the attacks build it. */
function adaptiveObjective(u: SharedUpdate, distance: MatchingProblem['distance'], labels = [2]) {
  const reading = adaptiveReading(u)!;
  return matchingObjective({
    kernels: JS_KERNELS, graph: model, params, bnMode: 'eval', target: reading.target, labels, distance,
    rules: reading.rules,
  }, [labels.length, 1, 8, 8]);
}

/** The mean gradients of a batch, by name. */
const gradientsAt = (x: Float64Array, labels = [2]) => batchGradients(
  JS_KERNELS, model, params, { shape: [labels.length, 1, 8, 8], data: x }, labels, 'eval').gradients;

/** Central differences of f along a few seeded random directions against the analytic gradient. */
function checkAgainstDifferences(f: (x: Float64Array) => { value: number; grad: Float64Array }, x: Float64Array) {
  const { grad } = f(x);
  const rng = new Rng(11);
  for (let k = 0; k < 3; k++) {
    const dir = Float64Array.from(x, () => rng.normal());
    const h = 1e-5;
    const up = f(x.map((v, i) => v + h * dir[i])).value, down = f(x.map((v, i) => v - h * dir[i])).value;
    const numeric = (up - down) / (2 * h);
    const analytic = grad.reduce((s, g, i) => s + g * dir[i], 0);
    assert.ok(Math.abs(numeric - analytic) <= 1e-6 * Math.max(1, Math.abs(analytic)),
      `direction ${k}: finite differences ${numeric}, gradient ${analytic}`);
  }
}

/** Σ (m − target)² over the coordinates `keep` accepts. */
function sumSq(
  m: Map<string, Float64Array>, target: ReadonlyMap<string, Float64Array>, keep = (_k: string, _i: number) => true,
): number {
  let s = 0;
  for (const [k, v] of m) v.forEach((g, i) => { if (keep(k, i)) s += (g - target.get(k)![i]) ** 2; });
  return s;
}

describe('adaptive rules', () => {
  const other = image(1.3);

  it('an undefended update reads the same adaptively as naively', () => {
    const u = defended([]);
    assert.equal(adaptiveReading(u), null);
  });

  it('prune: the L2 distance over the received non-zeros only, in closed form', () => {
    const u = defended([{ name: 'prune', params: { p: 0.5 } }]);
    const received = naiveGradients(u).gradients;
    const value = adaptiveObjective(u, 'l2')(other).value;
    const g = gradientsAt(other);
    const expected = sumSq(g, received, (k, i) => received.get(k)![i] !== 0);
    assert.ok(Math.abs(value - expected) <= 1e-12 * expected, `${value} vs ${expected}`);
    // and the naive distance counts the pruned coordinates too: a different number
    assert.ok(sumSq(g, received) > expected * 1.01);
    checkAgainstDifferences(adaptiveObjective(u, 'l2'), other);
  });

  it('fedavg: the unrolled local steps reproduce the delta at the truth, and differentiate right', () => {
    const u = defended([{ name: 'fedavg', params: { steps: 3, lr: 0.5 } }]);
    const f = adaptiveObjective(u, 'l2');
    // the simulation repeats the client's arithmetic: at the client's own image the distance is zero
    assert.ok(f(truth).value < 1e-28, `${f(truth).value}`);
    assert.ok(f(other).value > 1e-6);
    checkAgainstDifferences(f, other);
    checkAgainstDifferences(adaptiveObjective(u, 'cosine'), other);
  });

  it('clip per batch: the simulated clipping is clip_C of the candidate\'s gradient', () => {
    const u = defended([{ name: 'clip', params: { norm: 0.05, per: 'batch' } }]);
    const value = adaptiveObjective(u, 'l2')(other).value;
    const expected = sumSq(clipToNorm(gradientsAt(other), 0.05), naiveGradients(u).gradients);
    assert.ok(Math.abs(value - expected) <= 1e-12 * expected, `${value} vs ${expected}`);
    checkAgainstDifferences(adaptiveObjective(u, 'l2'), other);
  });

  it('clip per example: the mean of each example clipped, zero at the truth', () => {
    const two = Float64Array.from([...truth, ...image(2.1)]);
    const u = defended([{ name: 'clip', params: { norm: 0.05, per: 'example' } }], two, [2, 4]);
    const f = adaptiveObjective(u, 'l2', [2, 4]);
    assert.ok(f(two).value < 1e-28, `${f(two).value}`);
    const x = Float64Array.from([...other, ...image(0.4)]);
    const clipped = [0, 1].map((i) => clipToNorm(gradientsAt(x.subarray(i * 64, (i + 1) * 64), [[2, 4][i]]), 0.05));
    const mean = new Map([...clipped[0]].map(([k, v]) => [k, v.map((a, j) => (a + clipped[1].get(k)![j]) / 2)]));
    const expected = sumSq(mean, naiveGradients(u).gradients);
    assert.ok(Math.abs(f(x).value - expected) <= 1e-12 * expected, `${f(x).value} vs ${expected}`);
    checkAgainstDifferences(f, x);
  });

  it('noise: the Gaussian negative log-likelihood ‖r − clip(g)‖² / (2(zC/B)²)', () => {
    const u = defended([{ name: 'noise', params: { z: 0.1, clip: 0.05, per: 'example', delta: 1e-5, rounds: 1 } }]);
    const value = adaptiveObjective(u, 'cosine')(other).value;
    const s = 0.1 * 0.05;
    const expected = sumSq(clipToNorm(gradientsAt(other), 0.05), naiveGradients(u).gradients) / (2 * s * s);
    assert.ok(Math.abs(value - expected) <= 1e-12 * expected, `${value} vs ${expected}`);
  });

  it('int8: zero inside the received value\'s rounding cell, a relative squared hinge outside', () => {
    const u = defended([{ name: 'quantise', params: { format: 'int8' } }]);
    const received = naiveGradients(u).gradients;
    const f = adaptiveObjective(u, 'l2');
    assert.equal(f(truth).value, 0);
    const g = gradientsAt(other);
    let expected = 0;
    for (const [k, r] of received) {
      const half = r.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127 / 2;
      let hinge = 0;
      for (let i = 0; i < r.length; i++) hinge += Math.max(0, Math.abs(g.get(k)![i] - r[i]) - half) ** 2;
      expected += hinge / r.reduce((s, v) => s + v * v, 0);
    }
    assert.ok(expected > 0 && Math.abs(f(other).value - expected) <= 1e-12 * expected, `${f(other).value} vs ${expected}`);
    checkAgainstDifferences(f, other);
  });

  it('topk masks the received zeros too; a chain replays in the client\'s order', () => {
    const t = defended([{ name: 'topk', params: { keep: 0.3 } }]);
    const mask = adaptiveReading(t)!.rules[0].mask!;
    for (const [k, r] of naiveGradients(t).gradients) assert.deepEqual([...mask.get(k)!], [...r].map((v) => +(v !== 0)));
    // clipping inside every local step, then the steps: exactly the client's arithmetic at its image
    const chain = defended([{ name: 'clip', params: { norm: 0.05, per: 'batch' } },
      { name: 'fedavg', params: { steps: 3, lr: 0.5 } }]);
    const f = adaptiveObjective(chain, 'l2');
    assert.ok(f(truth).value < 1e-28 && f(other).value > 1e-8, `${f(truth).value}, ${f(other).value}`);
    checkAgainstDifferences(f, other);
  });

  it('secagg: the crowd\'s steps summed, zero at the crowd, each client its own slice', () => {
    const crowd = Float64Array.from([...truth, ...image(2.1)]);
    const u = crowdUpdate(2, crowd.subarray(64), [4]);
    const f = adaptiveObjective(u, 'l2', [2, 4]);
    assert.ok(f(crowd).value < 1e-28, `${f(crowd).value}`);
    const x = Float64Array.from([...other, ...image(0.4)]);
    const [a, b] = [gradientsAt(x.subarray(0, 64), [2]), gradientsAt(x.subarray(64), [4])];
    const sum = new Map([...a].map(([k, v]) => [k, v.map((g, j) => g + b.get(k)![j])]));
    const expected = sumSq(sum, naiveGradients(u).gradients);
    assert.ok(Math.abs(f(x).value - expected) <= 1e-12 * expected, `${f(x).value} vs ${expected}`);
    checkAgainstDifferences(f, x);
  });

  it('sign and float16: cosine against the signs; float16 read as it is', () => {
    const s = adaptiveReading(defended([{ name: 'quantise', params: { format: 'sign' } }]))!;
    assert.equal(s.rules[0].distance, 'cosine');
    const h = adaptiveReading(defended([{ name: 'quantise', params: { format: 'float16' } }]))!;
    assert.deepEqual(h.rules, [{}]);
    assert.deepEqual(h.warnings, []);
  });
});

describe('adaptive attacks, end to end (seeded)', () => {
  const err = (x: Float64Array) => Math.hypot(...x.map((v, i) => v - truth[i])) / Math.hypot(...truth);
  const run = (attack: typeof dlg, u: SharedUpdate, adaptive: boolean, iterations: number) =>
    err(attack.run(payload, { ...u, labels: [2] }, { seed: 1, tol: 1e-10, iterations, adaptive }).images.data);

  it('dlg under 90 % pruning: the adaptive attack recovers the image, the naive one does not', () => {
    const u = defended([{ name: 'prune', params: { p: 0.9 } }]);
    const naive = run(dlg, u, false, 200), adaptive = run(dlg, u, true, 200);
    assert.ok(naive > 0.5 && adaptive < 0.05, `relative error naive ${naive}, adaptive ${adaptive}`);
  });

  // lr 0.05: each step moves the logits by about 2 (a larger rate saturates the softmax in one step,
  // after which every gradient is ~0 and Δ is the first step's: nothing for the simulation to add)
  const fed = () => defended([{ name: 'fedavg', params: { steps: 10, lr: 0.05 } }]);
  it('dlg under FedAvg (10 steps): simulating the steps recovers the image, −Δ/(Eη) diverges', () => {
    const naive = run(dlg, fed(), false, 200), adaptive = run(dlg, fed(), true, 200);
    assert.ok(naive > 10 && adaptive < 1e-3, `relative error naive ${naive}, adaptive ${adaptive}`);
  });
  it('ig under FedAvg (10 steps): simulating the steps beats reading −Δ/(Eη)', () => {
    const naive = run(ig, fed(), false, 300), adaptive = run(ig, fed(), true, 300);
    assert.ok(naive > 0.6 && adaptive < 0.5, `relative error naive ${naive}, adaptive ${adaptive}`);
  });
});

describe('adaptive secure aggregation: the crowd', () => {
  const others = Float64Array.from([...image(2.1), ...image(4.0)]);

  it('labels: the target\'s known label first, the rest from the sum\'s counts', () => {
    const u = crowdUpdate(3, others, [4, 0]);
    const inferred = crowdLabels(JS_KERNELS, payload, naiveGradients(u), 3, 0);
    assert.deepEqual([...inferred.labels].sort(), [0, 2, 4]);
    const known = crowdLabels(JS_KERNELS, payload, { ...naiveGradients(u), labels: [2] }, 3, 0);
    assert.deepEqual(known.labels, [2, 0, 4]);
  });

  it('dlg on a sum of 3: the adaptive crowd holds the target, the naive reading does not', () => {
    const u = { ...crowdUpdate(3, others, [4, 0]), labels: [2] };
    const opts = { seed: 1, tol: 1e-10, iterations: 300 };
    const naive = dlg.run(payload, u, opts).images, adaptive = dlg.run(payload, u, { ...opts, adaptive: true }).images;
    assert.deepEqual(adaptive.shape, [3, 1, 8, 8]);
    const scored = (x: Float64Array, n: number) => batchQuality(x, truth, 1, [1, 8, 8], n).pairs[0];
    const a = scored(adaptive.data, 3), nv = scored(naive.data, 1);
    assert.ok(a.psnr > 40 && nv.psnr < 20, `PSNR adaptive ${a.psnr} (image ${a.reconstruction}), naive ${nv.psnr}`);
  });

  it('batchQuality pairs the best of a larger crowd with each target', () => {
    const t = Float64Array.from([0.2, 0.4, 0.6, 0.8]);
    const crowd = Float64Array.from([0, 0, 0, 0, 0.2, 0.4, 0.6, 0.7, 1, 1, 1, 1]);
    const q = batchQuality(crowd, t, 1, [1, 2, 2], 3);
    assert.equal(q.pairs.length, 1);
    assert.equal(q.pairs[0].reconstruction, 1);
    assert.ok(Math.abs(q.mean.mse - 0.01 / 4) < 1e-15, `${q.mean.mse}`);
  });
});

describe('CLI: attack --adaptive', () => {
  // rgap (test/adaptive-rgap.test.ts) drops the pruned rows rather than simulating
  for (const [method, extra] of [['dlg', ['--iterations', '20']], ['rgap', []]] as const) it(
    `${method}: records adaptive in result.json, and same seed, same bytes`, () => {
    const outs = [tmpDir('adaptive-a'), tmpDir('adaptive-b'), tmpDir('adaptive-naive')];
    const args = (d: string) => ['attack', '--method', method, '--model', 'cnn2_c1', '--image',
      path.join(ROOT, 'samples/rings.png'), '--label', '1', '--defence', 'prune:0.5', ...extra,
      '--seed', '3', '--out', d];
    for (const d of outs.slice(0, 2)) assert.equal(runCli([...args(d), '--adaptive']).status, 0);
    assert.equal(runCli(args(outs[2])).status, 0);
    for (const f of ['result.json', 'reconstruction.png']) {
      assert.ok(fs.readFileSync(path.join(outs[0], f)).equals(fs.readFileSync(path.join(outs[1], f))), f);
    }
    const read = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'result.json'), 'utf8'));
    assert.equal(read(outs[0]).adaptive, true);
    assert.equal(read(outs[2]).adaptive, false);
    assert.notEqual(read(outs[0]).psnr, read(outs[2]).psnr);
  });
});
