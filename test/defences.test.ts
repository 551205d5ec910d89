import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';
import { clipToNorm } from '../src/defences/clip.js';
import { applyDefences } from '../src/defences/apply.js';
import { getDefence } from '../src/defences/registry.js';
import { parseDefence, parseDefenceSweep, checkDefences } from '../src/defences/spec.js';
import { l2Norm } from '../src/defences/tensors.js';
import { zeroSmallest } from '../src/defences/magnitude.js';
import { roundToFloat16 } from '../src/defences/rounding.js';
import { quantiseSymmetric, quantiseTensor } from '../src/defences/quantise.js';
import type { ClientBatch, ClientStep } from '../src/defences/types.js';
import { declarationMetadata, updateFromMetadata } from '../src/defences/declaration.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { initParams } from '../src/model/params.js';
import { presetGraph } from '../src/model/presets.js';
import { simulateClient, simulateDefendedClient, trainOnBatch } from '../src/threat/client.js';
import { naiveGradients, type DefenceRecord, type SharedUpdate } from '../src/threat/payload.js';
import { checkUpdate } from '../src/attacks/update.js';
import { rgap } from '../src/attacks/layerwise/rgap.js';
import { ROOT } from './helpers.js';

/**
 * A stand-in client step with known outputs: example i of a batch shares the tensors
 * a = (i + 1)·u and b = −(i + 1)·v for fixed u, v (its "gradient"), so clipping and sums have closed forms.
 */
const U = Float64Array.from([3, -4, 0, 12]), V = Float64Array.from([1, 2, 2]);
const fakeStep: ClientStep = (_params, batch) => {
  const a = new Float64Array(U.length), b = new Float64Array(V.length);
  for (const y of batch.labels) {
    for (let k = 0; k < U.length; k++) a[k] += (y + 1) * U[k] / batch.labels.length;
    for (let k = 0; k < V.length; k++) b[k] -= (y + 1) * V[k] / batch.labels.length;
  }
  return { tensors: new Map([['a', a], ['b', b]]), form: { kind: 'gradients' }, loss: batch.labels.length };
};
/** A batch whose labels index the examples (the fake step reads only the labels). */
const fakeBatch = (n: number): ClientBatch => ({
  images: { shape: [n, 1, 1, 1], data: new Float64Array(n) }, labels: Array.from({ length: n }, (_, i) => i),
});
const NORM_UV = Math.sqrt(9 + 16 + 144 + 1 + 4 + 4); // ‖(u, v)‖ = √178
const chain = (specs: string[], step: ClientStep = fakeStep, seed = 1, population?: ClientBatch): ClientStep => {
  const records = specs.map(parseDefence);
  checkDefences(records);
  const ctx = { rng: new Rng(seed), population };
  return records.reduce<ClientStep>((inner, r) => getDefence(r.name).wrap(inner, r.params, ctx), step);
};
const flat = (m: ReadonlyMap<string, Float64Array>) => [...m.values()].flatMap((v) => [...v]);

describe('defences: clipping', () => {
  it('clips to norm exactly C, and leaves smaller updates alone', () => {
    const m = new Map([['a', U.slice()], ['b', V.slice()]]);
    for (const C of [0.5, 1, 7.25, 13]) {
      assert.ok(Math.abs(l2Norm(clipToNorm(m, C)) - C) <= 1e-15 * C, `C=${C}`);
    }
    assert.equal(clipToNorm(m, 100), m);
    assert.deepEqual(flat(clipToNorm(m, NORM_UV)), flat(m));
  });
  it('per example: each example clipped to C alone, then the mean', () => {
    // example i has norm (i+1)·√178; with C = 2√178, examples 0 and 1 pass, example 2 is scaled to C
    const C = 2 * NORM_UV;
    const out = chain([`clip:${C},per=example`])(new Map(), fakeBatch(3));
    const want = [...U, ...V.map((x) => -x)].map((x) => (x + 2 * x + 2 * x) / 3);
    flat(out.tensors).forEach((v, k) => assert.ok(Math.abs(v - want[k]) <= 1e-14, `${k}: ${v} vs ${want[k]}`));
  });
  it('per batch: the batch mean clipped as a whole', () => {
    const out = chain(['clip:1,per=batch'])(new Map(), fakeBatch(3));
    assert.ok(Math.abs(l2Norm(out.tensors) - 1) <= 1e-15);
    const want = [...U, ...V.map((x) => -x)].map((x) => x / NORM_UV);
    flat(out.tensors).forEach((v, k) => assert.ok(Math.abs(v - want[k]) <= 1e-15));
  });
});

describe('defences: Gaussian noise (DP-SGD)', () => {
  it('adds N(0, (zC)²) to the clipped sum and divides by the batch: variance within bounds, seeded', () => {
    // 2000 "examples" of norm (i+1)√178 ≥ C: the clipped sum is known exactly, the rest is noise
    const big: ClientStep = (_p, b) => {
      const n = 5000, t = new Float64Array(n);
      for (const y of b.labels) t[y % n] += 10 * (y + 1) / b.labels.length;
      return { tensors: new Map([['w', t]]), form: { kind: 'gradients' }, loss: 0 };
    };
    const B = 4, z = 1.5, C = 2;
    const out = chain([`noise:z=${z},clip=${C}`], big, 7)(new Map(), fakeBatch(B)).tensors.get('w')!;
    // example y contributes C at index y (its only entry, norm 10(y+1) > C)
    const noise = Array.from(out, (v, k) => v * B - (k < B ? C : 0));
    const n = noise.length;
    const mean = noise.reduce((s, x) => s + x, 0) / n;
    const variance = noise.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
    const sd = z * C;
    // sampling errors: mean ~ sd/√n, variance ~ sd²·√(2/n); 5 standard errors
    assert.ok(Math.abs(mean) < 5 * sd / Math.sqrt(n), `mean ${mean}`);
    assert.ok(Math.abs(variance / (sd * sd) - 1) < 5 * Math.sqrt(2 / n), `variance ${variance} vs ${sd * sd}`);
    const again = chain([`noise:z=${z},clip=${C}`], big, 7)(new Map(), fakeBatch(B)).tensors.get('w')!;
    assert.deepEqual(again, out);
    const other = chain([`noise:z=${z},clip=${C}`], big, 8)(new Map(), fakeBatch(B)).tensors.get('w')!;
    assert.notDeepEqual(other, out);
  });
  it('per batch: the batch update clipped to C plus N(0, (zC)²), not divided', () => {
    const out = chain(['noise:z=1e-9,clip=1,per=batch'])(new Map(), fakeBatch(2));
    assert.ok(Math.abs(l2Norm(out.tensors) - 1) < 1e-8);
  });
});

describe('defences: pruning and top-k', () => {
  it('zeroes exactly round(p·n) smallest entries, ties by position', () => {
    const v = Float64Array.from([3, -1, 0.5, -0.5, 2, 0.5]);
    zeroSmallest([v], 2);
    assert.deepEqual([...v], [3, -1, 0, 0, 2, 0.5]);
    const w = Float64Array.from([1, -1, 1, -1]);
    zeroSmallest([w], 3);
    assert.deepEqual([...w].map(Math.abs), [0, 0, 0, 1]);
    const rng = new Rng(3);
    const x = Float64Array.from({ length: 1001 }, () => rng.normal());
    const out = chain(['prune:0.9'], () => ({ tensors: new Map([['x', x]]), form: { kind: 'gradients' }, loss: 0 }))(
      new Map(), fakeBatch(1)).tensors.get('x')!;
    const zeros = [...out].filter((t) => t === 0).length;
    assert.equal(zeros, 901); // round(0.9·1001) = round(900.9)
    const kept = [...out].filter((t) => t !== 0).map(Math.abs);
    const dropped = [...x].filter((_, k) => out[k] === 0).map(Math.abs);
    assert.ok(Math.min(...kept) >= Math.max(...dropped));
    assert.ok([...x].every((t) => t !== 0));
  });
  it('prune is per tensor; top-k is over the whole update', () => {
    const step: ClientStep = () => ({
      tensors: new Map([['a', Float64Array.from([1, 2, 3, 4])], ['b', Float64Array.from([10, 20])]]),
      form: { kind: 'gradients' }, loss: 0,
    });
    assert.deepEqual(flat(chain(['prune:0.5'], step)(new Map(), fakeBatch(1)).tensors), [0, 0, 3, 4, 0, 20]);
    assert.deepEqual(flat(chain(['topk:0.5'], step)(new Map(), fakeBatch(1)).tensors), [0, 0, 0, 4, 10, 20]);
    assert.deepEqual(flat(chain(['topk:1'], step)(new Map(), fakeBatch(1)).tensors), [1, 2, 3, 4, 10, 20]);
    assert.deepEqual(flat(chain(['prune:1'], step)(new Map(), fakeBatch(1)).tensors), [0, 0, 0, 0, 0, 0]);
  });
});

describe('defences: quantisation', () => {
  it('float16 rounds to nearest, ties to even, with subnormals and overflow', () => {
    const cases: [number, number][] = [
      [1, 1], [1 + 2 ** -11, 1], [1 + 3 * 2 ** -11, 1 + 2 ** -9], [1 + 2 ** -11 + 2 ** -40, 1 + 2 ** -10],
      [0.1, 0.0999755859375], [1 / 3, 0.333251953125],
      [65504, 65504], [65519.99, 65504], [65520, Infinity], [-7e4, -Infinity],
      [2 ** -14, 2 ** -14], [2 ** -24, 2 ** -24], [2 ** -25, 0], [2 ** -25 * 1.0000001, 2 ** -24],
      [3 * 2 ** -25, 2 ** -23], [-1e-10, -0], [5e-324, 0], [0, 0],
    ];
    for (const [x, want] of cases) assert.ok(Object.is(roundToFloat16(x), want), `${x} → ${roundToFloat16(x)}, want ${want}`);
  });
  it('float16 agrees with Python\'s struct "e" packing on 400 values across the range', () => {
    const ref = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/defences/reference.json'), 'utf8'));
    for (const [x, h] of ref.float16 as [number, number | null][]) {
      assert.equal(roundToFloat16(x), h === null ? Math.sign(x) * Infinity : h, `${x}`);
    }
  });
  it('int8: symmetric per-tensor scale, round-trip error at most scale/2; sign', () => {
    const v = Float64Array.from([1, -0.5, 0.25, 0, -1]);
    // x/s = 127, −63.5 (a tie: to −64, even), 31.75, 0, −127
    assert.deepEqual([...quantiseSymmetric(v, 8)], [127, -64, 32, 0, -127].map((q) => q * (1 / 127)));
    const rng = new Rng(9);
    const x = Float64Array.from({ length: 5000 }, () => rng.normal() * 1e-3);
    for (const bits of [8, 4, 2]) {
      const q = quantiseSymmetric(x, bits);
      const scale = Math.max(...x.map(Math.abs)) / (2 ** (bits - 1) - 1);
      const err = Math.max(...x.map((t, k) => Math.abs(t - q[k])));
      assert.ok(err <= (scale / 2) * (1 + 1e-12), `int${bits}: ${err} > ${scale / 2}`);
      assert.ok(new Set(q.map((t) => Math.round(t / scale))).size <= 2 ** bits - 1);
    }
    assert.deepEqual([...quantiseTensor(Float64Array.from([2, -3, 0, 0.1]), 'sign')], [1, -1, 0, 1]);
    assert.deepEqual([...quantiseSymmetric(new Float64Array(3), 8)], [0, 0, 0]);
  });
});

describe('defences: composition, FedAvg and secure aggregation on a real model', () => {
  const model = presetGraph('cnn3_c1')!;
  const params = initParams(model, 3);
  const rng = new Rng(4);
  const image = (): Float64Array => Float64Array.from({ length: 3 * 32 * 32 }, () => rng.uniform() - 0.5);
  const x = { shape: [1, 3, 32, 32], data: image() };
  const base = { kernels: JS_KERNELS, model, params, bnMode: 'eval' as const, seed: 0 };
  const defended = (specs: string[], population?: ClientBatch) =>
    simulateDefendedClient({ ...base, defences: specs.map(parseDefence), population }, x, [2]);
  const plain = simulateClient(JS_KERNELS, model, params, 'eval', x, [2]);

  it('the first listed defence is innermost: sign then clip has norm C, clip then sign entries ±1', () => {
    const a = defended(['quantise:sign', 'clip:0.5,per=batch']).update;
    const b = defended(['clip:0.5,per=batch', 'quantise:sign']).update;
    assert.ok(a.kind !== 'delta' && b.kind !== 'delta');
    assert.ok(Math.abs(l2Norm(a.gradients) - 0.5) <= 1e-15);
    assert.ok(flat(b.gradients).every((t) => t === 1 || t === -1 || t === 0));
    assert.deepEqual(a.defences?.map((r) => r.name), ['quantise', 'clip']);
  });
  it('FedAvg with E = 1 shares exactly −η·gradient; E = 3 matches three SGD steps', () => {
    const one = defended(['fedavg:steps=1,lr=0.05']).update;
    assert.ok(one.kind === 'delta');
    assert.equal(one.steps, 1);
    for (const [k, d] of one.delta) {
      const g = plain.update.gradients.get(k)!;
      d.forEach((v, i) => assert.ok(Math.abs(v - -0.05 * g[i]) <= 1e-15));
      // the naive attacker's gradient −Δ/(E·η)
      naiveGradients(one).gradients.get(k)!.forEach((v, i) => assert.ok(Math.abs(v - g[i]) <= 1e-15));
    }
    const three = defended(['fedavg:steps=3,lr=0.05']).update;
    const trained = trainOnBatch(JS_KERNELS, model, params, 'eval', x, [2], 3, 0.05);
    assert.ok(three.kind === 'delta');
    for (const [k, d] of three.delta) {
      const w0 = params.get(k)!, w3 = trained.get(k)!;
      d.forEach((v, i) => assert.ok(Math.abs(v - (w3[i] - w0[i])) <= 1e-15, `${k}[${i}]`));
    }
    assert.equal(defended(['fedavg:steps=1,lr=0.05']).loss, plain.loss);
  });
  it('secure aggregation shares the sum of the K clients\' updates', () => {
    const population = { images: { shape: [2, 3, 32, 32], data: Float64Array.from([...image(), ...image()]) }, labels: [5, 7] };
    const sum = defended(['secagg:3'], population).update;
    assert.ok(sum.kind !== 'delta');
    const others = [0, 1].map((i) => simulateClient(JS_KERNELS, model, params, 'eval',
      { shape: [1, 3, 32, 32], data: population.images.data.subarray(i * 3072, (i + 1) * 3072) }, [population.labels[i]]));
    for (const [k, v] of sum.gradients) {
      const want = plain.update.gradients.get(k)!.map((g, i) => g + others[0].update.gradients.get(k)![i]
        + others[1].update.gradients.get(k)![i]);
      assert.deepEqual(v, want);
    }
    assert.throws(() => defended(['secagg:4'], population), /secagg: 3 other client\(s\) with batches of 1 need 3 population image\(s\), 2 given/);
  });
  it('same seed, same bytes; the undefended client is the plain one', () => {
    const a = defended(['noise:z=0.5,clip=1', 'prune:0.5', 'quantise:int8']).update;
    const b = defended(['noise:z=0.5,clip=1', 'prune:0.5', 'quantise:int8']).update;
    assert.deepEqual(a, b);
    const none = applyDefences({ ...base, defences: [] }, { images: x, labels: [2] }).update;
    assert.deepEqual(none, plain.update);
  });
  it('an existing attack runs unchanged on an undefended update and naively on a defended one', () => {
    const opts = { seed: 0, tol: 1e-10 };
    const clean = rgap.run({ model, params, normalisation: { scale: 1, offset: -0.5 }, bnMode: 'eval' }, plain.update, opts);
    const fed = defended(['fedavg:steps=1,lr=0.05']).update;
    const naive = rgap.run({ model, params, normalisation: { scale: 1, offset: -0.5 }, bnMode: 'eval' }, fed, opts);
    const diff = Math.max(...clean.images.data.map((v, i) => Math.abs(v - naive.images.data[i])));
    const scale = Math.max(...clean.images.data.map(Math.abs));
    assert.ok(diff < 1e-8 * scale, `E=1 delta read as −Δ/η reconstructs as the gradient does (max diff ${diff})`);
    const pruned = defended(['prune:0.5']).update;
    const r = rgap.run({ model, params, normalisation: { scale: 1, offset: -0.5 }, bnMode: 'eval' }, pruned, opts);
    assert.ok(r.images.data.every(Number.isFinite));
  });
});

describe('defences: specs, declarations and checks', () => {
  it('parses specs with defaults, strength shorthand and sweeps', () => {
    assert.deepEqual(parseDefence('prune:0.9'), { name: 'prune', params: { p: 0.9 } });
    assert.deepEqual(parseDefence('noise:z=1.0,clip=1'),
      { name: 'noise', params: { z: 1, clip: 1, per: 'example', delta: 1e-5, rounds: 1 } });
    assert.deepEqual(parseDefence('fedavg:5'), { name: 'fedavg', params: { steps: 5, lr: 0.1 } });
    assert.deepEqual(parseDefenceSweep('fedavg:steps=1,5,20,lr=0.01').map((r) => r.params.steps), [1, 5, 20]);
    assert.deepEqual(parseDefenceSweep('quantise:float16,int8,sign').map((r) => r.params.format), ['float16', 'int8', 'sign']);
  });
  it('refuses bad specs with one clear line', () => {
    const bad: [string, RegExp][] = [
      ['prune:abc', /defence "prune:abc": p must be a number, got "abc"$/],
      ['prune:1.5', /p must be at least 0 and at most 1, got 1.5/],
      ['prune', /prune needs p/],
      ['noise:clip=1', /noise needs z/],
      ['noise:z=0', /z must be above 0/],
      ['noise:1,2', /one value of z here \(lists are for sweeps\)/],
      ['noise:z=1,clip=1,2', /only the strength \(z\) may list several values, not clip/],
      ['fedavg:steps=1.5', /steps must be a whole number, got "1.5"/],
      ['quantise:int3', /format must be one of float16, int8, int4, int2, sign, got "int3"/],
      ['blur:3', /unknown defence "blur" \(available: clip, noise, prune, topk, quantise, fedavg, secagg\)/],
      ['prune:p=0.1,p=0.2', /p is given twice/],
      ['prune:q=1', /prune has no option "q" \(options: p\)/],
      ['prune:', /an empty value/],
      ['secagg:1', /clients must be at least 2/],
      ['noise:z=1,delta=1', /delta must be above 0 and below 1/],
    ];
    for (const [spec, re] of bad) {
      assert.throws(() => parseDefence(spec), (e: unknown) => e instanceof InputError && re.test(e.message)
        && !e.message.includes('\n'), spec);
    }
    assert.throws(() => checkDefences([parseDefence('fedavg:1'), parseDefence('fedavg:2')]),
      /fedavg may appear only once in a chain/);
  });
  it('a declaration round-trips through file metadata, and checkUpdate holds it to itself', () => {
    const records: DefenceRecord[] = [parseDefence('noise:z=2'), parseDefence('fedavg:steps=4,lr=0.01')];
    const delta = new Map([['w', Float64Array.from([0.04, -0.08])]]);
    const u: SharedUpdate = { kind: 'delta', delta, steps: 4, lr: 0.01, batch: 1, defences: records };
    const meta = declarationMetadata(u);
    assert.deepEqual(meta, { update: 'delta', steps: '4', lr: '0.01', defences: JSON.stringify(records) });
    assert.deepEqual(updateFromMetadata(delta, meta, 1, 'f'), u);
    assert.deepEqual(declarationMetadata({ gradients: delta, batch: 1 }), {});
    assert.deepEqual([...naiveGradients(u).gradients.get('w')!], [-1, 2]);
    assert.throws(() => updateFromMetadata(delta, { defences: '[{' }, 1, 'f'), /f: metadata "defences" is not valid JSON/);
    assert.throws(() => updateFromMetadata(delta, { defences: '[{"name":"prune","params":{"p":2}}]' }, 1, 'f'),
      /declared defence 1 \(prune\): p must be at least 0 and at most 1, got 2/);
    assert.throws(() => updateFromMetadata(delta, { defences: '[{"name":"prune","params":{}}]' }, 1, 'f'), /prune needs p/);
    const g = { name: 'g', input: [1], classes: 2, params: [{ name: 'w', shape: [2], trainable: true }] };
    const graph = g as unknown as Parameters<typeof checkUpdate>[0];
    assert.throws(() => checkUpdate(graph, { ...u, steps: 3 }),
      /declares fedavg:steps=4,lr=0.01 but is a weight delta of 3 step\(s\) at rate 0.01/);
    assert.deepEqual([...checkUpdate(graph, u).gradients.get('w')!], [-1, 2]);
  });
});
