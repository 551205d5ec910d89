// Checks the audit's noise view (src/analysis/noise-view.ts) against rgap run on noised updates.
// For each model: the predicted RMS error of rgap's input layer per the view, then the measured RMS of
// (rgap on the noised update − rgap on the clipped, noise-free one) over seeded noise draws, at several
// z, with the clip at twice the gradient norm (no clipping) and at half of it (clipping scales by 1/2;
// where a layer's system is solved in the least-squares sense, the scaling alone moves rgap's answer,
// printed as "clipping alone").
// usage: node scripts/noise-check.mjs [model ...]   (after npm run build)
import fs from 'node:fs';
import { noiseView } from '../dist/src/analysis/noise-view.js';
import { rgap } from '../dist/src/attacks/layerwise/rgap.js';
import { checkUpdate } from '../dist/src/attacks/update.js';
import { applyDefences } from '../dist/src/defences/apply.js';
import { parseDefence } from '../dist/src/defences/spec.js';
import { bitmapToTensor, decodeImage, fitBitmap, REFERENCE_NORMALISATION } from '../dist/src/formats/image.js';
import { JS_KERNELS } from '../dist/src/kernels/js/index.js';
import { initParams } from '../dist/src/model/params.js';
import { presetGraph } from '../dist/src/model/presets.js';
import { DEFAULT_RANK_TOL } from '../dist/src/solve/layersolve.js';
import { SolverCache } from '../dist/src/solve/solver-cache.js';

const models = process.argv.slice(2).length ? process.argv.slice(2) : ['cnn2_c1', 'cnn3_c1', 'cnn4_c1'];
const label = 3, draws = 4;
const rms = (a, b) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / a.length);
for (const name of models) {
  const model = presetGraph(name);
  const params = initParams(model, 0);
  const payload = { model, params, normalisation: REFERENCE_NORMALISATION, bnMode: 'eval' };
  const shape = model.input;
  const bitmap = fitBitmap(decodeImage(new Uint8Array(fs.readFileSync('samples/hills.png'))), shape);
  const image = { shape: [1, ...shape], data: bitmapToTensor(bitmap, shape, REFERENCE_NORMALISATION) };
  const solver = new SolverCache();
  const attack = (defences, seed) => {
    const { update } = applyDefences({
      kernels: JS_KERNELS, model, params, bnMode: 'eval', defences, seed,
    }, { images: image, labels: [label] });
    const gradients = checkUpdate(model, update);
    return rgap.run(payload, { ...gradients, labels: [label] }, { seed: 0, tol: DEFAULT_RANK_TOL, solver })
      .images.data;
  };
  const clean = attack([], 0);
  const t0 = performance.now();
  const unit = noiseView(payload, image, label, parseDefence('noise:z=1,clip=1e6'), { solver });
  console.log(`${name}: view ${((performance.now() - t0) / 1000).toFixed(1)} s, gradient norm `
    + `${unit.gradientNorm.toExponential(3)}, predicted RMS input error per unit σ `
    + `${unit.layers[0].predicted?.toExponential(3)} (± ${(100 * unit.layers[0].relativeError).toFixed(0)} % `
    + 'on layer 0\'s own gain)');
  for (const clipOver of [2, 0.5]) {
    const clip = clipOver * unit.gradientNorm;
    const clipped = attack([parseDefence(`clip:${clip.toPrecision(6)}`)], 0);
    console.log(`  clip ${clip.toPrecision(6)}: clipping alone moves rgap's input by ${rms(clipped, clean)
      .toExponential(3)} RMS`);
    for (const z of [1e-7, 1e-5, 1e-3].map((s) => s / clip)) {
      const spec = `noise:z=${z.toPrecision(6)},clip=${clip.toPrecision(6)}`;
      const view = noiseView(payload, image, label, parseDefence(spec), { solver });
      const errs = Array.from({ length: draws }, (_, t) => rms(attack([parseDefence(spec)], 100 + t), clipped));
      const measured = Math.sqrt(errs.reduce((a, b) => a + b * b, 0) / draws);
      console.log(`  ${spec}: σ ${view.sigma.toExponential(2)}, predicted `
        + `${view.inputError.toExponential(3)}, measured ${measured.toExponential(3)} (${draws} draws), `
        + `ratio ${(measured / view.inputError).toFixed(3)}`);
    }
  }
}
