import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { rgap } from '../src/core/attacks/rgap.js';
import { loadFixture, ROOT } from './helpers.js';

/**
 * The core runs unchanged in a browser: headless Chromium loads the compiled modules of src/core and
 * src/formats straight from dist/ (no bundler, no Node shims), fetches a reference fixture and runs
 * rgap; the result must equal Node's. Served on loopback only.
 */
const CHROMIUM = '/usr/bin/chromium';

function page(repo: string): string {
  return `<!doctype html><body>running<script type="module">
import { buildModel, parseSpec } from '/${repo}/dist/src/core/spec.js';
import { parseSafetensors } from '/${repo}/dist/src/formats/safetensors.js';
import { paramsFromTensors } from '/${repo}/dist/src/core/params-io.js';
import { rgap } from '/${repo}/dist/src/core/attacks/rgap.js';
const base = '/shared/reference/cnn2_c2-chelsea/';
const bytes = async (f) => new Uint8Array(await (await fetch(base + f)).arrayBuffer());
try {
  const model = buildModel(parseSpec(await (await fetch(base + 'model.json')).json()));
  const w = paramsFromTensors(model, parseSafetensors(await bytes('weights.safetensors')), 'w');
  const g = paramsFromTensors(model, parseSafetensors(await bytes('gradients.safetensors')), 'g');
  const r = rgap.run({ model, params: w, gradients: g }, { seed: 0, tol: 1e-10 });
  document.body.textContent = 'RESULT ' + JSON.stringify({ rd: r.layers.map((l) => l.rankDeficiency), label: r.label, image: Array.from(r.image.subarray(0, 64)) });
} catch (e) { document.body.textContent = 'ERROR ' + e.message; }
</script></body>`;
}

function serve(rootParent: string, html: string): Promise<http.Server> {
  const types: Record<string, string> = { '.js': 'text/javascript', '.json': 'application/json', '.html': 'text/html' };
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    if (url === '/test.html') { res.writeHead(200, { 'content-type': 'text/html' }); res.end(html); return; }
    const file = path.resolve(rootParent, '.' + url);
    if (!file.startsWith(rootParent) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function dumpDom(url: string): Promise<string> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gradleak-chromium-'));
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--virtual-time-budget=60000', '--dump-dom', url];
  return new Promise((resolve, reject) => {
    const p = spawn(CHROMIUM, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error('chromium timed out')); }, 120_000);
    p.on('close', () => { clearTimeout(timer); fs.rmSync(profile, { recursive: true, force: true }); resolve(out); });
    p.on('error', reject);
  });
}

describe('browser', () => {
  it('headless Chromium runs rgap from dist/ and gets Node\'s result', async () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (.ci/run does)`);
    const rootParent = path.dirname(ROOT);
    assert.ok(fs.existsSync(path.join(rootParent, 'shared/reference')), 'the fixtures must sit in ../shared');
    const server = await serve(rootParent, page(path.basename(ROOT)));
    try {
      const dom = await dumpDom(`http://127.0.0.1:${(server.address() as AddressInfo).port}/test.html`);
      const m = /RESULT (\{.*?\})</.exec(dom);
      assert.ok(m, `no result in the page: ${dom.slice(0, 300)}`);
      const browser = JSON.parse(m[1]);
      const f = loadFixture('cnn2_c2-chelsea');
      const node = rgap.run({ model: f.model, params: f.weights, gradients: f.gradients }, { seed: 0, tol: 1e-10 });
      assert.deepEqual(browser.rd, [-1470, 0]);
      assert.equal(browser.label, 3);
      for (let k = 0; k < 64; k++) assert.ok(Math.abs(browser.image[k] - node.image[k]) <= 1e-12, `pixel ${k}: ${browser.image[k]} vs ${node.image[k]}`);
    } finally {
      server.close();
    }
  });
});
