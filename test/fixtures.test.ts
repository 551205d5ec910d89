import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audit } from '../src/analysis/audit.js';
import { rgap } from '../src/attacks/layerwise/rgap.js';
import { DEFAULT_RANK_TOL } from '../src/solve/layersolve.js';
import { psnr } from '../src/metrics/quality.js';
import { REFERENCE_NORMALISATION, toUnitRange } from '../src/formats/image.js';
import { fixtureNames, loadFixture } from './helpers.js';

const names = fixtureNames();

describe('reference fixtures (authors\' implementation)', () => {
  it('has the three fixtures', () => assert.ok(names.length >= 3, `found ${names.join(', ')}`));

  for (const name of names) {
    describe(name, () => {
      const f = loadFixture(name);
      const result = rgap.run(f.payload, f.update, { seed: 0, tol: DEFAULT_RANK_TOL });
      const recon = toUnitRange(result.images.data, REFERENCE_NORMALISATION);

      it('infers the reference label', () => {
        assert.deepEqual(result.labels, [f.reference.label]);
        assert.equal(result.labelsInferred, true);
      });

      it('per-layer rank deficiencies equal the reference exactly', () => {
        for (const [layer, rd] of Object.entries(f.reference.reference_rank_deficiency_by_layer)) {
          assert.equal(result.layers[Number(layer)].rankDeficiency, rd, `layer ${layer}`);
        }
      });

      it('security index equals the reference exactly', () => {
        const a = audit(f.payload, { kind: 'gradients', update: f.update });
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
    const r = rgap.run(f.payload, f.update, { seed: 0, tol: DEFAULT_RANK_TOL });
    assert.ok(psnr(toUnitRange(r.images.data, REFERENCE_NORMALISATION), f.target) >= 60);
  });
});

describe('regressions found by the study', () => {
  it('cnn2_c5 (full rank, cond(S) ≈ 1e5) is recovered exactly: PCG must converge, not stop at a cap', async () => {
    const { presetGraph } = await import('../src/model/presets.js');
    const { initParams } = await import('../src/model/params.js');
    const { simulateClient } = await import('../src/threat/client.js');
    const { JS_KERNELS } = await import('../src/kernels/js/index.js');
    const { bitmapToTensor, decodeImage } = await import('../src/formats/image.js');
    const fs = await import('node:fs');
    const path = await import('node:path');
    const { ROOT } = await import('./helpers.js');
    const model = presetGraph('cnn2_c5')!;
    const params = initParams(model, 0);
    const x = bitmapToTensor(decodeImage(new Uint8Array(fs.readFileSync(path.join(ROOT, 'samples/hills.png')))), [3, 32, 32], REFERENCE_NORMALISATION);
    const payload = { model, params, normalisation: REFERENCE_NORMALISATION, bnMode: 'train' as const };
    const { update } = simulateClient(JS_KERNELS, model, params, 'train', { shape: [1, 3, 32, 32], data: x }, [0]);
    const r = rgap.run(payload, update, { seed: 0, tol: DEFAULT_RANK_TOL });
    assert.equal(r.layers[0].rankDeficiency, 0);
    assert.ok(psnr(r.images.data, x) > 100, `PSNR ${psnr(r.images.data, x)}`);
  });
});
