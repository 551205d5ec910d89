import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gaussianEpsilon } from '../src/defences/accounting.js';
import { parseDefenceSweep } from '../src/defences/spec.js';
import { runDefendCell, type DefendRow } from '../src/defend/cell.js';
import { breakIndex, summariseDefend, weakestFirst } from '../src/defend/summary.js';
import { bitmapToTensor, decodeImage, fitBitmap, REFERENCE_NORMALISATION } from '../src/formats/image.js';
import { loadImageSet } from '../src/io/imagesets.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { initParams } from '../src/model/params.js';
import { presetGraph } from '../src/model/presets.js';
import { meanInterval, tQuantile975 } from '../src/study/stats.js';
import { simulateClient } from '../src/threat/client.js';
import { runCli, tmpDir } from './helpers.js';

const SWEEP = ['defend', '--model', 'cnn3_c1', '--defence', 'prune:0.9,0.5', '--defence', 'noise:0.01',
  '--methods', 'rgap', '--count', '2', '--seed', '3'];
/** What a finished sweep must reproduce byte for byte. */
const OUTPUTS = ['results.json', 'results.csv', 'report.md', 'psnr-vs-strength.svg', 'psnr-vs-strength.png',
  'grid-prune.svg', 'grid-prune.png', 'grid-noise.png'];

/** Pruning p zeroes the round(p·n) smallest magnitudes of each tensor: the squares left and gone. */
function pruned(g: ReadonlyMap<string, Float64Array>, p: number): { kept: number; gone: number } {
  let kept = 0, gone = 0;
  for (const t of g.values()) {
    const sq = [...t].map((v) => v * v).sort((x, y) => x - y);
    const n = Math.floor(p * t.length + 0.5);
    sq.forEach((v, i) => { if (i < n) gone += v; else kept += v; });
  }
  return { kept, gone };
}

describe('defend', () => {
  it('sweeps, resumes a torn journal to the same bytes, and the same seed gives the same bytes', () => {
    const a = tmpDir('defend-a'), b = tmpDir('defend-b');
    const first = runCli([...SWEEP, '--threads', '2', '--out', a]);
    assert.equal(first.status, 0, first.stderr);
    // baseline + two prune strengths + one noise strength, two images each
    assert.match(first.stderr, /4 \(defence, strength, attack\) points × 2 images = 8 cells; 0 already done/);
    const results = JSON.parse(fs.readFileSync(path.join(a, 'results.json'), 'utf8'));
    assert.equal(results.rows.length, 8);
    assert.ok(results.rows.every((r: DefendRow & { seconds?: number }) => r.seconds === undefined),
      'no times in results.json');
    // weakest first whatever the order given
    assert.deepEqual(results.rows.map((r: DefendRow) => r.strength), [null, null, 0.5, 0.5, 0.9, 0.9, 0.01, 0.01]);
    const timing = JSON.parse(fs.readFileSync(path.join(a, 'timing.json'), 'utf8'));
    assert.equal(Object.keys(timing).length, 8);
    // a run killed after five cells, the fifth line cut half-way
    const done = runCli([...SWEEP, '--threads', '1', '--out', b]);
    assert.equal(done.status, 0, done.stderr);
    const journal = path.join(b, 'results.jsonl');
    const lines = fs.readFileSync(journal, 'utf8').split('\n');
    fs.writeFileSync(journal, lines.slice(0, 4).join('\n') + '\n' + lines[4].slice(0, 40));
    for (const f of OUTPUTS) fs.rmSync(path.join(b, f));
    const again = runCli([...SWEEP, '--threads', '2', '--out', b]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /set aside 1 unreadable journal line/);
    assert.match(again.stderr, /4 already done, 4 to run/);
    for (const f of OUTPUTS) assert.ok(
      fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), `${f} differs`);
    const report = fs.readFileSync(path.join(a, 'report.md'), 'utf8');
    assert.match(report, /\| prune \| (0\.5|0\.9|not reached) \|/);
    assert.match(report, /--out DIR`/, 'the report quotes no output path');
  });

  it('gives one line and exit 2 for a bad sweep, and writes nothing', () => {
    const cases: [string[], RegExp][] = [
      [['--defence', 'prune:0.5,abc'], /p must be a number, got "abc"/],
      [['--defence', 'prune:1.5'], /p must be at least 0 and at most 1, got 1\.5/],
      [['--defence', 'noise:1,clip=1,2'], /only the strength \(z\) may list several values, not clip/],
      [['--defence', 'nope:1'], /unknown defence "nope"/],
      [['--defence', 'prune:0.5', '--defence', 'prune:0.9'], /--defence prune is given twice/],
      [['--defence', 'fedavg:lr=0.1'], /fedavg needs steps/],
      [[], /--defence is required/],
      [['--defence', 'secagg:1'], /clients must be at least 2/],
      [['--defence', 'secagg:2', '--population', '/nonexistent'], /images \/nonexistent: no such file/],
      [['--defence', 'prune:0.5', '--bn-mode', 'foo'], /--bn-mode must be train or eval/],
      [['--defence', 'prune:0.5', '--methods', 'rgap,nope'], /unknown (attack|method)/],
    ];
    for (const [extra, message] of cases) {
      const out = path.join(tmpDir('defend-bad'), 'o');
      const r = runCli(['defend', '--model', 'cnn3_c1', '--count', '1', ...extra, '--out', out]);
      assert.equal(r.status, 2, `${extra.join(' ')}: ${r.stderr}`);
      const text = r.stderr.trim();
      assert.equal(text.split('\n').length, 1, text);
      assert.match(text, /^gradleak: error: /);
      assert.match(text, message);
      assert.ok(!fs.existsSync(out), `${extra.join(' ')} left ${out}`);
    }
  });

  it('--adaptive runs each defended cell in both modes, the baseline once', () => {
    const d = tmpDir('defend-adaptive');
    const r = runCli(['defend', '--model', 'cnn3_c1', '--defence', 'prune:0.5', '--methods', 'rgap', '--count', '1',
      '--adaptive', '--out', d]);
    assert.equal(r.status, 0, r.stderr);
    const { rows } = JSON.parse(fs.readFileSync(path.join(d, 'results.json'), 'utf8'));
    assert.deepEqual(rows.map((x: DefendRow) => [x.defence, x.mode]), [['none', 'naive'], ['prune', 'naive'], ['prune', 'adaptive']]);
    const csv = fs.readFileSync(path.join(d, 'results.csv'), 'utf8').trim().split('\n');
    assert.equal(csv[0], 'model,image,label,defence,strength,spec,method,mode,psnr,ssim,mse,relError,cosine,epsilon');
    assert.match(csv[3], /^cnn3_c1,blobs\.png,0,prune,0\.5,prune:p=0\.5,rgap,adaptive,/);
    assert.match(fs.readFileSync(path.join(d, 'report.md'), 'utf8'), /\| rgap adaptive PSNR dB \|/);
    assert.ok(fs.existsSync(path.join(d, 'reconstructions', 'prune_p=0.5', 'blobs.png.rgap.adaptive.png')));
    const grid = decodeImage(fs.readFileSync(path.join(d, 'grid-prune.png')));
    assert.ok(grid.height > 2 * 96, 'a row per mode under the target, none and p = 0.5 columns');
  });

  it('study points --train-steps to the FedAvg defence', () => {
    const r = runCli(['study', '--models', 'cnn2_c1', '--train-steps', '2', '--out', path.join(tmpDir('st'), 'o')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr.trim(), /^gradleak: error: --train-steps is gone: .*defend --defence fedavg:steps=N/);
  });

  it('measures the utility cost against a direct computation', () => {
    const model = presetGraph('cnn3_c1')!;
    const shape = model.input as [number, number, number];
    const [img] = loadImageSet('samples', 1);
    const input = bitmapToTensor(fitBitmap(img.bitmap, shape), shape, REFERENCE_NORMALISATION);
    const cell = { key: 'k', model: 'cnn3_c1', image: img.id, input, label: 2, seed: 5, method: 'rgap',
      mode: 'naive' as const };
    const clean = simulateClient(JS_KERNELS, model, initParams(model, 5), 'train',
      { shape: [1, ...shape], data: input }, [2]).update.gradients;
    const { kept, gone } = pruned(clean, 0.9);
    const [prune] = parseDefenceSweep('prune:0.9');
    const p = runDefendCell({ ...cell, defence: prune }).row;
    assert.ok(Math.abs(p.relError - Math.sqrt(gone / (gone + kept))) < 1e-12, `${p.relError}`);
    assert.ok(Math.abs(p.cosine - Math.sqrt(kept / (gone + kept))) < 1e-12, `${p.cosine}`);
    assert.equal(p.epsilon, null);
    // one FedAvg step shares −η·g: read as a gradient it is the clean one
    const [fed] = parseDefenceSweep('fedavg:steps=1,lr=0.05');
    const f = runDefendCell({ ...cell, defence: fed }).row;
    assert.ok(f.relError < 1e-12 && Math.abs(f.cosine - 1) < 1e-12, `${f.relError} ${f.cosine}`);
    // noise: ε of the analytic Gaussian mechanism at μ = 1/z
    const [noise] = parseDefenceSweep('noise:2,delta=1e-6');
    const z = runDefendCell({ ...cell, defence: noise }).row;
    assert.equal(z.epsilon, gaussianEpsilon(1e-6, 0.5));
    assert.ok(z.relError > 1 && Math.abs(z.cosine) < 0.2, `noise at z = 2 swamps the gradient: ${z.relError}`);
    const none = runDefendCell(cell).row;
    assert.deepEqual([none.defence, none.strength, none.relError, none.cosine], ['none', null, 0, 1]);
  });

  it('--bn-mode eval: the client computes its update with the running statistics', () => {
    const model = presetGraph('convnet_bn')!;
    const shape = model.input as [number, number, number];
    const [img] = loadImageSet('samples', 1);
    const input = bitmapToTensor(fitBitmap(img.bitmap, shape), shape, REFERENCE_NORMALISATION);
    const [prune] = parseDefenceSweep('prune:0.9');
    for (const bnMode of ['eval', 'train'] as const) {
      const clean = simulateClient(JS_KERNELS, model, initParams(model, 2), bnMode,
        { shape: [1, ...shape], data: input }, [3]).update.gradients;
      const { kept, gone } = pruned(clean, 0.9);
      const r = runDefendCell({ key: 'k', model: 'convnet_bn', image: img.id, input, label: 3, seed: 2,
        iterations: 1, method: 'ig', mode: 'naive', defence: prune, bnMode }).row;
      assert.ok(Math.abs(r.relError - Math.sqrt(gone / (gone + kept))) < 1e-12, `${bnMode}: ${r.relError}`);
    }
  });

  it('secure aggregation adds the other clients\' clean gradients, the target never among them', () => {
    const model = presetGraph('cnn3_c1')!;
    const shape = model.input as [number, number, number];
    const [a, b] = loadImageSet('samples', 2)
      .map((i) => bitmapToTensor(fitBitmap(i.bitmap, shape), shape, REFERENCE_NORMALISATION));
    const grads = (x: Float64Array, label: number) => simulateClient(JS_KERNELS, model, initParams(model, 1),
      'train', { shape: [1, ...shape], data: x }, [label]).update.gradients;
    const own = grads(a, 0), other = grads(b, 4);
    // the server reads g_a + g_b: its error against g_a is ‖g_b‖/‖g_a‖, its cosine ⟨g_a, g_a + g_b⟩/…
    let aa = 0, bb = 0, ab = 0;
    for (const [k, g] of own) {
      g.forEach((v, i) => { const w = other.get(k)![i]; aa += v * v; bb += w * w; ab += v * w; });
    }
    const [sec] = parseDefenceSweep('secagg:2');
    const r = runDefendCell({ key: 'k', model: 'cnn3_c1', image: 'a', input: a, label: 0, seed: 1,
      method: 'rgap', mode: 'naive', defence: sec,
      population: { images: { shape: [1, ...shape], data: b }, labels: [4] } }).row;
    assert.ok(Math.abs(r.relError - Math.sqrt(bb / aa)) < 1e-12 * Math.sqrt(bb / aa), `${r.relError}`);
    assert.ok(Math.abs(r.cosine - (aa + ab) / Math.sqrt(aa * (aa + 2 * ab + bb))) < 1e-12, `${r.cosine}`);
    // through the CLI: two targets, one other client each, taken from the samples without the target
    const d = tmpDir('defend-secagg');
    const cli = runCli(['defend', '--model', 'cnn3_c1', '--defence', 'secagg:2', '--methods', 'rgap',
      '--count', '2', '--seed', '1', '--threads', '1', '--out', d]);
    assert.equal(cli.status, 0, cli.stderr);
    const rows = JSON.parse(fs.readFileSync(path.join(d, 'results.json'), 'utf8')).rows as DefendRow[];
    const sums = rows.filter((x) => x.defence === 'secagg');
    assert.equal(sums.length, 2);
    // blobs (label 0) is summed with face, face (label 1) with blobs: never with itself
    assert.ok(sums.every((x) => x.relError > 0.05 && x.cosine < 0.999), JSON.stringify(sums));
    const tooMany = runCli(['defend', '--model', 'cnn3_c1', '--defence', 'secagg:9', '--methods', 'rgap',
      '--count', '1', '--out', path.join(d, 'x')]);
    assert.equal(tooMany.status, 2);
    assert.match(tooMany.stderr.trim(),
      /^gradleak: error: secagg:clients=9 needs 8 image\(s\) besides blobs\.png .*; the population samples has 4$/);
    assert.ok(!fs.existsSync(path.join(d, 'x')));
  });

  it('finds the break point: the weakest strength from which every stronger one stays below', () => {
    assert.equal(breakIndex([30, 20, 10, 25, 5], 18), 4, 'a rebound above the threshold moves it up');
    assert.equal(breakIndex([30, 17, 12, 5], 18), 1);
    assert.equal(breakIndex([10, 10], 18), 0);
    assert.equal(breakIndex([30, 18], 18), -1, 'at the threshold is not below it');
    assert.equal(breakIndex([10, NaN], 18), -1);
    assert.equal(breakIndex([], 18), -1);
    // rows by hand: two attacks, two images; the best attack decides
    const sweep = weakestFirst(parseDefenceSweep('prune:0.9,0.2,0.5'));
    assert.deepEqual(sweep.map((r) => r.params.p), [0.2, 0.5, 0.9]);
    const psnr: Record<string, [number, number][]> = {
      // [rgap, ig] per image at p = 0.2, 0.5, 0.9
      '0.2': [[40, 10], [30, 12]], '0.5': [[12, 21], [10, 17]], '0.9': [[5, 15], [7, 16]],
    };
    const rows: DefendRow[] = [];
    for (const r of sweep) for (const [i, pair] of psnr[String(r.params.p)].entries()) {
      for (const [k, method] of ['rgap', 'ig'].entries()) rows.push({
        key: `${r.params.p}|${method}|${i}`, model: 'm', image: `i${i}`, label: 0, defence: 'prune',
        strength: r.params.p as number, params: { ...r.params }, method, mode: 'naive', psnr: pair[k], ssim: 0,
        mse: 0, relError: r.params.p as number, cosine: 1, epsilon: null, gaveUp: null, seconds: 0,
      });
    }
    const s = summariseDefend(rows, [sweep], [['rgap', 'naive'], ['ig', 'naive']], 18);
    const [b] = s.breakPoints;
    // best means: p=0.2 rgap 35; p=0.5 ig 19; p=0.9 ig 15.5
    assert.deepEqual(b.best.map((x) => [x.strength, x.psnr, x.series]), [[0.2, 35, 'rgap'], [0.5, 19, 'ig'], [0.9, 15.5, 'ig']]);
    assert.equal(b.strength, 0.9);
    assert.equal(summariseDefend(rows, [sweep], [['rgap', 'naive'], ['ig', 'naive']], 20).breakPoints[0].strength, 0.5);
    assert.equal(summariseDefend(rows, [sweep], [['rgap', 'naive'], ['ig', 'naive']], 15).breakPoints[0].strength, null);
    const ig05 = s.curves[0].points.find((x) => x.series === 'ig' && x.strength === 0.5)!;
    // mean 19 of 21 and 17: sd √8, half-width t(1)·√8/√2 = 12.706·2
    assert.equal(ig05.psnr.mean, 19);
    assert.ok(Math.abs(ig05.psnr.high - (19 + 12.706 * 2)) < 1e-9);
    assert.deepEqual(weakestFirst(parseDefenceSweep('quantise:sign,float16,int4')).map((r) => r.params.format),
      ['float16', 'int4', 'sign']);
  });

  it('t intervals of the mean', () => {
    const m = meanInterval([1, 2, 3]);
    assert.equal(m.mean, 2);
    assert.ok(Math.abs(m.high - (2 + 4.303 / Math.sqrt(3))) < 1e-12);
    assert.ok(Number.isNaN(meanInterval([4]).low));
    // the expansion beyond the table: t(0.975, 60) = 2.0003, t(0.975, 120) = 1.9799
    assert.ok(Math.abs(tQuantile975(60) - 2.0003) < 2e-4 && Math.abs(tQuantile975(120) - 1.9799) < 2e-4);
  });
});
