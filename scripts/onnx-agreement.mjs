// gradleak's ONNX import against PyTorch: for each fixture of test/fixtures/onnx, at batch 1 and 8 and in
// each BN mode, the largest relative error (max |ours − theirs| / max |theirs|) of the logits and of any
// trainable tensor's gradient (rounding-noise gradients below 1e-12 in norm left out, as in the tests).
// Run after `npm run build`: node scripts/onnx-agreement.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  importOnnx, parseSafetensors, batchGradients, JS_KERNELS, tensorsFromParams,
} from '../dist/src/index.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '../test/fixtures');
const read = (f) => parseSafetensors(new Uint8Array(fs.readFileSync(f)), f);
const rel = (a, b) => {
  let e = 0, s = 0;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s === 0 ? e : e / s;
};
for (const name of ['lenet_zhu', 'convnet_bn', 'resnet8', 'mlp', 'convnet_bn_folded', 'ops']) {
  const g = importOnnx(new Uint8Array(fs.readFileSync(path.join(root, 'onnx', `${name}.onnx`))), name);
  const folded = name === 'convnet_bn_folded' || name === 'ops'; // their own references
  for (const batch of [1, 8]) {
    const t = read(folded ? path.join(root, 'onnx', `${name}.batch${batch}.safetensors`)
      : path.join(root, 'graphs', name, `batch${batch}.safetensors`));
    for (const mode of folded ? ['eval'] : ['eval', 'train']) {
      const key = (s) => (folded ? s : s === 'logits' ? `logits.${mode}` : `grad.${mode}.${s.slice(5)}`);
      const labels = Array.from(t.get('labels').data);
      const r = batchGradients(JS_KERNELS, g, g.weights, t.get('images'), labels, mode);
      let worst = 0, at = '';
      // ours as files hold them (initializer names and layouts), against PyTorch's as saved
      for (const [name, ours] of tensorsFromParams(g, r.gradients, 'gradients')) {
        const ref = t.get(key(`grad.${name}`)).data;
        if (Math.sqrt(ref.reduce((s, v) => s + v * v, 0)) < 1e-12) continue;
        const e = rel(ours.data, ref);
        if (e > worst) { worst = e; at = name; }
      }
      console.log(`${name}, batch ${batch}, BN ${mode}: logits ${rel(r.logits.data, t.get(key('logits')).data)
        .toExponential(2)}, gradients ${worst.toExponential(2)} (${at})`);
    }
  }
}
// matmul.onnx (x @ w + b): the user's file of one training step, each .grad as PyTorch saved it
{
  const g = importOnnx(new Uint8Array(fs.readFileSync(path.join(root, 'onnx', 'matmul.onnx'))), 'matmul');
  const ref = read(path.join(root, 'onnx', 'matmul.reference.safetensors'));
  const grads = read(path.join(root, 'onnx', 'matmul.grads.safetensors'));
  const labels = Array.from(ref.get('labels').data);
  const r = batchGradients(JS_KERNELS, g, g.weights, ref.get('images'), labels, 'eval');
  const errs = tensorsFromParams(g, r.gradients, 'gradients')
    .map(([name, t]) => `${name} [${t.shape.join(', ')}] ${rel(t.data, grads.get(name).data).toExponential(2)}`);
  console.log(`matmul, batch 1 (the user's gradient file): ${errs.join(', ')}`);
}
