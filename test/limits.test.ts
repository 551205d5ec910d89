import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../src/core/errors.js';
import { solveLayer } from '../src/solve/layersolve.js';
import { Rng } from '../src/core/rng.js';
import { buildModel } from '../src/model/chain-spec.js';
import { buildLayerSystem } from '../src/solve/system.js';
import { parseSafetensors, serializeSafetensors } from '../src/formats/safetensors.js';
import { decodeImage } from '../src/formats/image.js';
import { bombPng, encodeJpeg, hugeHeaderPng, jpegWithDeclaredSize } from './fuzz/png.js';
import { expectCleanFailure, REFERENCE, ROOT, tmpDir } from './helpers.js';

const SAMPLE = path.join(ROOT, 'samples/hills.png');
const FIX = path.join(REFERENCE, 'cnn2_c2-chelsea');
const fixtureArgs = ['--model', path.join(FIX, 'model.json'), '--weights', path.join(FIX, 'weights.safetensors')];

/** safetensors bytes from a header (object or raw JSON text) and a data section. */
function safetensors(header: object | string, data: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}
const f64 = (n: number) => new Uint8Array(8 * n);

describe('memory ceiling', () => {
  const dir = tmpDir('mem');
  const out = path.join(dir, 'out');
  it('refuses a 1024×1024 input before allocating, naming the estimate and the ceiling', () => {
    const spec = path.join(dir, 'big.json');
    fs.writeFileSync(spec, JSON.stringify({ name: 'big', input: [3, 1024, 1024], layers: [{ type: 'conv', out: 6, kernel: 3, activation: 'tanh' }, { type: 'linear', out: 10 }] }));
    const r = expectCleanFailure(['attack', '--model', spec, '--image', SAMPLE], /rgap on big needs an estimated 1\d\d GiB of memory \(largest part: the layer systems .*\), above the [\d.]+ [GM]iB ceiling; raise it with --max-memory/, out);
    assert.ok(r.stderr.length < 400);
  });
  it('--max-memory lowers (and raises) the ceiling', () => {
    const spec = path.join(dir, 'wide.json');
    // 100 000 classes on a 3×32×32 input: 307 million weights, 2.3 GiB per copy
    fs.writeFileSync(spec, JSON.stringify({ name: 'wide', input: [3, 32, 32], layers: [{ type: 'linear', out: 100000 }] }));
    expectCleanFailure(['simulate', '--model', spec, '--image', SAMPLE, '--max-memory', '4G'], /simulating wide needs an estimated [\d.]+ GiB .* above the 4\.0 GiB ceiling/, path.join(out, 'g.safetensors'));
    expectCleanFailure(['attack', '--model', 'cnn3_c1', '--image', SAMPLE, '--max-memory', '20M'], /above the 20\.0 MiB ceiling/, out);
  });
  it('the solver checks its dense fallback against the ceiling when it takes it', () => {
    const model = buildModel({ name: 't', input: [3, 12, 12], layers: [
      { type: 'conv', out: 12, kernel: 3, stride: 2, padding: 1, bias: false, activation: 'tanh' }, { type: 'linear', out: 3, bias: true, activation: 'identity' }] });
    const g = model.layers[0];
    const rng = new Rng(1);
    const rand = (n: number) => Float64Array.from({ length: n }, () => rng.normal());
    const nz = g.outC * g.outH * g.outW, nw = g.outC * g.inC * 9;
    const sys = buildLayerSystem(g, { weight: rand(nw), bias: null, z: rand(nz), dz: rand(nz), dW: rand(nw) });
    assert.throws(() => solveLayer(sys, { tol: 1e-10, path: 'dense', maxBytes: 64 * 1024 }),
      (e: Error) => e instanceof InputError && /layer 0's system \(912 rows × 588 unknowns\) needs 2\.6 MiB for a dense fallback .* above the 64\.0 KiB memory ceiling/.test(e.message));
    assert.equal(solveLayer(sys, { tol: 1e-10, path: 'dense', maxBytes: 64 * 2 ** 20 }).path, 'dense');
  });
});

describe('bounded reads', () => {
  const dir = tmpDir('reads');
  const out = path.join(dir, 'out');
  it('devices are refused, never read', () => {
    for (const [opt, extra] of [['--image', []], ['--target', ['--image', SAMPLE]], ['--weights', ['--image', SAMPLE]], ['--gradients', []]] as const) {
      expectCleanFailure(['attack', '--model', 'cnn2_c1', ...extra, opt, '/dev/zero'], /\/dev\/zero: not a regular file \(a device, pipe or socket\)/, out);
    }
    expectCleanFailure(['attack', '--model', '/dev/zero', '--image', SAMPLE], /model spec \/dev\/zero: not a regular file/, out);
  });
  it('a FIFO is refused without blocking', () => {
    const fifo = path.join(dir, 'pipe.safetensors');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    expectCleanFailure(['attack', ...fixtureArgs.slice(0, 2), '--weights', fifo, '--image', SAMPLE], /pipe\.safetensors: not a regular file/, out);
  });
  it('a file larger than its kind allows is refused from its size, unread', () => {
    const big = path.join(dir, 'big.png');
    fs.closeSync(fs.openSync(big, 'w'));
    fs.truncateSync(big, 100 * 2 ** 20); // sparse: no disk used
    expectCleanFailure(['attack', '--model', 'cnn2_c1', '--image', big], /big\.png: 100 MiB, more than the 64\.0 MiB a image file may have/, out);
  });
  it('files that report size 0 are still read within the cap (/proc)', () => {
    expectCleanFailure(['attack', '--model', '/proc/self/status', '--image', SAMPLE], /model spec \/proc\/self\/status: invalid JSON/, out);
  });
  it('a folder is not a file', () => {
    expectCleanFailure(['attack', ...fixtureArgs.slice(0, 2), '--weights', dir, '--image', SAMPLE], /: is a directory/, out);
  });
});

describe('image decoders are bounded', () => {
  const dir = tmpDir('img');
  const out = path.join(dir, 'out');
  const write = (name: string, bytes: Uint8Array) => { const f = path.join(dir, name); fs.writeFileSync(f, bytes); return f; };
  it('a 32×32 PNG whose data inflates to 100 MB is refused after inflating little', () => {
    const bomb = bombPng(100 * 2 ** 20);
    assert.ok(bomb.length < 200_000);
    const t0 = performance.now();
    assert.throws(() => decodeImage(bomb, 'bomb'), /bomb: compressed data expands beyond 3\.0 KiB, more than its header declares/);
    assert.ok(performance.now() - t0 < 5000);
    expectCleanFailure(['attack', '--model', 'cnn2_c1', '--image', write('bomb.png', bomb)], /expands beyond 3\.0 KiB/, out);
  });
  it('a PNG declaring 100000×100000 pixels is refused from its header', () => {
    const huge = hugeHeaderPng(100000, 100000);
    expectCleanFailure(['attack', '--model', 'cnn2_c1', '--image', write('huge.png', huge)], /PNG declares 100000×100000 pixels, more than the 16777216/, out);
  });
  it('a PNG with a damaged checksum is refused', () => {
    const b = Buffer.from(fs.readFileSync(SAMPLE));
    b[b.indexOf('IDAT') + 6] ^= 0x01; // a byte of the compressed data: the CRC no longer matches
    expectCleanFailure(['attack', '--model', 'cnn2_c1', '--image', write('crc.png', b)], /corrupt or truncated PNG/, out);
  });
  it('a JPEG declaring 60000×60000 pixels is refused', () => {
    const huge = jpegWithDeclaredSize(encodeJpeg(8, 8), 60000, 60000);
    expectCleanFailure(['attack', '--model', 'cnn2_c1', '--image', write('huge.jpg', huge)], /corrupt, truncated or oversized JPEG \(maxResolutionInMP limit exceeded/, out);
  });
});

describe('model specs are bounded', () => {
  const dir = tmpDir('spec');
  const out = path.join(dir, 'out');
  const layer = { type: 'conv', out: 4, kernel: 3, activation: 'tanh' };
  const cases: [string, object, RegExp][] = [
    ['padding 1e9', { input: [3, 32, 32], layers: [{ ...layer, padding: 1e9 }, { type: 'linear', out: 10 }] }, /"padding" must be an integer from 0 to 1024/],
    ['input 1e20', { input: [3, 1e20, 32], layers: [{ type: 'linear', out: 10 }] }, /"input" must be \[C, H, W\]/],
    ['a linear layer of 1e6 outputs', { input: [3, 32, 32], layers: [{ type: 'linear', out: 1e6 }] }, /its weight would have 3\.07e\+9 values, more than one array can hold/],
    ['leaky_relu slope 1e308', { input: [3, 32, 32], layers: [{ ...layer, activation: 'leaky_relu', slope: 1e308 }, { type: 'linear', out: 10 }] }, /"slope" must be a number from 0\.000001 to 1, got 1e\+308/],
    ['an unsupported field', { input: [3, 32, 32], layers: [{ ...layer, dilation: 2 }, { type: 'linear', out: 10 }] }, /unknown field "dilation"/],
    ['an activation nested 100 000 deep', { input: [3, 32, 32], layers: [{ ...layer, activation: 'NEST' }, { type: 'linear', out: 10 }] }, /unknown activation an array/],
  ];
  for (const [title, spec, pattern] of cases) {
    it(title, () => {
      const f = path.join(dir, `${title.replace(/\W+/g, '_')}.json`);
      fs.writeFileSync(f, JSON.stringify(spec).replace('"NEST"', '['.repeat(100000) + ']'.repeat(100000)));
      expectCleanFailure(['attack', '--model', f, '--image', SAMPLE], pattern, out);
    });
  }
});

describe('strict safetensors', () => {
  it('reads I64 (PyTorch\'s num_batches_tracked) beside float tensors', () => {
    const i64 = new Uint8Array(8);
    new DataView(i64.buffer).setBigInt64(0, 123456789012n, true);
    const bytes = safetensors({
      'bn.weight': { dtype: 'F64', shape: [1], data_offsets: [0, 8] },
      'bn.num_batches_tracked': { dtype: 'I64', shape: [], data_offsets: [8, 16] },
    }, Uint8Array.from([...f64(1), ...i64]));
    const t = parseSafetensors(bytes);
    assert.deepEqual(Array.from(t.get('bn.num_batches_tracked')!.data), [123456789012]);
  });
  const t = (offsets: [number, number]) => ({ dtype: 'F64', shape: [(offsets[1] - offsets[0]) / 8], data_offsets: offsets });
  const cases: [string, Uint8Array, RegExp][] = [
    ['overlapping offsets', safetensors({ a: t([0, 16]), b: t([8, 24]) }, f64(3)), /data_offsets \[8, 24\] overlap another tensor's bytes/],
    ['aliased offsets (two names, the same bytes)', safetensors({ a: t([0, 16]), b: t([0, 16]) }, f64(2)), /overlap another tensor's bytes/],
    ['a gap between tensors', safetensors({ a: t([0, 8]), b: t([16, 24]) }, f64(3)), /leave 8 unused bytes before it \(at 8\)/],
    ['data not starting at 0', safetensors({ a: t([8, 16]) }, f64(2)), /leave 8 unused bytes before it \(at 0\)/],
    ['trailing bytes', safetensors({ a: t([0, 8]) }, f64(2)), /8 bytes after the last tensor's data are not part of any tensor/],
    ['out-of-range offsets', safetensors({ a: t([0, 800]) }, f64(2)), /data runs past the end of the file/],
    ['a duplicate name', safetensors('{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"a":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}', f64(2)), /tensor name "a" appears twice/],
    ['an unsupported dtype', safetensors({ a: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } }, f64(1)), /unsupported dtype "I32"/],
    ['a prototype name as dtype', safetensors({ a: { dtype: 'constructor', shape: [1], data_offsets: [0, 8] } }, f64(1)), /unsupported dtype "constructor"/],
  ];
  for (const [title, bytes, pattern] of cases) {
    it(`refuses ${title}`, () => assert.throws(() => parseSafetensors(bytes), (e: Error) => e instanceof InputError && pattern.test(e.message)));
  }
  it('accepts what it writes, names with escapes and empty tensors included', () => {
    const bytes = serializeSafetensors([['w "q"', { shape: [2], data: Float64Array.of(1, 2) }], ['e', { shape: [0], data: new Float64Array(0) }], ['b', { shape: [1], data: Float64Array.of(3) }]]);
    assert.deepEqual([...parseSafetensors(bytes).keys()], ['w "q"', 'e', 'b']);
  });

  const dir = tmpDir('st');
  const out = path.join(dir, 'out');
  const rewrite = (file: string, edit: (m: Map<string, { shape: number[]; data: Float64Array }>) => void) => {
    const m = parseSafetensors(new Uint8Array(fs.readFileSync(path.join(FIX, file))));
    edit(m);
    const f = path.join(dir, `edited-${file}`);
    fs.writeFileSync(f, serializeSafetensors([...m.entries()]));
    return f;
  };
  it('refuses a weight of −1e37, saying why (it used to run 87 s and report −418 dB)', () => {
    const w = rewrite('weights.safetensors', (m) => { m.get('layers.0.weight')!.data[5] = -1e37; });
    expectCleanFailure(['attack', '--model', path.join(FIX, 'model.json'), '--weights', w, '--gradients', path.join(FIX, 'gradients.safetensors')],
      /layers\.0\.weight\[5\] is -1e\+37; parameters of 10000 or more saturate every smooth activation/, out);
  });
  it('refuses gradients of absurd magnitude', () => {
    const g = rewrite('gradients.safetensors', (m) => { m.get('layers.1.bias')!.data[2] = 3e12; });
    expectCleanFailure(['attack', ...fixtureArgs, '--gradients', g], /layers\.1\.bias\[2\] is 3000000000000; .* this is not a gradient of this model/, out);
  });
});
