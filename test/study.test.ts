import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { decodeImage, fitBitmap } from '../src/formats/image.js';
import { FASHION_SLICE, runCli, tmpDir } from './helpers.js';

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
    // the report states the same correlation as summary.json, and the plots show every cell
    const report = fs.readFileSync(path.join(d, 'report.md'), 'utf8');
    assert.ok(report.includes(`**${summary.spearman.rgap.copaIndex.rho.toFixed(3)} [`), report.slice(0, 600));
    const svg = fs.readFileSync(path.join(d, 'scatter-rgap.svg'), 'utf8');
    assert.equal((svg.match(/<circle /g) ?? []).length, 6 + 1, 'six cells and one legend dot (all tanh)');
    const png = decodeImage(fs.readFileSync(path.join(d, 'scatter-rgap.png')));
    assert.deepEqual([png.width, png.height], [820, 540]);
    const grid = decodeImage(fs.readFileSync(path.join(d, 'best-worst.png')));
    assert.ok(grid.width > 6 * 96 && grid.height > 2 * 96, `${grid.width}×${grid.height}`);
    for (const r of rows) assert.ok(fs.existsSync(path.join(d, 'reconstructions', r.model, `${r.image}.rgap.png`)));
    const again = runCli(args);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /6 already done, 0 to run/);
    assert.equal(fs.readFileSync(path.join(d, 'report.md'), 'utf8'), report, 'a rerun rewrites the same report');
  });
  it('runs a one-factor sweep; a trained client is the defend command\'s FedAvg', () => {
    const d = tmpDir('study-sweep');
    const r = runCli(['study', '--models', 'sweep:padding', '--count', '1', '--methods', 'rgap', '--out', d]);
    assert.equal(r.status, 0, r.stderr);
    const rows = JSON.parse(fs.readFileSync(path.join(d, 'results.json'), 'utf8'));
    assert.deepEqual(rows.map((x: { model: string }) => x.model), ['sweep-padding-0', 'sweep-padding-1', 'sweep-padding-2']);
    // padding 0 is cnn3_c1 itself: the reference's deficiencies
    assert.deepEqual(rows[0].rankDeficiency, [0, -4533]);
    const report = fs.readFileSync(path.join(d, 'report.md'), 'utf8');
    assert.match(report, /### padding\n\n\| padding \| rank deficiency per layer \| index \|/);
    const bad = runCli(['study', '--models', 'cnn2_c1', '--train-steps=2', '--out', d]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr.trim(), /^gradleak: error: --train-steps is gone: .*gradleak defend --defence fedavg/);
  });
  it('reads Fashion-MNIST IDX files and fits 28×28 grey to 3×32×32', () => {
    const d = tmpDir('study-idx');
    const r = runCli(['study', '--models', 'cnn2_c2', '--images', path.join(FASHION_SLICE, 't10k-images-idx3-ubyte.gz'), '--count', '2', '--methods', 'rgap', '--out', d]);
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
