import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audit } from '../src/core/audit.js';
import { rgap } from '../src/core/attacks/rgap.js';
import { DEFAULT_RANK_TOL } from '../src/core/layersolve.js';
import { psnr } from '../src/core/metrics.js';
import { REFERENCE_NORMALISATION, toUnitRange } from '../src/formats/image.js';
import { fixtureNames, loadFixture } from './helpers.js';

const names = fixtureNames();

describe('reference fixtures (authors\' implementation)', () => {
  it('has the three fixtures', () => assert.ok(names.length >= 3, `found ${names.join(', ')}`));

  for (const name of names) {
    describe(name, () => {
      const f = loadFixture(name);
      const result = rgap.run({ model: f.model, params: f.weights, gradients: f.gradients }, { seed: 0, tol: DEFAULT_RANK_TOL });
      const recon = toUnitRange(result.image, REFERENCE_NORMALISATION);

      it('infers the reference label', () => {
        assert.equal(result.label, f.reference.label);
        assert.equal(result.labelInferred, true);
      });

      it('per-layer rank deficiencies equal the reference exactly', () => {
        for (const [layer, rd] of Object.entries(f.reference.reference_rank_deficiency_by_layer)) {
          assert.equal(result.layers[Number(layer)].rankDeficiency, rd, `layer ${layer}`);
        }
      });

      it('security index equals the reference exactly', () => {
        const a = audit(f.model, f.weights, { kind: 'gradients', gradients: f.gradients });
        assert.equal(a.copaIndex, f.reference.reference_copa_index);
      });

      it('rgap PSNR is within 0.5 dB of the reference (peak 1)', () => {
        const p = psnr(recon, f.target);
        const ref = f.reference.reference_rgap.psnr_01_db;
        // Above ~140 dB both are float32-noise limited; exact recovery is what matters there.
        if (ref > 140) assert.ok(p > 140, `PSNR ${p}`);
        else assert.ok(Math.abs(p - ref) <= 0.5, `PSNR ${p} vs reference ${ref}`);
      });

      it('reconstruction equals the reference\'s rgap_recon.npy', () => {
        assert.equal(f.rgapRecon.length, recon.length);
        assert.ok(psnr(recon, f.rgapRecon) > 120, `PSNR against the reference reconstruction ${psnr(recon, f.rgapRecon)}`);
      });
    });
  }

  it('cnn2_c1 is recovered exactly (PSNR ≥ 60 dB)', () => {
    const f = loadFixture('cnn2_c1-chelsea');
    const r = rgap.run({ model: f.model, params: f.weights, gradients: f.gradients }, { seed: 0, tol: DEFAULT_RANK_TOL });
    assert.ok(psnr(toUnitRange(r.image, REFERENCE_NORMALISATION), f.target) >= 60);
  });
});

describe('regressions found by the study', () => {
  it('cnn2_c5 (full rank, cond(S) ≈ 1e5) is recovered exactly: PCG must converge, not stop at a cap', async () => {
    const { PRESETS } = await import('../src/core/presets.js');
    const { buildModel } = await import('../src/core/spec.js');
    const { initParams } = await import('../src/core/network.js');
    const { simulateClient } = await import('../src/core/client.js');
    const { bitmapToTensor, decodeImage } = await import('../src/formats/image.js');
    const fs = await import('node:fs');
    const path = await import('node:path');
    const { ROOT } = await import('./helpers.js');
    const model = buildModel(PRESETS.cnn2_c5);
    const params = initParams(model, 0);
    const image = bitmapToTensor(decodeImage(new Uint8Array(fs.readFileSync(path.join(ROOT, 'samples/hills.png')))), model.spec.input, REFERENCE_NORMALISATION);
    const { gradients } = simulateClient(model, params, image, 0);
    const r = rgap.run({ model, params, gradients }, { seed: 0, tol: DEFAULT_RANK_TOL });
    assert.equal(r.layers[0].rankDeficiency, 0);
    assert.ok(psnr(r.image, image) > 100, `PSNR ${psnr(r.image, image)}`);
  });
});
