import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { rgap } from '../src/attacks/layerwise/rgap.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { findBrowser, loadFixture, REFERENCE, ROOT, skipOutsideCi } from './helpers.js';

/**
 * The core runs unchanged in a browser: headless Chromium loads the compiled modules of src/core and
 * src/formats straight from dist/ (no bundler, no Node shims), fetches a reference fixture and runs
 * rgap, and runs the WebAssembly convolution kernels; the results must equal Node's. The repository
 * itself is served, on loopback only.
 */
/**
 * One convolution of fixed inputs through a kernel set: the page and Node run the same text. The
 * inputs are rational (Math.sin differs in the last bit between Chromium's and Node's engines).
 */
const CONV_CASE = `function convCase(k) {
  const g = { inC: 3, inH: 9, inW: 8, outC: 5, outH: 5, outW: 4, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1 };
  const x = Float64Array.from({ length: 216 }, (_, i) => ((i * 37) % 101) / 49 - 1);
  const w = Float64Array.from({ length: 135 }, (_, i) => ((i * 53) % 97) / 31 - 1.5);
  const dz = Float64Array.from({ length: 100 }, (_, i) => ((i * 29) % 89) / 43 - 1);
  return [...k.conv2d(g, 1, x, w, null), ...k.conv2dInputGrad(g, 1, dz, w), ...k.conv2dWeightGrad(g, 1, x, dz)];
}`;
const convCase = new Function('k', `${CONV_CASE}; return convCase(k);`) as (k: Kernels) => number[];

function page(fixture: string): string {
  return `<!doctype html><body>running<script type="module">
import { graphFromJson } from '/dist/src/model/presets.js';
import { parseSafetensors } from '/dist/src/formats/safetensors.js';
import { paramsFromTensors } from '/dist/src/model/params.js';
import { rgap } from '/dist/src/attacks/layerwise/rgap.js';
import { createWasmKernels } from '/dist/src/kernels/wasm/index.js';
${CONV_CASE}
const base = '/${fixture}/';
const bytes = async (f) => new Uint8Array(await (await fetch(base + f)).arrayBuffer());
try {
  const model = graphFromJson(await (await fetch(base + 'model.json')).json(), 'fixture');
  const params = paramsFromTensors(model, parseSafetensors(await bytes('weights.safetensors')), 'w', 'weights');
  const gradients = paramsFromTensors(model, parseSafetensors(await bytes('gradients.safetensors')), 'g', 'gradients');
  const payload = { model, params, normalisation: { scale: 1, offset: -0.5 }, bnMode: 'train' };
  const r = rgap.run(payload, { gradients, batch: 1 }, { seed: 0, tol: 1e-10 });
  const conv = { f32: Array.from(convCase(createWasmKernels('f32'))), f64: Array.from(convCase(createWasmKernels('f64'))) };
  document.body.textContent = 'RESULT ' + JSON.stringify({ rd: r.layers.map((l) => l.rankDeficiency), label: r.labels[0], image: Array.from(r.images.data.subarray(0, 64)), conv });
} catch (e) { document.body.textContent = 'ERROR ' + e.message; }
</script></body>`;
}

function serve(root: string, html: string): Promise<http.Server> {
  const types: Record<string, string> = { '.js': 'text/javascript', '.json': 'application/json', '.html': 'text/html' };
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    if (url === '/test.html') { res.writeHead(200, { 'content-type': 'text/html' }); res.end(html); return; }
    const file = path.resolve(root, '.' + url);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function dumpDom(browser: string, url: string): Promise<string> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gradleak-chromium-'));
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--virtual-time-budget=60000', '--dump-dom', url];
  return new Promise((resolve, reject) => {
    const p = spawn(browser, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error('chromium timed out')); }, 120_000);
    p.on('close', () => { clearTimeout(timer); fs.rmSync(profile, { recursive: true, force: true }); resolve(out); });
    p.on('error', reject);
  });
}

describe('browser', () => {
  it('headless Chromium runs rgap from dist/ and gets Node\'s result', async (t) => {
    const browser = findBrowser();
    if (!browser.path) {
      skipOutsideCi(t, `no Chromium found (tried ${browser.tried}): install Debian's chromium (.ci/run does) or set CHROMIUM`);
      return;
    }
    const fixture = path.relative(ROOT, path.join(REFERENCE, 'cnn2_c2-chelsea')).split(path.sep).join('/');
    const server = await serve(ROOT, page(fixture));
    try {
      const dom = await dumpDom(browser.path, `http://127.0.0.1:${(server.address() as AddressInfo).port}/test.html`);
      const m = /RESULT (\{.*?\})</.exec(dom);
      assert.ok(m, `no result in the page: ${dom.slice(0, 300)}`);
      const inBrowser = JSON.parse(m[1]);
      const f = loadFixture('cnn2_c2-chelsea');
      const node = rgap.run(f.payload, f.update, { seed: 0, tol: 1e-10 });
      assert.deepEqual(inBrowser.rd, [-1470, 0]);
      assert.equal(inBrowser.label, 3);
      const px = node.images.data;
      for (let k = 0; k < 64; k++) assert.ok(Math.abs(inBrowser.image[k] - px[k]) <= 1e-12, `pixel ${k}: ${inBrowser.image[k]} vs ${px[k]}`);
      // the same WebAssembly module in Chromium's engine: the same bits as in Node's
      assert.deepEqual(inBrowser.conv.f32, convCase(createWasmKernels('f32')));
      assert.deepEqual(inBrowser.conv.f64, convCase(createWasmKernels('f64')));
    } finally {
      server.close();
    }
  });
});
