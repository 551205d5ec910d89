import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import { idxSamples } from '../src/formats/datasets.js';
import { encodeImagePng, REFERENCE_NORMALISATION, type Bitmap } from '../src/formats/image.js';
import { parseSafetensors, serializeSafetensors } from '../src/formats/safetensors.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { matchingKernels } from '../src/kernels/select.js';
import { batchGradients } from '../src/model/gradients.js';
import type { Graph } from '../src/model/graph.js';
import { initParams, paramsFromTensors, tensorsFromParams } from '../src/model/params.js';
import { graphFromJson } from '../src/model/presets.js';
import { batchOf, type LabelledImage } from '../src/train/dataset.js';
import { evaluate } from '../src/train/evaluate.js';
import { trainModel, type TrainSettings } from '../src/train/loop.js';
import { assertCleanFailure, CLI, ROOT, runCli, tmpDir } from './helpers.js';

/** The PyTorch fixture: scripts/make-train-fixture.py. */
const FIXTURE = path.join(ROOT, 'test/fixtures/train');
const fixtureFile = (f: string) => path.join(FIXTURE, f);
const tinyModel = () => graphFromJson(JSON.parse(fs.readFileSync(fixtureFile('model.json'), 'utf8')), 'tiny_bn');

function fixtureImages(): LabelledImage[] {
  return idxSamples(fs.readFileSync(fixtureFile('train-images-idx3-ubyte')),
    fs.readFileSync(fixtureFile('train-labels-idx1-ubyte'))).map((s) => ({ bitmap: s.bitmap, label: s.label! }));
}

function weightsFile(g: Graph, file: string): Map<string, Float64Array> {
  return paramsFromTensors(g, parseSafetensors(fs.readFileSync(file)), file, 'weights');
}

const grey = (w: number, h: number, data: number[]): Bitmap => ({ width: w, height: h, channels: 1, data: Uint8Array.from(data) });

/** An IDX file of unsigned bytes. */
function idx(dims: number[], data: ArrayLike<number>): Uint8Array {
  const head = [0, 0, 8, dims.length, ...dims.flatMap((d) => [d >>> 24, (d >>> 16) & 255, (d >>> 8) & 255, d & 255])];
  return Uint8Array.from([...head, ...Array.from(data)]);
}

/** n seeded grey w×h images whose class (0..classes−1) sets which band is bright, as IDX files in `dir`. */
function syntheticIdx(dir: string, n: number, w: number, h: number, classes: number, seed: number): { images: string; labels: string } {
  const rng = new Rng(seed);
  const labels = Array.from({ length: n }, () => Math.floor(rng.uniform() * classes));
  const pixels = labels.flatMap((y) => Array.from({ length: w * h }, (_, p) => {
    const row = Math.floor(p / w);
    return Math.min(255, Math.floor(rng.uniform() * 100) + (Math.floor((row * classes) / h) === y ? 120 : 0));
  }));
  const images = path.join(dir, 'train-images-idx3-ubyte'), labelsFile = path.join(dir, 'train-labels-idx1-ubyte');
  fs.writeFileSync(images, idx([n, h, w], pixels));
  fs.writeFileSync(labelsFile, idx([n], labels));
  return { images, labels: labelsFile };
}

const settings = (over: Partial<TrainSettings>): TrainSettings => ({
  epochs: 2, batch: 4, lr: 0.1, momentum: 0.9, weightDecay: 0.01, seed: 0, normalisation: REFERENCE_NORMALISATION, ...over,
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('train: the SGD step', () => {
  it('two steps of SGD with momentum and weight decay on a linear model equal the closed form', () => {
    const g = graphFromJson({ name: 'lin', input: [1, 2, 2], classes: 3, nodes: [{ name: 'flatten', op: 'flatten' }, { name: 'fc', op: 'linear', out: 3 }] }, 'lin');
    const images: LabelledImage[] = [
      { bitmap: grey(2, 2, [0, 64, 128, 255]), label: 0 }, { bitmap: grey(2, 2, [200, 10, 30, 90]), label: 2 },
      { bitmap: grey(2, 2, [5, 250, 120, 60]), label: 1 }, { bitmap: grey(2, 2, [77, 33, 199, 140]), label: 2 },
    ];
    const w0 = initParams(g, 3);
    const s = settings({ shuffle: false });
    const trained = trainModel(JS_KERNELS, g, w0, { train: images, heldOut: [] }, s).params;

    // mean cross-entropy of softmax(Wx + b): dz = (softmax − onehot)/B, dW = Σ dz xᵀ, db = Σ dz
    const xs = images.map((im) => Array.from(im.bitmap.data, (p) => p / 255 - 0.5));
    const gradient = (W: number[], b: number[]) => {
      const gW = new Array(12).fill(0), gb = new Array(3).fill(0);
      xs.forEach((x, i) => {
        const z = [0, 1, 2].map((r) => b[r] + x.reduce((acc, v, c) => acc + W[r * 4 + c] * v, 0));
        const m = Math.max(...z), ex = z.map((v) => Math.exp(v - m)), sum = ex.reduce((a, v) => a + v, 0);
        const dz = ex.map((v, r) => (v / sum - (r === images[i].label ? 1 : 0)) / xs.length);
        dz.forEach((d, r) => { gb[r] += d; x.forEach((v, c) => { gW[r * 4 + c] += d * v; }); });
      });
      return [...gW, ...gb];
    };
    const theta0 = [...w0.get('fc.weight')!, ...w0.get('fc.bias')!];
    const direction = (theta: number[]) => gradient(theta.slice(0, 12), theta.slice(12)).map((v, k) => v + s.weightDecay * theta[k]);
    const d0 = direction(theta0);
    const theta1 = theta0.map((v, k) => v - s.lr * d0[k]);
    const d1 = direction(theta1);
    const theta2 = theta1.map((v, k) => v - s.lr * (s.momentum * d0[k] + d1[k]));
    const got = [...trained.get('fc.weight')!, ...trained.get('fc.bias')!];
    assert.ok(maxDiff(got, theta2) < 1e-14, `max difference ${maxDiff(got, theta2)}`);
    // the step moved the weights (a loop that did nothing would fail here)
    assert.ok(maxDiff(theta2, theta0) > 1e-3);
  });

  it('the gradient a step follows matches central finite differences of the loss (batch norm in train mode)', () => {
    const g = tinyModel();
    const w0 = weightsFile(g, fixtureFile('initial.safetensors'));
    const images = fixtureImages().slice(0, 8);
    const lr = 1;
    const w1 = trainModel(JS_KERNELS, g, w0, { train: images, heldOut: [] }, settings({ epochs: 1, batch: 8, lr, momentum: 0, weightDecay: 0, shuffle: false })).params;
    const { x, labels } = batchOf(images, images.map((_, i) => i), [1, 12, 12], REFERENCE_NORMALISATION);
    const loss = (p: Map<string, Float64Array>) => batchGradients(JS_KERNELS, g, p, x, labels, 'train').loss;
    const h = 1e-6;
    for (const [name, k] of [['features.0.weight', 3], ['features.1.weight', 2], ['features.5.bias', 4], ['classifier.weight', 50]] as const) {
      const at = (delta: number) => {
        const p = new Map([...w0].map(([n, v]) => [n, v.slice()]));
        p.get(name)![k] += delta;
        return loss(p);
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      const step = (w0.get(name)![k] - w1.get(name)![k]) / lr;
      assert.ok(Math.abs(fd - step) < 1e-7 * Math.max(1, Math.abs(fd)), `${name}[${k}]: finite difference ${fd}, step ${step}`);
      assert.ok(Math.abs(step) > 1e-6, `${name}[${k}] moved`);
    }
  });
});

describe('train: against PyTorch (test/fixtures/train, scripts/make-train-fixture.py)', () => {
  const reference = JSON.parse(fs.readFileSync(fixtureFile('reference.json'), 'utf8'));
  const r = reference.settings;
  const run = (kernels: typeof JS_KERNELS) => {
    const g = tinyModel();
    const w0 = weightsFile(g, fixtureFile('initial.safetensors'));
    const result = trainModel(kernels, g, w0, { train: fixtureImages(), heldOut: [] }, settings({
      epochs: r.epochs, batch: r.batch, lr: r.lr, momentum: r.momentum, weightDecay: r.weight_decay, shuffle: false,
    }));
    return { g, w0, result };
  };

  for (const [name, kernels] of [['JavaScript float64', JS_KERNELS], ['WebAssembly f64', matchingKernels('f64').kernels]] as const) {
    it(`2 epochs of SGD with momentum, weight decay and batch norm land on PyTorch's weights and running statistics (${name})`, () => {
      const { g, w0, result } = run(kernels);
      const want = weightsFile(g, fixtureFile('final.safetensors'));
      for (const p of g.params) {
        const d = maxDiff(result.params.get(p.name)!, want.get(p.name)!);
        assert.ok(d < 1e-10, `${p.name}: max difference ${d}`);
        // every tensor moved, buffers included: the comparison is not of untouched values (a conv bias
        // before batch norm gets no gradient, only weight decay's shrinking: ~1e-5)
        assert.ok(maxDiff(want.get(p.name)!, w0.get(p.name)!) > 1e-7, `${p.name} changed in PyTorch`);
      }
      result.epochs.forEach((e, i) => assert.ok(Math.abs(e.trainLoss - reference.train_loss_per_epoch[i]) < 1e-12, `epoch ${i + 1} loss`));
      const acc = evaluate(kernels, g, result.params, fixtureImages(), REFERENCE_NORMALISATION, 64).accuracy;
      assert.equal(acc, reference.eval_accuracy_on_training_images);
    });
  }

  it('without the unbiased running variance the fixture would not match (the check can fail)', () => {
    const { g, result } = run(JS_KERNELS);
    const want = weightsFile(g, fixtureFile('final.safetensors')).get('features.5.running_var')!;
    const got = result.params.get('features.5.running_var')!;
    // n = 24·4·4 values per channel: the biased variance differs by a factor (n − 1)/n, far above 1e-10
    assert.ok(maxDiff(got.map((v) => v * (383 / 384)), want) > 1e-5);
  });
});

describe('train: determinism', () => {
  it('same seed, same bytes; another seed, other bytes', () => {
    const g = tinyModel();
    const images = fixtureImages();
    const bytes = (seed: number) => {
      const s = settings({ epochs: 2, batch: 10, seed, shuffle: true });
      const { params } = trainModel(JS_KERNELS, g, initParams(g, 1), { train: images.slice(0, 50), heldOut: images.slice(50) }, s);
      return Buffer.from(serializeSafetensors(tensorsFromParams(g, params, 'weights')));
    };
    const a = bytes(4);
    assert.ok(a.equals(bytes(4)));
    assert.ok(!a.equals(bytes(5)), 'the seed orders the batches');
  });
});

describe('train: the command', () => {
  const model = fixtureFile('model.json');

  it('trains on a synthetic IDX set (resampled 10×10 → 12×12): weights and sidecar, the same bytes twice, and attack/audit load them', () => {
    const d = tmpDir('train-idx');
    const { images } = syntheticIdx(d, 60, 10, 10, 3, 11);
    const outs = ['a', 'b'].map((t) => path.join(d, `${t}.safetensors`));
    for (const out of outs) {
      const r = runCli(['train', '--model', model, '--data', images, '--epochs', '3', '--batch', '8', '--lr', '0.05', '--seed', '2', '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /epoch 3\/3: train loss \d\.\d{4}, train accuracy [\d.]+ %, held-out accuracy [\d.]+ %/);
    }
    assert.ok(fs.readFileSync(outs[0]).equals(fs.readFileSync(outs[1])));
    const sidecar = (f: string) => fs.readFileSync(f.replace(/\.safetensors$/, '.training.json'), 'utf8');
    assert.equal(sidecar(outs[0]).replace(/a\.safetensors/, 'b.safetensors'), sidecar(outs[1]));
    const s = JSON.parse(sidecar(outs[0]));
    assert.equal(s.data.trainImages, 54);
    assert.equal(s.data.heldOutImages, 6);
    assert.equal(s.epochs.length, 3);
    assert.equal(s.accuracy, s.epochs[2].heldOutAccuracy);
    // the classes are easy: three epochs beat chance on the training images
    assert.ok(s.epochs[2].trainAccuracy > 0.5, `train accuracy ${s.epochs[2].trainAccuracy}`);
    // every tensor is there, buffers included, under the model's names
    const names = [...parseSafetensors(fs.readFileSync(outs[0])).keys()];
    assert.deepEqual(names, tinyModel().params.map((p) => p.name));
    assert.ok(names.includes('features.5.running_var'));
    const audit = runCli(['audit', '--model', model, '--weights', outs[0], '--json', '--threads', '1']);
    assert.equal(audit.status, 0, audit.stderr);
    const png = path.join(d, 'digit.png');
    fs.writeFileSync(png, encodeImagePng(grey(12, 12, Array.from({ length: 144 }, (_, i) => (i * 37) % 256))));
    const attack = runCli(['attack', '--method', 'ig', '--iterations', '2', '--model', model, '--weights', outs[0], '--image', png, '--out', path.join(d, 'attack')]);
    assert.equal(attack.status, 0, attack.stderr);
  });

  it('reads CIFAR-10 batches and folders of class subfolders, and a --test file', () => {
    const d = tmpDir('train-formats');
    const rng = new Rng(3);
    const records = Array.from({ length: 12 }, (_, i) => [i % 3, ...Array.from({ length: 3072 }, () => Math.floor(rng.uniform() * 256))]);
    fs.writeFileSync(path.join(d, 'data_batch_1.bin'), Uint8Array.from(records.slice(0, 8).flat()));
    fs.writeFileSync(path.join(d, 'data_batch_2.bin'), Uint8Array.from(records.slice(8).flat()));
    const cifar = runCli(['train', '--model', model, '--data', path.join(d, 'data_batch_1.bin'), '--data', path.join(d, 'data_batch_2.bin'), '--holdout', '0.25', '--epochs', '1', '--batch', '4', '--out', path.join(d, 'c.safetensors')]);
    assert.equal(cifar.status, 0, cifar.stderr);
    const c = JSON.parse(fs.readFileSync(path.join(d, 'c.training.json'), 'utf8'));
    assert.deepEqual([c.data.format, c.data.trainImages, c.data.heldOutImages], ['CIFAR-10', 9, 3]);

    const folder = path.join(d, 'classes');
    ['cat', 'ant', 'bee'].forEach((name, k) => {
      fs.mkdirSync(path.join(folder, name), { recursive: true });
      for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(folder, name, `${i}.png`), encodeImagePng(grey(12, 12, new Array(144).fill(40 * k + i))));
    });
    const { images } = syntheticIdx(d, 10, 12, 12, 3, 5);
    const f = runCli(['train', '--model', model, '--data', folder, '--test', images, '--epochs', '1', '--batch', '3', '--exact-size', '--out', path.join(d, 'f.safetensors')]);
    assert.equal(f.status, 0, f.stderr);
    const j = JSON.parse(fs.readFileSync(path.join(d, 'f.training.json'), 'utf8'));
    assert.deepEqual(j.data.classes, ['ant', 'bee', 'cat']);
    assert.deepEqual([j.data.format, j.data.trainImages, j.data.heldOutImages], ['folder', 9, 10]);
  });

  it('bad input: one line, status 2, nothing written', () => {
    const d = tmpDir('train-bad');
    const { images } = syntheticIdx(d, 20, 10, 10, 10, 1);
    const out = path.join(d, 'w.safetensors');
    const bad = (args: string[], pattern: RegExp) => {
      assertCleanFailure(runCli(['train', '--model', model, '--epochs', '1', ...args, '--out', out]), pattern);
      assert.deepEqual(fs.readdirSync(d).filter((f) => f.startsWith('w.')), []);
    };
    bad(['--data', images], /label \d, outside the model's 3 classes/);
    const three = tmpDir('train-bad3');
    const ok = syntheticIdx(three, 20, 10, 10, 3, 1).images;
    bad(['--data', ok, '--exact-size'], /image 0 is 10×10, the model takes 12×12/);
    const empty = path.join(three, 'empty-images-idx3-ubyte');
    fs.writeFileSync(empty, idx([0, 12, 12], []));
    fs.writeFileSync(path.join(three, 'empty-labels-idx1-ubyte'), idx([0], []));
    bad(['--data', empty], /no images/);
    const lonely = path.join(d, 'lonely-idx3-ubyte');
    fs.copyFileSync(ok, lonely);
    bad(['--data', path.join(d, 'lonely-idx3-ubyte')], /no labels file beside it/);
    fs.writeFileSync(path.join(d, 'short.bin'), new Uint8Array(100));
    bad(['--data', path.join(d, 'short.bin')], /not a whole number of 3073-byte CIFAR-10 records/);
    bad(['--data', d], /expected a folder of class subfolders/);
    bad(['--data', ok, '--holdout', '0.2', '--test', ok], /--holdout .* or --test, not both/);
    bad(['--data', ok, '--precision', 'f16'], /--precision must be f64 or f32/);
    bad(['--data', ok, '--lr', '1e6'], /--lr must be at most/);
    assertCleanFailure(runCli(['train', '--model', model, '--data', ok, '--out', out]), /--epochs E is required/);
  });

  it('Ctrl-C while training leaves no file', async () => {
    const d = tmpDir('train-int');
    const { images } = syntheticIdx(d, 200, 12, 12, 3, 9);
    const out = path.join(d, 'w.safetensors');
    const child = spawn(process.execPath, [CLI, 'train', '--model', model, '--data', images, '--epochs', '100000', '--out', out]);
    // wait for the first epoch's line: training is under way
    await new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => { if (/epoch 1\//.test(b.toString())) resolve(); }));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 130 : null))));
    assert.notEqual(code, 0);
    assert.deepEqual(fs.readdirSync(d).filter((f) => f.startsWith('w.')), []);
  });
});
