import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../src/core/errors.js';
import { parseSafetensors, serializeSafetensors, type NamedTensor } from '../src/formats/safetensors.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { batchGradients } from '../src/model/gradients.js';
import type { Graph } from '../src/model/graph.js';
import { importOnnx } from '../src/model/onnx-import.js';
import { fileName } from '../src/model/params.js';
import type { BnMode } from '../src/ops/op.js';
import { assertCleanFailure, ROOT, runCli, tmpDir } from './helpers.js';

/**
 * ONNX import against PyTorch: the fixtures of test/fixtures/onnx (scripts/make-onnx-fixtures.py,
 * Debian's python3-torch, float64) are the graph fixtures' models and weights exported by
 * torch.onnx.export, so the graph fixtures' logits and gradients (by state_dict name, which the
 * initializers keep) are their references; the BN-folded export has its own. Refusals go through the
 * CLI: one line, exit 2.
 */
const ONNX = path.join(ROOT, 'test/fixtures/onnx');
const GRAPHS = path.join(ROOT, 'test/fixtures/graphs');
const MODELS = ['lenet_zhu', 'convnet_bn', 'resnet8', 'mlp'];
const TOL = 1e-12;

const read = (file: string) => parseSafetensors(new Uint8Array(fs.readFileSync(file)), file);
const load = (file: string) =>
  importOnnx(new Uint8Array(fs.readFileSync(file)), path.basename(file, '.onnx'));

/** max |a − b| / max |b|: the error relative to the tensor's scale. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? err : err / scale;
}

/** Logits and every trainable tensor's gradient against the reference tensors `logits`, `grad.<name>`. */
function compare(g: Graph, t: Map<string, NamedTensor>, mode: BnMode, key: (k: string) => string): number {
  const get = (k: string) => { const v = t.get(key(k)); assert.ok(v, `missing ${key(k)}`); return v.data; };
  const labels = Array.from(t.get('labels')!.data);
  const r = batchGradients(JS_KERNELS, g, g.weights!, t.get('images')!, labels, mode);
  let worst = relError(r.logits.data, get('logits'));
  for (const p of g.params.filter((q) => q.trainable)) {
    const ours = r.gradients.get(p.name)!, theirs = get(`grad.${fileName(p)}`);
    // a conv bias before a train-mode batch norm has no gradient: both sides are rounding noise
    if (Math.sqrt(theirs.reduce((s, v) => s + v * v, 0)) < 1e-12) {
      assert.ok(ours.every((v) => Math.abs(v) < 1e-12), p.name);
    } else worst = Math.max(worst, relError(ours, theirs));
  }
  return worst;
}

describe('ONNX models against PyTorch (float64)', () => {
  it('ops: LeakyRelu, Pad + AveragePool, AveragePool, Tanh, Softplus, Reshape, MatMul + Add', () => {
    const g = load(path.join(ONNX, 'ops.onnx'));
    assert.deepEqual(g.nodes.map((n) => n.op.name), ['conv2d', 'leaky_relu', 'avg_pool2d', 'conv2d', 'tanh',
      'softplus', 'avg_pool2d', 'flatten', 'linear']);
    const padded = { kernel: [3, 3], stride: [2, 2], padding: [1, 1] };
    assert.deepEqual(g.nodes[2].attrs, padded, 'Pad + AveragePool');
    const names = ['conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias', 'w', 'b'];
    assert.deepEqual(g.params.map(fileName), names);
    for (const batch of [1, 8]) {
      // the reference holds the MatMul factor's gradient as [out, in], as gradleak's linear weight
      const e = compare(g, read(path.join(ONNX, `ops.batch${batch}.safetensors`)), 'eval', (k) => k);
      assert.ok(e <= TOL, `batch ${batch}: max relative error ${e}`);
    }
  });

  for (const name of MODELS) {
    const g = load(path.join(ONNX, `${name}.onnx`));
    it(`${name}: the initializers are the graph fixture's weights, under their state_dict names`, () => {
      const w = read(path.join(GRAPHS, name, 'weights.safetensors'));
      assert.deepEqual(g.params.map(fileName).sort(), [...w.keys()].sort());
      for (const p of g.params) assert.deepEqual(g.weights!.get(p.name), w.get(fileName(p))!.data, p.name);
    });
    for (const batch of [1, 8]) {
      const t = read(path.join(GRAPHS, name, `batch${batch}.safetensors`));
      for (const mode of ['eval', 'train'] as BnMode[]) {
        it(`${name}, batch ${batch}, BN ${mode}: logits and gradients within ${TOL} of PyTorch's`, () => {
          const key = (k: string) => (k === 'logits' ? `logits.${mode}` : `grad.${mode}.${k.slice(5)}`);
          const e = compare(g, t, mode, key);
          assert.ok(e <= TOL, `max relative error ${e}`);
        });
      }
    }
  }

  it('convnet_bn, constant folding on (BN folded into the convs): logits, gradients by initializer', () => {
    const g = load(path.join(ONNX, 'convnet_bn_folded.onnx'));
    assert.ok(!g.nodes.some((n) => n.op.name === 'batch_norm2d'));
    assert.ok(g.params.some((p) => p.file?.startsWith('onnx::Conv_')), 'the folded weights keep ONNX names');
    for (const batch of [1, 8]) {
      const t = read(path.join(ONNX, `convnet_bn_folded.batch${batch}.safetensors`));
      const e = compare(g, t, 'eval', (k) => k);
      assert.ok(e <= TOL, `batch ${batch}: max relative error ${e}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-made protobuf for malformed files: field tags, varints and length-delimited fields.

function varint(v: number): number[] {
  const out: number[] = [];
  for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v % 128) | 0x80);
  out.push(v);
  return out;
}
const bytesField = (no: number, b: number[]) => [...varint(no * 8 + 2), ...varint(b.length), ...b];
const intField = (no: number, v: number) => [...varint(no * 8), ...varint(v)];
const textField = (no: number, s: string) => bytesField(no, [...new TextEncoder().encode(s)]);

/** A model whose one initializer keeps its data in an external file. */
function externalDataModel(): Uint8Array {
  const tensor = [
    ...intField(1, 2), ...intField(2, 11), ...textField(8, 'fc.weight'),
    ...bytesField(13, [...textField(1, 'location'), ...textField(2, 'weights.bin')]), ...intField(14, 1),
  ];
  const graph = [...bytesField(5, tensor), ...textField(2, 'g')];
  return Uint8Array.from([...intField(1, 8), ...bytesField(8, intField(2, 13)), ...bytesField(7, graph)]);
}

/** A Conv (3 → 2 channels, 3×3, double) with the given attributes and a Flatten, on [N, 3, 8, 8]. */
function convModel(attributes: number[][], classes = 72): Uint8Array {
  const dim = (d: number | string) => bytesField(1, typeof d === 'number' ? intField(1, d) : textField(2, d));
  const value = (name: string, dims: (number | string)[]) => [...textField(1, name), ...bytesField(2,
    bytesField(1, [...intField(1, 11), ...bytesField(2, dims.flatMap(dim))]))];
  const weight = [...[2, 3, 3, 3].flatMap((d) => intField(1, d)), ...intField(2, 11),
    ...textField(8, 'conv.weight'), ...bytesField(9, new Array(54 * 8).fill(0))];
  const node = [...textField(1, 'x'), ...textField(1, 'conv.weight'), ...textField(2, 'y'),
    ...textField(3, '/conv/Conv'), ...textField(4, 'Conv'),
    ...attributes.flatMap((a) => bytesField(5, a))];
  const flatten = [...textField(1, 'y'), ...textField(2, 'z'), ...textField(3, '/Flatten'),
    ...textField(4, 'Flatten')];
  const graph = [...bytesField(1, node), ...bytesField(1, flatten), ...bytesField(5, weight),
    ...bytesField(11, value('x', ['N', 3, 8, 8])), ...bytesField(12, value('z', ['N', classes]))];
  return Uint8Array.from([...intField(1, 8), ...bytesField(8, intField(2, 13)), ...bytesField(7, graph)]);
}
const ints = (name: string, v: number[]) =>
  [...textField(1, name), ...intField(20, 7), ...v.flatMap((x) => intField(8, x))];
const int = (name: string, v: number) => [...textField(1, name), ...intField(20, 2), ...intField(3, v)];
const str = (name: string, v: string) => [...textField(1, name), ...intField(20, 3), ...textField(4, v)];

describe('ONNX attributes gradleak would compute differently are refused, naming node and operator', () => {
  it('the plain model imports (the builder is right), and each attribute below is what fails', () => {
    const g = importOnnx(convModel([ints('kernel_shape', [3, 3]), ints('pads', [0, 0, 0, 0])]), 'conv');
    assert.deepEqual(g.params.map((p) => [p.name, p.shape]), [['conv.weight', [2, 3, 3, 3]]]);
  });
  const cases: [string, number[], RegExp][] = [
    ['dilation', ints('dilations', [2, 2]), /dilations \[2, 2\] are not supported \(only 1\)/],
    ['groups', int('group', 3), /group=3 is not supported \(only group=1: grouped and depthwise/],
    ['auto_pad', str('auto_pad', 'SAME_UPPER'), /auto_pad=SAME_UPPER is not supported \(only NOTSET/],
    ['asymmetric pads', ints('pads', [0, 0, 1, 1]), /asymmetric pads \[0, 0, 1, 1\] are not supported/],
    ['an unknown attribute', int('ceil_mode', 1), /attribute ceil_mode is not supported \(supported: /],
  ];
  for (const [what, attr, pattern] of cases) {
    it(what, () => assert.throws(() => importOnnx(convModel([attr]), 'conv'),
      (e: Error) => e instanceof InputError && /^model conv: node "\/conv\/Conv" \(Conv\): /.test(e.message)
        && pattern.test(e.message)));
  }
  it('a graph whose shapes do not check: the declared output is not what the graph computes', () => {
    assert.throws(() => importOnnx(convModel([], 7), 'conv'), /"classes" is 7 but the output has 72 values/);
  });
});

describe('ONNX refusals: one line, exit 2', () => {
  const dir = tmpDir('onnx-bad');
  const good = fs.readFileSync(path.join(ONNX, 'convnet_bn.onnx'));
  const cases: [string, Uint8Array, RegExp][] = [
    ['unsupported operator', new Uint8Array(fs.readFileSync(path.join(ONNX, 'unsupported.onnx'))),
      /node "\/Elu" \(Elu\): operator Elu is not supported \(supported: Conv, Gemm/],
    ['truncated file', good.subarray(0, Math.floor(good.length / 2)), /truncated/],
    ['a length beyond the end', Uint8Array.from([...intField(1, 8), 0x3a, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]),
      /truncated \(field 7 declares 33554431 bytes, 3 are left\)/],
    ['a varint longer than 10 bytes', Uint8Array.from([0x08, ...new Array(11).fill(0xff), 0x01]),
      /malformed \(a varint longer than 10 bytes\)/],
    ['external data', externalDataModel(), /tensor "fc.weight" keeps its data in an external file/],
  ];
  for (const [what, bytes, pattern] of cases) {
    it(`${what}: audit refuses it naming the problem`, () => {
      const file = path.join(dir, `${what.replace(/\W+/g, '-')}.onnx`);
      fs.writeFileSync(file, bytes);
      assertCleanFailure(runCli(['audit', '--model', file]), pattern);
      assert.throws(() => importOnnx(bytes, 'x'), InputError);
    });
  }

  it('study: an ONNX model is refused before any work (the study covers chain presets only)', () => {
    const r = runCli(['study', '--models', path.join(ONNX, 'mlp.onnx'), '--out', path.join(dir, 'study')]);
    assertCleanFailure(r, /mlp\.onnx" is a model file, which the study does not cover yet/);
  });

  it('opset below 13 is refused with the export option to use', () => {
    const old = Uint8Array.from([...intField(1, 7), ...bytesField(8, intField(2, 11)), ...bytesField(7, [])]);
    assert.throws(() => importOnnx(old, 'old'), /opset 11; gradleak reads ONNX opset 13 or later/);
  });
});

describe('ONNX through the CLI: the same model as an ONNX file and as a spec gives the same results', () => {
  const spec = (name: string) => ['--model', path.join(GRAPHS, name, 'model.json'),
    '--weights', path.join(GRAPHS, name, 'weights.safetensors')];
  const onnx = (name: string) => ['--model', path.join(ONNX, `${name}.onnx`)];

  it('audit --json: identical output but for the wall time (mlp)', () => {
    const [a, b] = [onnx('mlp'), spec('mlp')].map((m) => {
      const r = runCli(['audit', ...m, '--json']);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.ok(j.seconds > 0 && j.layers.length === 3);
      delete j.seconds;
      return JSON.stringify(j);
    });
    assert.equal(a, b);
  });

  it('attack --method rgap: the same result.json and PNG bytes (lenet_zhu, conv chain)', () => {
    const dir = tmpDir('onnx-rgap');
    const [a, b] = [onnx('lenet_zhu'), spec('lenet_zhu')].map((m, i) => {
      const out = path.join(dir, String(i));
      const r = runCli(['attack', '--method', 'rgap', ...m, '--image', 'samples/hills.png', '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      return ['result.json', 'reconstruction.png'].map((f) => fs.readFileSync(path.join(out, f)));
    });
    assert.ok(JSON.parse(a[0].toString()).psnr > 0);
    assert.deepEqual(a, b);
  });

  it('simulate writes gradients and weights under the initializer names, and reads them back', () => {
    const dir = tmpDir('onnx-simulate');
    const [grads, weights] = [path.join(dir, 'g.safetensors'), path.join(dir, 'w.safetensors')];
    const model = onnx('convnet_bn_folded');
    const image = ['--image', 'samples/hills.png'];
    const r = runCli(['simulate', ...model, ...image, '--out', grads, '--save-weights', weights]);
    assert.equal(r.status, 0, r.stderr);
    const g = load(path.join(ONNX, 'convnet_bn_folded.onnx'));
    assert.deepEqual([...read(grads).keys()], g.params.filter((p) => p.trainable).map(fileName));
    assert.ok([...read(grads).keys()].includes('onnx::Conv_39'));
    const w = read(weights);
    for (const p of g.params) assert.deepEqual(w.get(fileName(p))!.data, g.weights!.get(p.name), p.name);
    // a weights file overrides the initializers: the saved ones give the same bytes, changed ones do not
    const simulate = (file: string) => {
      const out = path.join(dir, `from-${path.basename(file)}`);
      const s = runCli(['simulate', ...model, '--weights', file, ...image, '--out', out]);
      assert.equal(s.status, 0, s.stderr);
      return fs.readFileSync(out);
    };
    assert.deepEqual(simulate(weights), fs.readFileSync(grads));
    const changed = path.join(dir, 'changed.safetensors');
    w.get('onnx::Conv_40')!.data[0] += 0.5;
    fs.writeFileSync(changed, serializeSafetensors([...w]));
    assert.notDeepEqual(simulate(changed), fs.readFileSync(grads));
  });
});

describe('ONNX hostile bytes: only one-line input errors', () => {
  const base = new Uint8Array(fs.readFileSync(path.join(ONNX, 'resnet8.onnx')));
  const outcome = (bytes: Uint8Array): 'ok' | 'refused' => {
    try {
      importOnnx(bytes, 'm');
      return 'ok';
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      assert.ok(!e.message.includes('\n') && e.message.startsWith('model m: '), e.message);
      return 'refused';
    }
  };

  it('every truncation (at 400 points) is refused', () => {
    for (let k = 0; k < 400; k++) {
      const cut = base.subarray(0, Math.floor((k / 400) * base.length));
      assert.equal(outcome(cut), 'refused', `cut at ${k}/400`);
    }
  });

  it('1000 seeded mutations of 1 to 4 bytes are imported or refused, never an internal error', () => {
    let s = 12345;
    const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const seen = { ok: 0, refused: 0 };
    for (let i = 0; i < 1000; i++) {
      const b = base.slice();
      // mostly the structure (the first 20 kB: graph, nodes, attributes), sometimes anywhere
      for (let j = 0, n = 1 + Math.floor(next() * 4); j < n; j++) {
        b[Math.floor(next() * (next() < 0.8 ? 20000 : b.length))] = Math.floor(next() * 256);
      }
      seen[outcome(b)]++;
    }
    assert.ok(seen.ok > 100 && seen.refused > 100, JSON.stringify(seen));
  });
});
