// Times the Gram factorisations of cnn3_c1's first layer (SᵀS, column path) and second layer (SSᵀ,
// row path) at one input size, envelope against sparse nested dissection, in one process:
//   npx tsc -p tsconfig.json && node scripts/gram-factor-bench.mjs 128
// Prints n, the two operation counts (Σ squared row/column lengths) and both times.
import { factorGram, factorRowGram } from '../dist/src/linalg/gramsolver.js';
import { envelopeCost, envelopeFirst } from '../dist/src/linalg/envelope.js';
import { buildLayerSystem } from '../dist/src/solve/system.js';
import { Rng } from '../dist/src/core/rng.js';

const size = Number(process.argv[2] ?? 64);
const rng = new Rng(7);
const layer = (index, inC, inH, outC, k, stride) => {
  const outH = Math.floor((inH - k) / stride) + 1;
  const g = { index, type: 'conv', inC, inH, inW: inH, outC, outH, outW: outH, kh: k, kw: k, stride, pad: 0,
    bias: false, activation: 'tanh' };
  const weight = Float64Array.from({ length: outC * inC * k * k }, () => rng.normal() / k);
  const z = new Float64Array(outC * outH * outH), dz = z.map(() => rng.normal());
  return buildLayerSystem(g, { weight, bias: null, z, dz, dW: new Float64Array(outC * inC * k * k) });
};
const time = (f) => { const t0 = performance.now(); const r = f(); return [r, (performance.now() - t0) / 1000]; };
const lay = (sys) => ({ plane: sys.padH * sys.padW, width: sys.padW });
const s0 = layer(0, 3, size, 6, 3, 1), s1 = layer(1, 6, size - 2, 3, 4, 2);
// the column path's spatial order (h, w, c): order[column] = position, back[position] = column
const spatial = (sys) => {
  const plane = sys.padH * sys.padW, order = new Int32Array(sys.n), back = new Int32Array(sys.n);
  let p = 0;
  for (let q = 0; q < plane; q++) for (let c = 0; c < sys.g.inC; c++) { order[c * plane + q] = p; back[p++] = c * plane + q; }
  return { order, back };
};
const sp0 = spatial(s0);
for (const [name, run, cost] of [
  ['layer 0 SᵀS', (force) => factorGram(s0.s, sp0.order, s0.n, (p) => sp0.back[p], 1e-6, false, lay(s0), force),
    envelopeCost(envelopeFirst(s0.s, sp0.order, s0.n))],
  ['layer 1 SSᵀ', (force) => factorRowGram(s1.s, 1e-6, false, lay(s1), force), 0],
]) {
  const [env, tEnv] = time(() => run('envelope'));
  const [sp, tSp] = time(() => run('sparse'));
  const v = Float64Array.from({ length: env.n }, () => rng.normal()), w = v.slice();
  const [, sEnv] = time(() => env.solve(v));
  const [, sSp] = time(() => sp.solve(w));
  let d = 0, m = 0;
  for (let i = 0; i < v.length; i++) { d = Math.max(d, Math.abs(v[i] - w[i])); m = Math.max(m, Math.abs(v[i])); }
  console.log(JSON.stringify({ size, name, n: env.n, envCost: cost || undefined, envelopeSeconds: tEnv,
    sparseSeconds: tSp, envelopeSolve: sEnv, sparseSolve: sSp, ok: [env.report.ok, sp.report.ok],
    maxRelDiff: d / m }));
}
