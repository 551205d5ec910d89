// Diagnostic for docs/STUDY.md: where rgap's error enters and how it grows on the way down.
// For each model and the bundled samples, runs the layer-wise recursion and compares each layer's
// input estimate with the true one (this script plays the evaluator, so it knows the image).
//   node scripts/error-propagation.mjs cnn3_c1 cnn3_c11 cnn3_c12   (after npm run build)
import { layerwise } from '../dist/src/attacks/layerwise/recursion.js';
import { simulateClient } from '../dist/src/core/client.js';
import { forward, initParams } from '../dist/src/model/chain-tensors.js';
import { buildModel } from '../dist/src/model/chain-spec.js';
import { studySpec } from '../dist/src/model/sweeps.js';
import { bitmapToTensor, fitBitmap, REFERENCE_NORMALISATION } from '../dist/src/formats/image.js';
import { loadImageSet } from '../dist/src/io/imagesets.js';

const rel = (a, b) => {
  let e = 0, n = 0;
  for (let k = 0; k < a.length; k++) { e += (a[k] - b[k]) ** 2; n += b[k] ** 2; }
  return Math.sqrt(e / n);
};
const images = loadImageSet('samples', 5);
for (const name of process.argv.slice(2)) {
  const model = buildModel(studySpec(name));
  const params = initParams(model, 0);
  const perLayer = [];
  images.forEach((img, i) => {
    const x = bitmapToTensor(fitBitmap(img.bitmap, model.spec.input), model.spec.input, REFERENCE_NORMALISATION);
    const label = i % model.classes;
    const truth = forward(model, params, x).inputs;
    const { gradients } = simulateClient(model, params, x, label);
    const errs = [];
    layerwise('rgap', { model, params, gradients }, { seed: 0, tol: 1e-10 }, (ctx) => {
      errs[ctx.layer] = rel(ctx.estimate, truth[ctx.layer]);
      return ctx.estimate;
    });
    perLayer.push(errs);
  });
  const L = perLayer[0].length;
  const median = (v) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const cols = Array.from({ length: L }, (_, l) => median(perLayer.map((e) => e[l])).toExponential(2));
  console.log(`${name}: median relative error of each layer's input estimate, layer ${L - 1} → 0: ${cols.reverse().join(' → ')}`);
}
