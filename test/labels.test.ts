import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { inferLabel } from '../src/attacks/layerwise/label.js';
import { Rng } from '../src/core/rng.js';
import type { LayerSpec } from '../src/model/chain-spec.js';
import { chainCase, ROOT, runCli, tmpDir } from './helpers.js';

/** A model ending in `last` on a 2×6×6 input, its seeded weights and a random image. */
function setup(last: LayerSpec) {
  const c = chainCase({ name: 't', input: [2, 6, 6], layers: [{ type: 'conv', out: 3, kernel: 3, stride: 1, padding: 0, bias: false, activation: 'tanh' }, last] }, 5);
  const rng = new Rng(9);
  const x = Float64Array.from({ length: 72 }, () => rng.uniform() - 0.5);
  const gradients = (label: number) => c.client(x, label).layers;
  return { model: c.model, gradients, geometry: c.model.layers[1] };
}

describe('label inference for any last layer', () => {
  it('a convolution with a 1×1 output and a bias: every label, exactly', () => {
    const { model, gradients, geometry } = setup({ type: 'conv', out: 7, kernel: 4, stride: 1, padding: 0, bias: true, activation: 'identity' });
    assert.equal(model.classes, 7);
    for (let label = 0; label < 7; label++) {
      assert.deepEqual(inferLabel(geometry, gradients(label)[1]), { label, ambiguous: false });
    }
  });
  it('a convolution with 2×2 positions per channel: the channel exactly, the position reported as ambiguous', () => {
    const { model, gradients, geometry } = setup({ type: 'conv', out: 3, kernel: 3, stride: 1, padding: 0, bias: true, activation: 'identity' });
    assert.equal(model.classes, 12);
    for (let label = 0; label < 12; label++) {
      const guess = inferLabel(geometry, gradients(label)[1]);
      const channel = Math.floor(label / 4);
      assert.equal(guess.label, channel * 4, `label ${label}`);
      assert.equal(guess.ambiguous, true);
      assert.equal(guess.reason, `the last layer is a convolution with 4 positions per channel: its bias gradient singles out channel ${channel} but not the position in it`);
    }
  });
  it('a convolution with several positions and no bias: ambiguous', () => {
    const { model, gradients, geometry } = setup({ type: 'conv', out: 3, kernel: 3, stride: 1, padding: 0, bias: false, activation: 'identity' });
    assert.equal(inferLabel(geometry, gradients(5)[1]).ambiguous, true);
  });
  it('two classes without a bias: ambiguous whichever the label (the rows are opposite either way)', () => {
    const { model, gradients, geometry } = setup({ type: 'linear', out: 2, bias: false, activation: 'identity' });
    for (const label of [0, 1]) {
      const g = gradients(label)[1];
      const rows = [g.weight.subarray(0, 48), g.weight.subarray(48)];
      assert.ok(rows[0].reduce((s, v, k) => s + v * rows[1][k], 0) < 0, 'the two rows point in opposite directions');
      assert.deepEqual(inferLabel(geometry, g), { label: 0, ambiguous: true, reason: 'with two classes and no bias, the two gradient rows are opposite whichever the label is' });
    }
  });
  it('two classes with a bias: exact', () => {
    const { model, gradients, geometry } = setup({ type: 'linear', out: 2, bias: true, activation: 'identity' });
    for (const label of [0, 1]) assert.deepEqual(inferLabel(geometry, gradients(label)[1]), { label, ambiguous: false });
  });
  it('the CLI reports labelAmbiguous with a warning line', () => {
    const d = tmpDir('label');
    const spec = path.join(d, 'convlast.json');
    fs.writeFileSync(spec, JSON.stringify({ name: 'convlast', input: [3, 32, 32], layers: [
      { type: 'conv', out: 4, kernel: 5, stride: 3, bias: false, activation: 'tanh' }, { type: 'conv', out: 5, kernel: 8, stride: 1, bias: true, activation: 'identity' }] }));
    const r = runCli(['attack', '--method', 'ig', '--iterations', '5', '--model', spec, '--image', path.join(ROOT, 'samples/hills.png'), '--out', path.join(d, 'out')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^warning: label inference is ambiguous: the last layer is a convolution with 9 positions per channel: its bias gradient singles out channel 0 but not the position in it; using 0 \(give --label if you know it\)$/m);
    const result = JSON.parse(fs.readFileSync(path.join(d, 'out/result.json'), 'utf8'));
    assert.deepEqual([result.label, result.labelInferred, result.labelAmbiguous], [0, true, true]); // the client's label 0 (--label is withheld)
  });
});
