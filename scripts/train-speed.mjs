#!/usr/bin/env node
/**
 * CPU time of one training step (64 seeded random 3×32×32 images, SGD with momentum) with each of
 * gradleak's kernel sets, and of the same step in PyTorch (scripts/train-speed-torch.py, one thread,
 * float32 and float64) when /usr/bin/python3 has torch. Min of 3 runs of 8 steps, in ms.
 * Usage: npm run build && node scripts/train-speed.mjs [model ...]   (default lenet_zhu convnet_bn)
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../dist/src/core/rng.js';
import { JS_KERNELS } from '../dist/src/kernels/js/index.js';
import { matchingKernels } from '../dist/src/kernels/select.js';
import { initParams } from '../dist/src/model/params.js';
import { presetGraph } from '../dist/src/model/presets.js';
import { trainModel } from '../dist/src/train/loop.js';

const STEPS = 8, BATCH = 64;
const models = process.argv.slice(2).length ? process.argv.slice(2) : ['lenet_zhu', 'convnet_bn'];
const rng = new Rng(1);
const images = Array.from({ length: STEPS * BATCH }, (_, i) => ({
  bitmap: { width: 32, height: 32, channels: 3, data: Uint8Array.from({ length: 3072 }, () => Math.floor(rng.uniform() * 256)) },
  label: i % 10,
}));
const settings = { epochs: 1, batch: BATCH, lr: 0.01, momentum: 0.9, weightDecay: 0, seed: 0, normalisation: { scale: 1, offset: -0.5 } };
for (const model of models) {
  const g = presetGraph(model);
  for (const [name, kernels] of [['wasm-f32', matchingKernels('f32').kernels], ['wasm-f64', matchingKernels('f64').kernels], ['js-f64', JS_KERNELS]]) {
    const times = [0, 1, 2].map(() => {
      const c0 = process.cpuUsage();
      trainModel(kernels, g, initParams(g, 0), { train: images, heldOut: [] }, settings);
      const c = process.cpuUsage(c0);
      return (c.user + c.system) / 1000 / STEPS;
    });
    console.log(`${model} gradleak ${name}: ${Math.min(...times).toFixed(1)} ms per step of ${BATCH}`);
  }
}
const torch = spawnSync('/usr/bin/python3', [path.join(path.dirname(fileURLToPath(import.meta.url)), 'train-speed-torch.py'), ...models], { encoding: 'utf8' });
process.stdout.write(torch.status === 0 ? torch.stdout : `PyTorch not run: ${(torch.stderr || String(torch.error)).split('\n')[0]}\n`);
