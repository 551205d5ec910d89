import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { gzipSync } from 'fflate';
import { InputError } from '../src/core/errors.js';
import { ranks, spearman, spearmanDifference } from '../src/core/stats.js';
import { Rng } from '../src/core/rng.js';
import { cifar10Samples, idxSamples, parseIdx } from '../src/formats/datasets.js';

const FASHION = '/usr/share/datasets/fashion-mnist';

function idx(dims: number[], data: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out.set([0, 0, 8, dims.length]);
  const v = new DataView(out.buffer);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

describe('dataset readers', () => {
  it('reads IDX images and labels, plain and gzipped', () => {
    const images = idx([2, 2, 3], [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15]);
    const labels = idx([2], [7, 3]);
    for (const [im, la] of [[images, labels], [gzipSync(images), gzipSync(labels)]]) {
      const s = idxSamples(im, la);
      assert.equal(s.length, 2);
      assert.deepEqual([s[1].bitmap.width, s[1].bitmap.height, s[1].bitmap.channels], [3, 2, 1]);
      assert.deepEqual([...s[1].bitmap.data], [10, 11, 12, 13, 14, 15]);
      assert.deepEqual(s.map((x) => x.label), [7, 3]);
    }
  });
  it('rejects truncated or mismatched IDX data with a clear error', () => {
    assert.throws(() => parseIdx(idx([4, 4], [1, 2, 3])), (e: Error) => e instanceof InputError && /truncated IDX data/.test(e.message));
    assert.throws(() => idxSamples(idx([2, 1, 1], [1, 2]), idx([3], [0, 1, 2])), /3 labels for 2 images/);
    assert.throws(() => parseIdx(Uint8Array.of(1, 2, 3, 4, 5)), /bad magic number/);
  });
  it('reads the real Fashion-MNIST test set (Debian dataset-fashion-mnist)', () => {
    const s = idxSamples(new Uint8Array(fs.readFileSync(`${FASHION}/t10k-images-idx3-ubyte.gz`)), new Uint8Array(fs.readFileSync(`${FASHION}/t10k-labels-idx1-ubyte.gz`)), 'fashion');
    assert.equal(s.length, 10000);
    assert.deepEqual([s[0].bitmap.width, s[0].bitmap.height], [28, 28]);
    // the first test image is an ankle boot (class 9), the second a pullover (class 2)
    assert.deepEqual([s[0].label, s[1].label], [9, 2]);
    const counts = new Array(10).fill(0);
    for (const x of s) counts[x.label!]++;
    assert.deepEqual(counts, new Array(10).fill(1000));
  });
  it('reads CIFAR-10 records (label byte, then R, G, B planes)', () => {
    const rec = new Uint8Array(2 * 3073);
    rec[0] = 6;
    rec[1] = 200; rec[1 + 1024] = 100; rec[1 + 2048] = 50; // pixel 0 of record 0
    rec[3073] = 1;
    const s = cifar10Samples(rec);
    assert.deepEqual(s.map((x) => x.label), [6, 1]);
    assert.deepEqual([...s[0].bitmap.data.subarray(0, 3)], [200, 100, 50]);
    assert.throws(() => cifar10Samples(rec.subarray(0, 3000)), /not a whole number/);
  });
});

describe('Spearman correlation', () => {
  it('ranks ties by their average rank', () => assert.deepEqual(ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1]));
  it('is ±1 for monotone data and matches a hand-computed value', () => {
    assert.equal(spearman([1, 2, 3, 4, 5], [2, 4, 8, 16, 32]).rho, 1);
    assert.equal(spearman([1, 2, 3, 4, 5], [5, 3, 2, 1, 0]).rho, -1);
    // d = rank differences (0, −1, 1, 0, 0, 0): ρ = 1 − 6·2/(6·35) = 0.942857…
    const r = spearman([1, 2, 3, 4, 5, 6], [1, 3, 2, 4, 5, 6]);
    assert.ok(Math.abs(r.rho - (1 - 12 / 210)) < 1e-12);
    assert.ok(r.low < r.rho && r.rho < r.high && r.high <= 1);
  });
  it('paired bootstrap of a difference: zero for the same index, clearly negative for noise, seeded', () => {
    const rng = new Rng(2);
    const cluster = Array.from({ length: 60 }, (_, i) => `m${Math.floor(i / 3)}`);
    const a = cluster.map((c) => Number(c.slice(1)));
    const y = a.map((v) => v + 2 * rng.uniform());
    const noise = a.map(() => rng.uniform());
    const same = spearmanDifference(cluster, a, a, y, 1, 300);
    assert.deepEqual([same.diff, same.low, same.high], [0, 0, 0]);
    const worse = spearmanDifference(cluster, a, noise, y, 1, 300);
    assert.ok(worse.diff < -0.5 && worse.high < 0, JSON.stringify(worse));
    assert.deepEqual(spearmanDifference(cluster, a, noise, y, 1, 300), worse);
  });
});
