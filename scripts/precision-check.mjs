#!/usr/bin/env node
/**
 * The measurement behind --precision's default: ig and hybrid on bundled samples with the matching
 * kernels in JavaScript float64, WebAssembly float64 and WebAssembly float32, same seeds; prints
 * PSNR and seconds per run. Usage: npm run build && node scripts/precision-check.mjs [model ...]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getAttack } from '../dist/src/attacks/registry.js';
import { bitmapToTensor, decodeImage, REFERENCE_NORMALISATION, toUnitRange } from '../dist/src/formats/image.js';
import { JS_KERNELS } from '../dist/src/kernels/js/index.js';
import { createWasmKernels } from '../dist/src/kernels/wasm/index.js';
import { psnr } from '../dist/src/metrics/quality.js';
import { initParams } from '../dist/src/model/params.js';
import { presetGraph } from '../dist/src/model/presets.js';
import { DEFAULT_RANK_TOL } from '../dist/src/solve/layersolve.js';
import { simulateClient } from '../dist/src/threat/client.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const models = process.argv.slice(2).length ? process.argv.slice(2) : ['cnn3_c1', 'lenet_zhu'];
const engines = { 'js-f64': JS_KERNELS, 'wasm-f64': createWasmKernels('f64'), 'wasm-f32': createWasmKernels('f32') };
for (const name of models) {
  const model = presetGraph(name);
  const params = initParams(model, 0);
  const payload = { model, params, normalisation: REFERENCE_NORMALISATION, bnMode: 'train' };
  for (const file of ['hills.png', 'face.png']) {
    const [c, h, w] = model.input;
    const bitmap = decodeImage(new Uint8Array(fs.readFileSync(path.join(root, 'samples', file))));
    const image = { shape: [1, c, h, w], data: bitmapToTensor(bitmap, [c, h, w], REFERENCE_NORMALISATION) };
    const { update } = simulateClient(JS_KERNELS, model, params, 'train', image, [3]);
    const truth = toUnitRange(image.data, REFERENCE_NORMALISATION);
    for (const method of ['ig', 'hybrid']) {
      const row = [];
      for (const [engine, kernels] of Object.entries(engines)) {
        const t0 = performance.now();
        const r = getAttack(method).run(payload, { ...update, labels: [3] }, {
          seed: 0, tol: DEFAULT_RANK_TOL, kernels: JS_KERNELS, matchingKernels: kernels,
          ...(method === 'ig' ? { iterations: 1000 } : {}),
        });
        const s = (performance.now() - t0) / 1000;
        row.push(`${engine} ${psnr(toUnitRange(r.images.data, REFERENCE_NORMALISATION), truth).toFixed(2)} dB `
          + `${s.toFixed(1)} s`);
      }
      console.log(`${name} ${file} ${method}: ${row.join(' | ')}`);
    }
  }
}
