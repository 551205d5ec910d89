import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { encode as encodePng } from 'fast-png';
import { copaIndex, roundHalfEven, type LayerReport } from '../src/analysis/reports.js';
import { InputError } from '../src/core/errors.js';
import { inferLabel } from '../src/attacks/layerwise/label.js';
import { cholesky, choleskySolve, pivotedCholesky } from '../src/linalg/dense.js';
import { choleskyEnvelope, gramOfColumns, solveEnvelope } from '../src/linalg/envelope.js';
import { CsrBuilder } from '../src/linalg/sparse.js';
import { mse, psnr, ssim } from '../src/metrics/quality.js';
import { PRESETS } from '../src/model/chain-presets.js';
import { Rng } from '../src/core/rng.js';
import { buildModel, parseSpec } from '../src/model/chain-spec.js';
import { decodeImage } from '../src/formats/image.js';
import { parseSafetensors, serializeSafetensors } from '../src/formats/safetensors.js';
import { chainCase, REFERENCE, ROOT } from './helpers.js';

describe('safetensors', () => {
  it('round-trips F64 tensors and reads the fixtures\' F32', () => {
    const t = { shape: [2, 3], data: Float64Array.of(1, -2.5, 3e-8, Math.PI, 0, -0) };
    const back = parseSafetensors(serializeSafetensors([['a', t]])).get('a')!;
    assert.deepEqual(back.shape, [2, 3]);
    assert.deepEqual([...back.data], [...t.data]);
    const w = parseSafetensors(new Uint8Array(fs.readFileSync(path.join(REFERENCE, 'cnn3_c1-chelsea/weights.safetensors'))));
    assert.deepEqual(w.get('layers.1.weight')!.shape, [3, 6, 4, 4]);
    assert.equal(Math.fround(w.get('layers.1.weight')!.data[0]), w.get('layers.1.weight')!.data[0]);
  });
  it('rejects a size that does not match the shape', () => {
    const bytes = serializeSafetensors([['a', { shape: [4], data: new Float64Array(4) }]]);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))));
    const bad = new TextEncoder().encode(text.replace('[4]', '[5]'));
    const out = new Uint8Array(bytes.length);
    out.set(bytes);
    out.set(bad, 8);
    assert.throws(() => parseSafetensors(out), (e: Error) => e instanceof InputError && /do not hold shape \[5\]/.test(e.message));
  });
  it('rejects a header longer than the file', () => {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setBigUint64(0, 1000n, true);
    assert.throws(() => parseSafetensors(b), /exceeds the file size/);
  });
});

describe('images', () => {
  it('decodes RGB and greyscale PNG and JPEG', () => {
    const grey = decodeImage(encodePng({ width: 2, height: 2, data: Uint8Array.of(0, 85, 170, 255), channels: 1, depth: 8 }));
    assert.deepEqual([grey.channels, ...grey.data], [1, 0, 85, 170, 255]);
    const rgba = new Uint8Array(4 * 4 * 4).fill(200);
    const j = decodeImage(new Uint8Array(jpeg.encode({ width: 4, height: 4, data: rgba }, 95).data));
    assert.equal(j.channels, 3);
    assert.ok(j.data.every((v) => Math.abs(v - 200) <= 2));
    const sample = decodeImage(new Uint8Array(fs.readFileSync(path.join(ROOT, 'samples/hills.png'))));
    assert.deepEqual([sample.width, sample.height, sample.channels], [32, 32, 3]);
  });
});

describe('metrics', () => {
  it('PSNR has peak 1: MSE 0.01 is 20 dB', () => {
    const a = new Float64Array(100), b = new Float64Array(100).fill(0.1);
    assert.ok(Math.abs(mse(a, b) - 0.01) < 1e-15);
    assert.ok(Math.abs(psnr(a, b) - 20) < 1e-9);
  });
  it('SSIM is 1 for identical images and matches the formula on a single window', () => {
    const rng = new Rng(2);
    const a = Float64Array.from({ length: 121 }, () => rng.uniform());
    const b = a.map((v) => 0.5 * v + 0.2 + 0.05 * rng.normal());
    assert.ok(Math.abs(ssim(a, a, [1, 11, 11]) - 1) < 1e-12);
    // one 11×11 window: weighted means, variances, covariance
    const g = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / 4.5));
    const gs = g.reduce((s, v) => s + v, 0);
    let ma = 0, mb = 0, va = 0, vb = 0, cv = 0;
    for (let i = 0; i < 11; i++) for (let j = 0; j < 11; j++) { const w = (g[i] * g[j]) / gs / gs; ma += w * a[i * 11 + j]; mb += w * b[i * 11 + j]; }
    for (let i = 0; i < 11; i++) for (let j = 0; j < 11; j++) { const w = (g[i] * g[j]) / gs / gs; va += w * (a[i * 11 + j] - ma) ** 2; vb += w * (b[i * 11 + j] - mb) ** 2; cv += w * (a[i * 11 + j] - ma) * (b[i * 11 + j] - mb); }
    const expect = ((2 * ma * mb + 1e-4) * (2 * cv + 9e-4)) / ((ma * ma + mb * mb + 1e-4) * (va + vb + 9e-4));
    assert.ok(Math.abs(ssim(a, b, [1, 11, 11]) - expect) < 1e-12);
  });
});

describe('label inference', () => {
  it('recovers every label from the last layer gradients, with and without bias', () => {
    for (const name of ['cnn2_c1', 'cnn3_c13']) {
      const c = chainCase(PRESETS[name], 1);
      const rng = new Rng(3);
      const x = Float64Array.from({ length: 3072 }, () => rng.uniform() - 0.5);
      for (let label = 0; label < 10; label++) {
        const g = c.client(x, label).layers;
        const last = g[g.length - 1];
        const geometry = c.model.layers[c.model.layers.length - 1];
        assert.deepEqual(inferLabel(geometry, last), { label, ambiguous: false });
        assert.deepEqual(inferLabel(geometry, { weight: last.weight, bias: null }), { label, ambiguous: false });
      }
    }
  });
});

describe('security index', () => {
  it('rounds halves to even like Python and weighs layers by (L−1−i)/(L−1)', () => {
    assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2266.5, -2267.5, 2.4999].map(roundHalfEven), [0, 2, 2, 0, -2, -2266, -2268, 2]);
    const rep = (rd: number) => ({ rankDeficiency: rd }) as LayerReport;
    // L = 4: weights 1, 2/3, 1/3 → -3 + round(-10/3) + round(-5/3) = -3 - 3 - 2
    assert.equal(copaIndex([rep(-3), rep(-5), rep(-5), rep(0)]), -8);
  });
});

describe('linear algebra kernels', () => {
  it('envelope Cholesky solves a banded SPD system like dense Cholesky', () => {
    const rng = new Rng(9);
    const b = new CsrBuilder(40);
    for (let r = 0; r < 60; r++) { const c = Math.floor(rng.uniform() * 36); b.push([c, c + 1, c + 3], [rng.normal(), rng.normal(), rng.normal()]); }
    for (let c = 0; c < 40; c++) b.push([c], [0.5]);
    const s = b.build();
    const order = Int32Array.from({ length: 40 }, (_, i) => i);
    const env = gramOfColumns(s, order, 40);
    const dense = new Float64Array(1600);
    for (let i = 0; i < 40; i++) for (let j = 0; j < 40; j++) dense[i * 40 + j] = env.get(i, j);
    const rhs = Float64Array.from({ length: 40 }, () => rng.normal());
    const x1 = rhs.slice(), x2 = rhs.slice();
    assert.ok(choleskyEnvelope(env, 1e-12).ok);
    solveEnvelope(env, x1);
    cholesky(dense, 40);
    choleskySolve(dense, 40, x2);
    assert.ok(Math.hypot(...x1.map((v, i) => v - x2[i])) < 1e-10 * Math.hypot(...x2));
  });
  it('pivoted Cholesky finds the rank of a rank-5 Gram matrix', () => {
    const rng = new Rng(4);
    const f = Array.from({ length: 12 }, () => Array.from({ length: 5 }, () => rng.normal()));
    const a = (i: number, j: number) => f[i].reduce((s, v, k) => s + v * f[j][k], 0);
    const diag = Float64Array.from({ length: 12 }, (_, i) => a(i, i));
    const scale = Math.max(...diag);
    const p = pivotedCholesky(12, (j, out) => { for (let i = 0; i < 12; i++) out[i] = a(i, j) / scale; }, diag.map((v) => v / scale), 1e-10);
    assert.equal(p.rank, 5);
  });
});

describe('model specs', () => {
  it('reads every preset and the fixture specs as they are', () => {
    assert.equal(Object.keys(PRESETS).length, 34);
    for (const spec of Object.values(PRESETS)) assert.equal(buildModel(parseSpec(spec)).classes, 10);
  });
  it('rejects a kernel larger than its input', () => {
    assert.throws(() => parseSpec({ input: [1, 4, 4], layers: [{ type: 'conv', out: 1, kernel: 5 }, { type: 'linear', out: 2 }] }), /kernel 5 is larger/);
  });
});

describe('browser compatibility of the core', () => {
  it('everything below the I/O and CLI edges (all of src/ but src/io and src/cli) imports nothing Node-only', () => {
    const bad: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts')) {
          const src = fs.readFileSync(p, 'utf8');
          if (/from ['"](node:|fs|path|os|child_process|worker_threads|url)['"]/.test(src) || /\b(process\.|Buffer\.|require\()/.test(src)) bad.push(p);
        }
      }
    };
    const edges = ['io', 'cli'];
    const dirs = fs.readdirSync(path.join(ROOT, 'src'), { withFileTypes: true }).filter((e) => e.isDirectory() && !edges.includes(e.name));
    assert.ok(dirs.length >= 15, `found ${dirs.map((d) => d.name).join(', ')}`);
    for (const d of dirs) walk(path.join(ROOT, 'src', d.name));
    assert.deepEqual(bad, []);
  });
});

describe('study models and trained clients', () => {
  it('each sweep model differs from cnn3_c1 in exactly its factor', async () => {
    const { SWEEPS, sweepOf, resolveStudyModels } = await import('../src/model/sweeps.js');
    const base = PRESETS.cnn3_c1.layers;
    for (const [name, spec] of Object.entries(SWEEPS)) {
      const { factor, value } = sweepOf(name)!;
      if (factor === 'depth') {
        assert.equal(spec.layers.length, Number(value) + 1, name);
        continue;
      }
      const l0 = spec.layers[0] as unknown as Record<string, unknown>, b0 = base[0] as unknown as Record<string, unknown>;
      const key = { channels: 'out', kernel: 'kernel', stride: 'stride', padding: 'padding', activation: 'activation' }[factor]!;
      assert.equal(String(l0[key]), value, name);
      for (const k of Object.keys(b0)) if (k !== key) assert.equal(l0[k], b0[k], `${name}: ${k}`);
      assert.deepEqual(spec.layers.slice(1).map((l) => ({ ...l, activation: 'x' })), base.slice(1).map((l) => ({ ...l, activation: 'x' })), name);
      buildModel(spec);
    }
    assert.deepEqual(resolveStudyModels(['sweep:stride']), ['sweep-stride-1', 'sweep-stride-2', 'sweep-stride-3']);
    assert.equal(resolveStudyModels(['all']).length, 34);
    assert.throws(() => resolveStudyModels(['sweep:colour']), /unknown sweep "colour"/);
    // graph presets and model files pass through (the study reads the files)
    assert.deepEqual(resolveStudyModels(['lenet_zhu', 'cnn2_c1', 'm.onnx', 'spec.json', 'm.onnx']),
      ['lenet_zhu', 'cnn2_c1', 'm.onnx', 'spec.json']);
  });
  it('trainOnBatch takes plain SGD steps: one step is params − lr·gradient, and the loss falls', async () => {
    const { simulateClient, trainOnBatch } = await import('../src/threat/client.js');
    const { JS_KERNELS } = await import('../src/kernels/js/index.js');
    const { presetGraph } = await import('../src/model/presets.js');
    const { initParams } = await import('../src/model/params.js');
    const model = presetGraph('cnn3_c1')!;
    const p0 = initParams(model, 3);
    const rng = new Rng(4);
    const x = { shape: [1, 3, 32, 32], data: Float64Array.from({ length: 3 * 32 * 32 }, () => rng.uniform() - 0.5) };
    const g = simulateClient(JS_KERNELS, model, p0, 'eval', x, [2]);
    const p1 = trainOnBatch(JS_KERNELS, model, p0, 'eval', x, [2], 1, 0.05);
    for (const [name, w] of p0) {
      for (let k = 0; k < w.length; k += 97) assert.equal(p1.get(name)![k], w[k] - 0.05 * g.update.gradients.get(name)![k]);
    }
    assert.deepEqual(trainOnBatch(JS_KERNELS, model, p0, 'eval', x, [2], 0, 0.05), p0);
    const p5 = trainOnBatch(JS_KERNELS, model, p0, 'eval', x, [2], 5, 0.05);
    assert.ok(simulateClient(JS_KERNELS, model, p5, 'eval', x, [2]).loss < g.loss);
    assert.throws(() => trainOnBatch(JS_KERNELS, model, p0, 'eval', x, [2], 1, Number.NaN), InputError);
  });
});
