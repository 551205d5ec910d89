import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fitBitmap } from '../src/formats/image.js';
import { runCli, tmpDir } from './helpers.js';

describe('study', () => {
  it('runs models × images on workers, writes CSV/JSON/summary, and resumes without redoing cells', () => {
    const d = tmpDir('study');
    const args = ['study', '--models', 'cnn2_c1,cnn2_c2', '--count', '3', '--methods', 'rgap', '--workers', '2', '--out', d];
    const first = runCli(args);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, /0 already done, 6 to run/);
    const rows = JSON.parse(fs.readFileSync(path.join(d, 'results.json'), 'utf8'));
    assert.equal(rows.length, 6);
    const c1 = rows.filter((r: { model: string }) => r.model === 'cnn2_c1');
    const c2 = rows.filter((r: { model: string }) => r.model === 'cnn2_c2');
    assert.ok(c1.every((r: { copaIndex: number; methods: { rgap: { psnr: number } } }) => r.copaIndex === 0 && r.methods.rgap.psnr > 60));
    assert.ok(c2.every((r: { copaIndex: number; rankDeficiency: number[] }) => r.copaIndex === -1470 && r.rankDeficiency[0] === -1470));
    const csv = fs.readFileSync(path.join(d, 'results.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 7);
    assert.match(csv[0], /^model,image,label,layers,copaIndex,normalisedIndex,structuralIndex,/);
    const summary = JSON.parse(fs.readFileSync(path.join(d, 'summary.json'), 'utf8'));
    assert.equal(summary.cells, 6);
    assert.ok(summary.spearman.rgap.copaIndex.rho > 0.5, 'exact recovery where the index is 0, partial where it is negative');
    const again = runCli(args);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /6 already done, 0 to run/);
  });
  it('reads Fashion-MNIST IDX files and fits 28×28 grey to 3×32×32', () => {
    const d = tmpDir('study-idx');
    const r = runCli(['study', '--models', 'cnn2_c2', '--images', '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz', '--count', '2', '--methods', 'rgap', '--out', d]);
    assert.equal(r.status, 0, r.stderr);
    const rows = JSON.parse(fs.readFileSync(path.join(d, 'results.json'), 'utf8'));
    assert.deepEqual(rows.map((x: { label: number }) => x.label), [9, 2]);
  });
  it('rejects an unknown model with one line', () => {
    const r = runCli(['study', '--models', 'cnn2_c1,nope', '--out', path.join(tmpDir('study-bad'), 'o')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr.trim(), /^gradleak: error: unknown model "nope"/);
  });
  it('fitBitmap resamples bilinearly and converts channels', () => {
    const grey = { width: 2, height: 1, channels: 1 as const, data: Uint8Array.of(0, 200) };
    const out = fitBitmap(grey, [3, 1, 4]);
    assert.equal(out.channels, 3);
    // pixel centres 0.125, 0.375, 0.625, 0.875 of the width map to source x = −0.25, 0.25, 0.75, 1.25 (clamped)
    assert.deepEqual([0, 1, 2, 3].map((x) => out.data[x * 3]), [0, 50, 150, 200]);
    assert.ok([0, 1, 2, 3].every((x) => out.data[x * 3] === out.data[x * 3 + 2]));
  });
});
