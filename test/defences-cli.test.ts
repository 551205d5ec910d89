import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gaussianEpsilon } from '../src/defences/accounting.js';
import { parseSafetensorsFile } from '../src/formats/safetensors.js';
import { assertCleanFailure, ROOT, runCli, tmpDir } from './helpers.js';

const SAMPLE = path.join(ROOT, 'samples/hills.png');
const client = ['--model', 'cnn2_c1', '--image', SAMPLE, '--label', '3'];

describe('CLI: simulate --defence writes a declared update; attack reads it', () => {
  const dir = tmpDir('defence');
  const g = path.join(dir, 'g.safetensors');

  it('simulate declares the chain in the file and prints ε; same seed, same bytes', () => {
    const r = runCli(['simulate', ...client, '--defence', 'prune:0.9', '--defence', 'noise:z=1.0,clip=1', '--out', g]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /defences prune:p=0\.9 then noise:z=1,clip=1,per=example,delta=0\.00001,rounds=1; ε = 4\.377 at δ = 0\.00001/);
    const { metadata, tensors } = parseSafetensorsFile(new Uint8Array(fs.readFileSync(g)));
    assert.deepEqual(JSON.parse(metadata.defences), [
      { name: 'prune', params: { p: 0.9 } },
      { name: 'noise', params: { z: 1, clip: 1, per: 'example', delta: 1e-5, rounds: 1 } },
    ]);
    assert.equal(metadata.update, undefined);
    assert.equal(tensors.size, 3);
    const again = path.join(dir, 'g2.safetensors');
    assert.equal(runCli(['simulate', ...client, '--defence', 'prune:0.9', '--defence', 'noise:z=1.0,clip=1', '--out', again]).status, 0);
    assert.deepEqual(fs.readFileSync(again), fs.readFileSync(g));
    const seeded = path.join(dir, 'g3.safetensors');
    assert.equal(runCli(['simulate', ...client, '--seed', '1', '--defence', 'noise:1', '--out', seeded]).status, 0);
    assert.notDeepEqual(fs.readFileSync(seeded), fs.readFileSync(g));
  });
  it('attack reports the defences and ε for the δ used', () => {
    const out = path.join(dir, 'a');
    const r = runCli(['attack', '--method', 'rgap', '--model', 'cnn2_c1', '--gradients', g, '--label', '3', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /attacked naively/);
    const res = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
    assert.deepEqual(res.defences.map((d: { name: string }) => d.name), ['prune', 'noise']);
    assert.equal(res.privacy.delta, 1e-5);
    assert.equal(res.privacy.epsilon, gaussianEpsilon(1e-5, 1));
  });
  it('an attack that refuses a defended update says the update is defended', () => {
    const lenet = path.join(dir, 'lenet.safetensors');
    const args = ['--model', 'lenet_zhu', '--image', SAMPLE, '--label', '3', '--defence', 'prune:0.9', '--defence', 'noise:1'];
    assert.equal(runCli(['simulate', ...args, '--out', lenet]).status, 0);
    const out = path.join(dir, 'refused');
    assertCleanFailure(runCli(['attack', '--method', 'rgap', '--model', 'lenet_zhu', '--gradients', lenet, '--out', out]),
      /outside its range .* \(the update is defended by prune, noise, which this naive attack takes as plain gradients\)$/);
    assert.ok(!fs.existsSync(out) || fs.readdirSync(out).length === 0);
  });
  it('attack --image --defence fedavg plays a training client; the file of simulate is a declared delta', () => {
    const out = path.join(dir, 'f');
    const r = runCli(['attack', '--method', 'rgap', ...client, '--defence', 'fedavg:steps=2,lr=0.1', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
    assert.deepEqual(res.defences, [{ name: 'fedavg', params: { steps: 2, lr: 0.1 } }]);
    assert.equal(res.privacy, undefined);
    const d = path.join(dir, 'd.safetensors');
    assert.equal(runCli(['simulate', ...client, '--defence', 'fedavg:steps=2,lr=0.1', '--out', d]).status, 0);
    const { metadata } = parseSafetensorsFile(new Uint8Array(fs.readFileSync(d)));
    assert.equal(metadata.update, 'delta');
    assert.equal(metadata.steps, '2');
    assert.equal(metadata.lr, '0.1');
  });
  it('an undefended simulate writes the metadata it always did', () => {
    const p = path.join(dir, 'plain.safetensors');
    assert.equal(runCli(['simulate', ...client, '--out', p]).status, 0);
    assert.deepEqual(Object.keys(parseSafetensorsFile(new Uint8Array(fs.readFileSync(p))).metadata), ['model', 'batch', 'bn-mode']);
  });
  it('bad defence specs: one line, exit 2, nothing written', () => {
    const out = path.join(dir, 'bad.safetensors');
    const cases: [string[], RegExp][] = [
      [['--defence', 'prune:abc'], /defence "prune:abc": p must be a number, got "abc"/],
      [['--defence', 'noise:z=-1'], /z must be above 0/],
      [['--defence', 'fedavg:1', '--defence', 'fedavg:2'], /fedavg may appear only once/],
      [['--defence', 'prune:0.5', '--population', 'samples'], /--population goes with --defence secagg:K/],
      [['--defence', 'secagg:9'], /needs 8 image\(s\) for the other clients, it has 5/],
    ];
    for (const [extra, re] of cases) {
      assertCleanFailure(runCli(['simulate', ...client, ...extra, '--out', out]), re);
      assert.ok(!fs.existsSync(out));
    }
    const a = path.join(dir, 'none');
    assertCleanFailure(runCli(['attack', '--model', 'cnn2_c1', '--gradients', g, '--defence', 'prune:0.5', '--out', a]),
      /--defence goes with --image/);
    assert.ok(!fs.existsSync(a) || fs.readdirSync(a).length === 0);
  });
});
