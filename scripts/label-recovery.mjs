// Label recovery for batches: how often the counts per class recovered from a shared update are
// exactly right, over seeded batches of 8 (labels drawn with repeats) on untrained presets.
//   npm run build && node scripts/label-recovery.mjs [--batches 100] [--batch 8] [--models lenet_zhu,convnet_bn,resnet8]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { recoverLabels } from '../dist/src/attacks/labels.js';
import { Rng } from '../dist/src/core/rng.js';
import { idxSamples } from '../dist/src/formats/datasets.js';
import { bitmapToTensor, decodeImage, fitBitmap, REFERENCE_NORMALISATION } from '../dist/src/formats/image.js';
import { JS_KERNELS } from '../dist/src/kernels/js/index.js';
import { initParams } from '../dist/src/model/params.js';
import { presetGraph } from '../dist/src/model/presets.js';
import { simulateClient } from '../dist/src/threat/client.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (k, d) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? process.argv[i + 1] : d; };
const batches = Number(arg('batches', 100)), B = Number(arg('batch', 8));
const models = arg('models', 'lenet_zhu,convnet_bn,resnet8').split(',');

// an image pool: the bundled samples and the Fashion-MNIST slice, fitted to 3×32×32
const samples = fs.readdirSync(path.join(ROOT, 'samples')).filter((f) => /^[a-z]+\.png$/.test(f)).map((f) => decodeImage(fs.readFileSync(path.join(ROOT, 'samples', f))));
const fashion = idxSamples(fs.readFileSync(path.join(ROOT, 'test/fixtures/fashion-mnist/t10k-images-idx3-ubyte.gz')), null).map((s) => s.bitmap);
const pool = [...samples, ...fashion].map((b) => bitmapToTensor(fitBitmap(b, [3, 32, 32]), [3, 32, 32], REFERENCE_NORMALISATION));

console.log(`${batches} batches of ${B}, labels drawn uniformly with repeats, images from a pool of ${pool.length}; BN in train mode, untrained seeded weights\n`);
console.log('| model | counts exactly right | mean labels misplaced per batch | batches flagged ambiguous | seconds |');
console.log('|---|---|---|---|---|');
for (const name of models) {
  const model = presetGraph(name);
  const params = initParams(model, 0);
  const payload = { model, params, normalisation: REFERENCE_NORMALISATION, bnMode: 'train' };
  const rng = new Rng(2026);
  let exact = 0, misplaced = 0, ambiguous = 0;
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    const labels = Array.from({ length: B }, () => Math.floor(rng.uniform() * model.classes));
    const data = new Float64Array(B * 3072);
    for (let i = 0; i < B; i++) data.set(pool[Math.floor(rng.uniform() * pool.length)], i * 3072);
    const { update } = simulateClient(JS_KERNELS, model, params, 'train', { shape: [B, 3, 32, 32], data }, labels);
    const r = recoverLabels(JS_KERNELS, payload, update, b);
    const truth = new Array(model.classes).fill(0);
    for (const y of labels) truth[y]++;
    const off = truth.reduce((s, c, j) => s + Math.abs(c - r.counts[j]), 0) / 2;
    if (off === 0) exact++;
    misplaced += off;
    if (r.ambiguous) ambiguous++;
  }
  console.log(`| ${name} | ${exact}/${batches} (${(100 * exact / batches).toFixed(0)} %) | ${(misplaced / batches).toFixed(2)} | ${ambiguous} | ${((performance.now() - t0) / 1000).toFixed(1)} |`);
}
