// Growth of the analytic audit with the input size (issue 11, "Analytic scaling"): times the what-if
// audit of cnn3_c1's layout at several input sizes, each in its own child process so that its peak
// resident memory (VmHWM) is its own, and prints a table of times, ratios to the smallest size, and the
// fitted exponent of time against pixels.
//   npx tsc -p tsconfig.json && node scripts/analytic-scaling.mjs              (32 64 128 224)
//   node scripts/analytic-scaling.mjs --sizes 32,128 --preset cnn3_c1 --repeat 2
//   node scripts/analytic-scaling.mjs --rgap                                   (also time rgap)
// Input: samples/hills-128.png, resized to each size (bitmapToTensor fits it). The layer ranks are
// printed too, so that two runs (before/after a solver change) can be compared.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(here), '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : dflt; };

async function child(preset, size, withRgap) {
  const d = (p) => import(path.join(root, 'dist/src', p));
  const { audit } = await d('analysis/audit.js');
  const { rgap } = await d('attacks/layerwise/rgap.js');
  const { SolverCache } = await d('solve/solver-cache.js');
  const { DEFAULT_RANK_TOL } = await d('solve/layersolve.js');
  const { bitmapToTensor, decodeImage, fitBitmap, REFERENCE_NORMALISATION } = await d('formats/image.js');
  const { chainToGraph } = await d('model/chain.js');
  const { buildGraph } = await d('model/graph.js');
  const { initParams } = await d('model/params.js');
  const { PRESETS } = await d('model/chain-presets.js');
  const { simulateClient } = await d('threat/client.js');
  const { JS_KERNELS } = await d('kernels/js/index.js');
  const model = buildGraph(chainToGraph({ ...PRESETS[preset], name: `${preset}@${size}`, input: [3, size, size] }));
  const params = initParams(model, 0);
  const payload = { model, params, normalisation: REFERENCE_NORMALISATION, bnMode: 'train' };
  const bitmap = decodeImage(new Uint8Array(fs.readFileSync(path.join(root, 'samples/hills-128.png'))));
  const image = { shape: [1, 3, size, size], data: bitmapToTensor(fitBitmap(bitmap, [3, size, size]), [3, size, size], REFERENCE_NORMALISATION) };
  const solver = new SolverCache();
  let t0 = performance.now();
  const result = audit(payload, { kind: 'image', image, label: 3 }, { solver });
  const auditSeconds = (performance.now() - t0) / 1000;
  let rgapSeconds = null;
  if (withRgap) {
    const { update } = simulateClient(JS_KERNELS, model, params, 'train', image, [3]);
    t0 = performance.now();
    rgap.run(payload, update, { seed: 0, tol: DEFAULT_RANK_TOL, solver });
    rgapSeconds = (performance.now() - t0) / 1000;
  }
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
  console.log(JSON.stringify({
    size, auditSeconds, rgapSeconds, peakMiB: Math.round(hwm),
    ranks: result.layers.map((l) => l.rank), unknowns: result.layers.map((l) => l.unknowns),
  }));
}

function main() {
  const preset = opt('preset', 'cnn3_c1');
  const sizes = opt('sizes', '32,64,128,224').split(',').map(Number);
  const repeat = Number(opt('repeat', '1'));
  const withRgap = argv.includes('--rgap');
  const rows = [];
  for (const size of sizes) {
    const runs = [];
    for (let r = 0; r < repeat; r++) {
      const args = [here, '--child', preset, String(size), ...(withRgap ? ['--rgap'] : [])];
      const p = spawnSync(process.execPath, ['--max-old-space-size=8192', ...args], { encoding: 'utf8' });
      if (p.status !== 0) { console.error(p.stderr); process.exit(1); }
      runs.push(JSON.parse(p.stdout.trim().split('\n').pop()));
      console.error(`  ${preset}@${size}: ${JSON.stringify(runs.at(-1))}`);
    }
    runs.sort((a, b) => a.auditSeconds - b.auditSeconds);
    rows.push(runs[Math.floor(runs.length / 2)]);
  }
  const base = rows[0];
  console.log(`${preset}, audit (what-if), median of ${repeat}; exponent: log(time ratio)/log(pixel ratio)`);
  console.log('| input | audit s | × smallest | exponent | peak MiB | ranks | rgap s |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const ratio = r.auditSeconds / base.auditSeconds;
    const exp = r === base ? '' : (Math.log(ratio) / Math.log((r.size / base.size) ** 2)).toFixed(2);
    console.log(`| ${r.size}² | ${r.auditSeconds.toFixed(2)} | ${ratio.toFixed(1)} | ${exp} | ${r.peakMiB} `
      + `| ${r.ranks.join(' ')} | ${r.rgapSeconds === null ? '' : r.rgapSeconds.toFixed(2)} |`);
  }
}

if (argv[0] === '--child') await child(argv[1], Number(argv[2]), argv.includes('--rgap'));
else main();
