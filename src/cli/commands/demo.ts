import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { audit } from '../../analysis/audit.js';
import { rgap } from '../../attacks/layerwise/rgap.js';
import { DEFAULT_RANK_TOL } from '../../solve/layersolve.js';
import { quality } from '../../metrics/quality.js';
import { JS_KERNELS } from '../../kernels/js/index.js';
import { chainOrNull } from '../../model/chain.js';
import { initParams } from '../../model/params.js';
import { simulateClient } from '../../threat/client.js';
import type { ServerPayload } from '../../threat/payload.js';
import {
  drawScaled, encodeImagePng, REFERENCE_NORMALISATION, toUnitRange, unitTensorToBitmap, type Bitmap,
} from '../../formats/image.js';
import { checkOutput, loadModel, removeStaleTemps, writeFilesAtomically } from '../../io/files.js';
import { MAX_FEATURES } from '../../core/limits.js';
import { estimate, largestOf, parameterBytes, passBytes, solveBytes } from '../../core/memory.js';
import { SolverCache } from '../../solve/solver-cache.js';
import { checkCeiling, loadImages, MODEL_OPTIONS } from '../args.js';
import type { Command } from '../command.js';
import { MEMORY_OPTION, type Args } from '../options.js';
import { auditTable } from '../../app/tables.js';

export const demoCommand: Command = {
  name: 'demo',
  usage: `gradleak demo [--model m1,m2,...] [--image IMG] [--label N] [--out DIR] [--seed N]
  Plays client and attacker on a bundled sample image for each preset (default cnn2_c1,cnn3_c1):
  prints the audit and the reconstruction quality, and writes DIR/demo.png (default out/demo):
  one row per model, target | reconstruction, upscaled 8×.`,
  options: {
    model: { kind: 'list', arg: 'M1,M2', help: 'presets or spec files (default cnn2_c1,cnn3_c1)' },
    image: { kind: 'string', arg: 'IMG', help: 'the client\'s image (default samples/hills.png)' },
    label: { kind: 'int', arg: 'N', help: 'its class (default 3)', min: 0, max: MAX_FEATURES - 1 },
    out: { kind: 'string', arg: 'DIR', help: 'output folder (default out/demo)' },
    seed: MODEL_OPTIONS.seed,
    ...MEMORY_OPTION,
  },
  run: runDemo,
};

const SAMPLE = fileURLToPath(new URL('../../../../samples/hills.png', import.meta.url));

function runDemo(v: Args): void {
  const out = v.str('out') ?? 'out/demo';
  checkOutput(out, 'dir');
  removeStaleTemps(out);
  const models = v.list('model', ['cnn2_c1', 'cnn3_c1']).map((m) => loadModel(m));
  const imageFile = v.str('image') ?? SAMPLE;
  const label = v.int('label', 3);
  const maxBytes = checkCeiling(v,
    estimate(largestOf(models.map((m) => {
      const view = chainOrNull(m);
      return [parameterBytes(m, 3), passBytes(m), ...(view ? solveBytes(view.model) : [])];
    }))),
    `the demo of ${models.map((m) => m.name).join(', ')}`);
  const rows: Bitmap[][] = [];
  for (const model of models) {
    const payload: ServerPayload = {
      model, params: model.weights ?? initParams(model, v.int('seed', 0)),
      normalisation: REFERENCE_NORMALISATION,
      bnMode: 'train',
    };
    const image = loadImages([imageFile], model, REFERENCE_NORMALISATION);
    const solver = new SolverCache();
    const a = audit(payload, { kind: 'image', image, label }, { solver, maxBytes });
    console.log(`== ${model.name} (input ${model.input.join('×')}) ==\n${auditTable(a)}`);
    const { update } = simulateClient(JS_KERNELS, model, payload.params, payload.bnMode, image, [label]);
    const t0 = performance.now();
    const res = rgap.run(payload, update, { seed: 0, tol: DEFAULT_RANK_TOL, solver, maxBytes });
    const secs = (performance.now() - t0) / 1000;
    const shape = model.input as [number, number, number];
    const target = toUnitRange(image.data, REFERENCE_NORMALISATION);
    const recon = toUnitRange(res.images.data, REFERENCE_NORMALISATION);
    const q = quality(recon, target, shape);
    console.log(`rgap from the gradients alone: label ${res.labels[0]} (inferred), `
      + `PSNR ${q.psnr.toFixed(2)} dB, SSIM ${q.ssim.toFixed(3)}, ${secs.toFixed(2)} s\n`);
    rows.push([unitTensorToBitmap(target, shape), unitTensorToBitmap(recon, shape)]);
  }
  const file = path.join(out, 'demo.png');
  writeFilesAtomically([{ file, data: encodeImagePng(grid(rows, 8, 8)) }]);
  console.log(`wrote ${file}: one row per model (${models.map((m) => m.name).join(', ')}), `
    + `target | reconstruction`);
}

/** Tiles RGB bitmaps (nearest-neighbour upscaled by `scale`) with `gap` white pixels between them. */
export function grid(rows: Bitmap[][], scale: number, gap: number): Bitmap {
  const cellW = Math.max(...rows.flat().map((b) => b.width)) * scale;
  const cellH = Math.max(...rows.flat().map((b) => b.height)) * scale;
  const cols = Math.max(...rows.map((r) => r.length));
  const width = cols * cellW + (cols + 1) * gap, height = rows.length * cellH + (rows.length + 1) * gap;
  const data = new Uint8Array(width * height * 3).fill(255);
  const out: Bitmap = { width, height, channels: 3, data };
  rows.forEach((row, r) => row.forEach(
    (b, c) => drawScaled(out, b, gap + c * (cellW + gap), gap + r * (cellH + gap), scale)));
  return out;
}
