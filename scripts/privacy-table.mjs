#!/usr/bin/env node
// ε of DP-SGD's Gaussian noise at δ (default 1e-5): exact (analytic Gaussian mechanism, T rounds by
// Gaussian-DP composition) and the RDP bound, for noise multipliers z and rounds T.
// Usage (after npx tsc -p tsconfig.json): node scripts/privacy-table.mjs [delta]
import { gaussianEpsilonComposed, rdpEpsilon } from '../dist/src/index.js';

const delta = Number(process.argv[2] ?? 1e-5);
console.log(`δ = ${delta}\n`);
console.log('| z | T | ε exact | ε RDP bound |');
console.log('|---|---|---|---|');
for (const z of [0.5, 1, 2, 4]) for (const T of [1, 100]) {
  const exact = gaussianEpsilonComposed(z, T, delta), rdp = rdpEpsilon(z, T, delta);
  console.log(`| ${z} | ${T} | ${exact.toPrecision(6)} | ${rdp.toPrecision(6)} |`);
}
