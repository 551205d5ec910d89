// ONNX import speed: for each fixture in test/fixtures/onnx, the median of 21 warm runs of decoding
// the protobuf (formats/onnx/model.ts) and of importing it as a graph (model/onnx-import.ts).
// Run after `npm run build`: node scripts/onnx-parse-time.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeModel } from '../dist/src/formats/onnx/model.js';
import { importOnnx } from '../dist/src/model/onnx-import.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '../test/fixtures/onnx');
const median = (fn) => {
  const times = [];
  for (let i = 0; i < 21; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[10];
};
for (const name of ['lenet_zhu', 'convnet_bn', 'convnet_bn_folded', 'resnet8', 'mlp']) {
  const bytes = new Uint8Array(fs.readFileSync(path.join(dir, `${name}.onnx`)));
  importOnnx(bytes, name);
  const decode = median(() => decodeModel(bytes, name)), graph = median(() => importOnnx(bytes, name));
  console.log(`${name}: ${bytes.length} bytes, decode ${decode.toFixed(2)} ms, `
    + `to a graph ${graph.toFixed(2)} ms`);
}
