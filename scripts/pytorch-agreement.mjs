// Worst relative errors of gradleak against the PyTorch fixtures (test/fixtures/graphs): logits,
// every parameter gradient, and the gradient-matching objective's gradient in the images.
//   npm run build && node scripts/pytorch-agreement.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { matchingObjective } from '../dist/src/attacks/matching/objective.js';
import { parseSafetensors } from '../dist/src/formats/safetensors.js';
import { JS_KERNELS } from '../dist/src/kernels/js/index.js';
import { batchGradients } from '../dist/src/model/gradients.js';
import { paramsFromTensors } from '../dist/src/model/params.js';
import { graphFromJson } from '../dist/src/model/presets.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../test/fixtures/graphs');
const read = (f) => parseSafetensors(new Uint8Array(fs.readFileSync(f)), f);
const rel = (a, b) => { let e = 0, s = 0; for (let i = 0; i < b.length; i++) { e = Math.max(e, Math.abs(a[i] - b[i])); s = Math.max(s, Math.abs(b[i])); } return s ? e / s : e; };
const fmt = (v) => v.toExponential(1);
console.log('| model | batch | BN | logits | worst parameter gradient | matching L2: ∂/∂images | matching cosine: ∂/∂images |');
console.log('|---|---|---|---|---|---|---|');
for (const name of ['lenet_zhu', 'convnet_bn', 'resnet8', 'mlp']) {
  const dir = path.join(DIR, name);
  const graph = graphFromJson(JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')), name);
  const params = paramsFromTensors(graph, read(path.join(dir, 'weights.safetensors')), 'w', 'weights');
  const trainable = graph.params.filter((p) => p.trainable);
  for (const batch of [1, 8]) {
    const t = read(path.join(dir, `batch${batch}.safetensors`));
    const images = t.get('images'), labels = Array.from(t.get('labels').data);
    for (const mode of ['eval', 'train']) {
      const r = batchGradients(JS_KERNELS, graph, params, images, labels, mode);
      let worst = 0;
      for (const p of trainable) {
        const theirs = t.get(`grad.${mode}.${p.name}`).data;
        if (Math.sqrt(theirs.reduce((s, v) => s + v * v, 0)) < 1e-12) continue; // rounding noise on both sides
        worst = Math.max(worst, rel(r.gradients.get(p.name), theirs));
      }
      const target = new Map(trainable.map((p) => [p.name, t.get(`grad.${mode}.${p.name}`).data]));
      const match = (distance) => {
        const key = distance === 'cosine' && t.has(`match.${mode}.cosine_nondegenerate_grad`) ? `match.${mode}.cosine_nondegenerate` : `match.${mode}.${distance}`;
        const f = matchingObjective({ kernels: JS_KERNELS, graph, params, bnMode: mode, target, labels, distance }, images.shape);
        return rel(f(t.get('match.images').data).grad, t.get(`${key}_grad`).data);
      };
      console.log(`| ${name} | ${batch} | ${mode} | ${fmt(rel(r.logits.data, t.get(`logits.${mode}`).data))} | ${fmt(worst)} | ${fmt(match('l2'))} | ${fmt(match('cosine'))} |`);
    }
  }
}
