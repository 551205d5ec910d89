import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../src/core/errors.js';
import { parseSafetensors, type NamedTensor } from '../src/formats/safetensors.js';
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

  it('opset below 13 is refused with the export option to use', () => {
    const old = Uint8Array.from([...intField(1, 7), ...bytesField(8, intField(2, 11)), ...bytesField(7, [])]);
    assert.throws(() => importOnnx(old, 'old'), /opset 11; gradleak reads ONNX opset 13 or later/);
  });
});
