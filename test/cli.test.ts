import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseSafetensors, serializeSafetensors, type NamedTensor } from '../src/formats/safetensors.js';
import { expectCleanFailure, REFERENCE, ROOT, runCli, tmpDir } from './helpers.js';

const FIX = path.join(REFERENCE, 'cnn2_c2-chelsea');
const SAMPLE = path.join(ROOT, 'samples/hills.png');

function rewrite(file: string, edit: (t: Map<string, NamedTensor>) => void, to: string): string {
  const t = parseSafetensors(new Uint8Array(fs.readFileSync(file)));
  edit(t);
  fs.writeFileSync(to, serializeSafetensors([...t.entries()]));
  return to;
}

describe('CLI: bad input gives one clear line and exit 2', () => {
  const dir = tmpDir('bad');
  const out = path.join(dir, 'out');
  const attack = (extra: string[]) => ['attack', '--method', 'rgap', ...extra];
  const fixtureArgs = ['--model', path.join(FIX, 'model.json'), '--weights', path.join(FIX, 'weights.safetensors')];

  it('malformed spec (invalid JSON)', () => {
    fs.writeFileSync(path.join(dir, 'bad.json'), '{"name": "x", "input": [3, 32');
    expectCleanFailure(attack(['--model', path.join(dir, 'bad.json'), '--image', SAMPLE]), /invalid JSON/, out);
  });
  it('malformed spec (unknown activation)', () => {
    fs.writeFileSync(path.join(dir, 'act.json'), JSON.stringify({ input: [3, 32, 32], layers: [{ type: 'conv', out: 2, kernel: 3, activation: 'swish' }, { type: 'linear', out: 10 }] }));
    expectCleanFailure(attack(['--model', path.join(dir, 'act.json'), '--image', SAMPLE]), /unknown activation "swish"/, out);
  });
  it('spec / safetensors shape mismatch', () => {
    expectCleanFailure(attack(['--model', 'cnn2_c1', '--weights', path.join(FIX, 'weights.safetensors'), '--image', SAMPLE]), /layers\.0\.weight has shape \[6, 3, 4, 4\], the model needs \[6, 3, 3, 3\]/, out);
  });
  it('missing tensor', () => {
    const f = rewrite(path.join(FIX, 'gradients.safetensors'), (t) => t.delete('layers.1.bias'), path.join(dir, 'missing.safetensors'));
    expectCleanFailure(attack([...fixtureArgs, '--gradients', f]), /missing tensor layers\.1\.bias/, out);
  });
  it('truncated safetensors', () => {
    const b = fs.readFileSync(path.join(FIX, 'gradients.safetensors'));
    fs.writeFileSync(path.join(dir, 'trunc.safetensors'), b.subarray(0, b.length - 100));
    expectCleanFailure(attack([...fixtureArgs, '--gradients', path.join(dir, 'trunc.safetensors')]), /truncated/, out);
  });
  it('corrupt safetensors header', () => {
    const b = Buffer.from(fs.readFileSync(path.join(FIX, 'gradients.safetensors')));
    b.write('%%%%', 8);
    fs.writeFileSync(path.join(dir, 'corrupt.safetensors'), b);
    expectCleanFailure(attack([...fixtureArgs, '--gradients', path.join(dir, 'corrupt.safetensors')]), /header is not valid JSON/, out);
  });
  it('corrupt image', () => {
    const b = Buffer.from(fs.readFileSync(SAMPLE));
    for (let i = 40; i < b.length; i += 3) b[i] ^= 0x5a;
    fs.writeFileSync(path.join(dir, 'corrupt.png'), b);
    expectCleanFailure(attack(['--model', 'cnn2_c1', '--image', path.join(dir, 'corrupt.png')]), /corrupt or truncated PNG/, out);
  });
  it('truncated image', () => {
    const b = fs.readFileSync(SAMPLE);
    fs.writeFileSync(path.join(dir, 'trunc.png'), b.subarray(0, b.length / 2));
    expectCleanFailure(attack(['--model', 'cnn2_c1', '--image', path.join(dir, 'trunc.png')]), /corrupt or truncated PNG/, out);
  });
  it('not an image at all', () => {
    fs.writeFileSync(path.join(dir, 'text.png'), 'hello');
    expectCleanFailure(attack(['--model', 'cnn2_c1', '--image', path.join(dir, 'text.png')]), /not a PNG or JPEG/, out);
  });
  it('NaN in the gradients', () => {
    const f = rewrite(path.join(FIX, 'gradients.safetensors'), (t) => { t.get('layers.0.weight')!.data[5] = NaN; }, path.join(dir, 'nan.safetensors'));
    expectCleanFailure(attack([...fixtureArgs, '--gradients', f]), /layers\.0\.weight contains a non-finite value \(NaN\)/, out);
  });
  it('infinite value in the gradients', () => {
    const f = rewrite(path.join(FIX, 'gradients.safetensors'), (t) => { t.get('layers.1.bias')!.data[0] = Infinity; }, path.join(dir, 'inf.safetensors'));
    expectCleanFailure(attack([...fixtureArgs, '--gradients', f]), /non-finite value \(Infinity\)/, out);
  });
  it('activation values outside the invertible range', () => {
    // scaling dL/dW of the last layer scales the recovered tanh outputs far beyond ±1
    const f = rewrite(path.join(FIX, 'gradients.safetensors'), (t) => { const w = t.get('layers.1.weight')!.data; for (let i = 0; i < w.length; i++) w[i] *= 50; }, path.join(dir, 'range.safetensors'));
    expectCleanFailure(attack([...fixtureArgs, '--gradients', f]), /outside its range \(-1, 1\)/, out);
  });
  it('label out of range', () => {
    expectCleanFailure(attack(['--model', 'cnn2_c1', '--image', SAMPLE, '--label', '10']), /label must be an integer in 0\.\.9/, out);
  });
  it('unknown option and unknown preset', () => {
    expectCleanFailure(attack(['--model', 'cnn2_c1', '--image', SAMPLE, '--bogus']), /attack does not take "--bogus"/, out);
    expectCleanFailure(attack(['--model', 'nosuchnet', '--image', SAMPLE]), /unknown model "nosuchnet"/, out);
  });
  it('copa refuses ReLU (its pull-back divides by the derivative), naming the layer', () => {
    fs.writeFileSync(path.join(dir, 'relu.json'), JSON.stringify({ input: [3, 32, 32], layers: [{ type: 'conv', out: 4, kernel: 3, activation: 'relu' }, { type: 'linear', out: 10 }] }));
    expectCleanFailure(['attack', '--method', 'copa', '--model', path.join(dir, 'relu.json'), '--image', SAMPLE], /relu \(layer 0\) makes zero on inactive units; use hybrid/, out);
  });
});

describe('CLI: outputs', () => {
  it('attack is deterministic: same inputs, same result.json and PNG bytes', () => {
    const a = tmpDir('det-a'), b = tmpDir('det-b');
    for (const d of [a, b]) {
      const r = runCli(['attack', '--method', 'rgap', '--model', 'cnn3_c1', '--seed', '4', '--image', SAMPLE, '--label', '2', '--out', d]);
      assert.equal(r.status, 0, r.stderr);
    }
    for (const f of ['result.json', 'reconstruction.png']) assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), f);
  });

  it('attack --json prints the result with seconds; metrics against the client image', () => {
    const d = tmpDir('json');
    const r = runCli(['attack', '--method', 'rgap', '--model', 'cnn2_c1', '--image', SAMPLE, '--label', '7', '--out', d, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    for (const k of ['method', 'label', 'labelInferred', 'mse', 'psnr', 'ssim', 'seconds', 'layers']) assert.ok(k in j, k);
    assert.equal(j.label, 7);
    assert.equal(j.labelInferred, false);
    assert.ok(j.psnr > 60 && j.ssim > 0.999);
    const saved = JSON.parse(fs.readFileSync(path.join(d, 'result.json'), 'utf8'));
    assert.deepEqual({ ...saved, seconds: j.seconds }, j);
  });

  it('simulate writes gradients that attack reads back, inferring the label', () => {
    const d = tmpDir('sim');
    const g = path.join(d, 'g.safetensors'), w = path.join(d, 'w.safetensors');
    let r = runCli(['simulate', '--model', 'cnn2_c1', '--seed', '3', '--image', SAMPLE, '--label', '5', '--out', g, '--save-weights', w]);
    assert.equal(r.status, 0, r.stderr);
    r = runCli(['attack', '--model', 'cnn2_c1', '--weights', w, '--gradients', g, '--target', SAMPLE, '--out', path.join(d, 'o'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.label, 5);
    assert.equal(j.labelInferred, true);
    assert.ok(j.psnr > 60, `psnr ${j.psnr}`);
  });

  it('audit --json reproduces the reference index from its gradients', () => {
    const r = runCli(['audit', '--model', path.join(FIX, 'model.json'), '--weights', path.join(FIX, 'weights.safetensors'), '--gradients', path.join(FIX, 'gradients.safetensors'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.copaIndex, -1470);
    assert.equal(j.layers[0].rankDeficiency, -1470);
    assert.equal(j.label, 3);
    assert.equal(j.labelInferred, true);
    for (const k of ['index', 'type', 'unknowns', 'weightConstraints', 'gradientConstraints', 'paddingConstraints', 'rank', 'rankDeficiency', 'structuralRank', 'condition']) assert.ok(k in j.layers[0], k);
    assert.equal(typeof j.seconds, 'number');
  });

  it('demo writes its side-by-side image', () => {
    const d = tmpDir('demo');
    const r = runCli(['demo', '--model', 'cnn2_c1', '--out', d]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /wrote .*demo\.png/);
    const png = fs.readFileSync(path.join(d, 'demo.png'));
    assert.equal(png.readUInt32BE(16), 2 * 256 + 3 * 8); // width: two 32-px images at 8×, three gaps
  });
});
