import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { gzipSync } from 'fflate';
import { InputError } from '../src/core/errors.js';
import { ranks, spearman, spearmanDifference } from '../src/study/stats.js';
import { Rng } from '../src/core/rng.js';
import { cifar10Samples, idxSamples, parseIdx } from '../src/formats/datasets.js';
import { FASHION_SLICE, skipOutsideCi } from './helpers.js';

/** Debian's dataset-fashion-mnist: the full set, tested when installed (.ci/run installs it). */
const FASHION_DEBIAN = '/usr/share/datasets/fashion-mnist';
const read = (dir: string, f: string) => new Uint8Array(fs.readFileSync(`${dir}/${f}`));
const t10k = (dir: string) => idxSamples(read(dir, 't10k-images-idx3-ubyte.gz'), read(dir, 't10k-labels-idx1-ubyte.gz'), 'fashion');

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
  it('reads the bundled Fashion-MNIST slice (the first 16 test images)', () => {
    const s = t10k(FASHION_SLICE);
    assert.equal(s.length, 16);
    for (const x of s) assert.deepEqual([x.bitmap.width, x.bitmap.height, x.bitmap.channels, x.bitmap.data.length], [28, 28, 1, 784]);
    // read from Debian's full t10k labels; the first is an ankle boot (9), the second a pullover (2)
    assert.deepEqual(s.map((x) => x.label), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1]);
    // pixel sums computed from Debian's full t10k images file
    const sum = (d: Uint8Array) => d.reduce((a, v) => a + v, 0);
    assert.equal(sum(s[0].bitmap.data), 33456);
    assert.equal(s.reduce((a, x) => a + sum(x.bitmap.data), 0), 757029);
    assert.deepEqual([...s[0].bitmap.data.subarray(14 * 28 + 10, 14 * 28 + 16)], [0, 0, 98, 136, 110, 109]);
  });
  it('reads the full Fashion-MNIST test set (Debian dataset-fashion-mnist), and the slice is its start', (t) => {
    if (!fs.existsSync(`${FASHION_DEBIAN}/t10k-images-idx3-ubyte.gz`) || !fs.existsSync(`${FASHION_DEBIAN}/t10k-labels-idx1-ubyte.gz`)) {
      skipOutsideCi(t, `${FASHION_DEBIAN} is missing: install Debian's dataset-fashion-mnist (.ci/run does)`);
      return;
    }
    const s = t10k(FASHION_DEBIAN);
    assert.equal(s.length, 10000);
    assert.deepEqual([s[0].bitmap.width, s[0].bitmap.height], [28, 28]);
    assert.deepEqual([s[0].label, s[1].label], [9, 2]);
    const counts = new Array(10).fill(0);
    for (const x of s) counts[x.label!]++;
    assert.deepEqual(counts, new Array(10).fill(1000));
    const slice = t10k(FASHION_SLICE);
    slice.forEach((x, i) => {
      assert.equal(x.label, s[i].label, `label ${i}`);
      assert.deepEqual(x.bitmap.data, s[i].bitmap.data, `image ${i}`);
    });
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
