#!/usr/bin/env node
// Audit + rgap in the web app (headless Chromium) against the CLI, in one run, per model.
// Usage: node scripts/web-timing.mjs [model ...]   (default cnn3_c1 cnn4_c1; needs `npm run build`
// and Debian's chromium). Builds the app into a temporary folder and serves it with `vite preview`.
// "compute" is the same span in both: the audit call, and the attack's run; "wall" adds, in the
// page, the worker's message round trip and playing the client; in the CLI, the whole process.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VITE = path.join(ROOT, 'node_modules/vite/bin/vite.js');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const models = process.argv.slice(2).length ? process.argv.slice(2) : ['cnn3_c1', 'cnn4_c1'];
const PORT = 4391;

const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradleak-web-timing-'));
const build = spawnSync(process.execPath, [VITE, 'build', 'web', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'],
  { cwd: ROOT, encoding: 'utf8' });
if (build.status !== 0) throw new Error(build.stderr);
const server = spawn(process.execPath, [VITE, 'preview', 'web', '--outDir', outDir, '--host', '127.0.0.1',
  '--port', String(PORT), '--strictPort'], { cwd: ROOT, stdio: 'ignore' });
const origin = `http://127.0.0.1:${PORT}`;
for (let i = 0; i < 100 && !(await fetch(origin).then((r) => r.ok, () => false)); i++) {
  await new Promise((r) => setTimeout(r, 200));
}

function cli(args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args, '--json'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return { compute: JSON.parse(r.stdout).seconds, wall: (performance.now() - t0) / 1000 };
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
async function inPage(model, run) {
  const page = await browser.newPage();
  await page.goto(`${origin}/?model=${model}&image=hills`);
  await page.waitForSelector('body[data-ready]');
  const t0 = await page.evaluate(() => performance.now());
  await page.click(run === 'audit' ? '#run-audit' : '#run-attack');
  await page.waitForSelector('body[data-done]', { timeout: 600_000 });
  const wall = (await page.evaluate(() => performance.now()) - t0) / 1000;
  const compute = Number(await page.getAttribute('body', 'data-seconds'));
  await page.close();
  return { compute, wall };
}

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gradleak-web-timing-cli-'));
const f = (x) => x.toFixed(2).padStart(6);
console.log('model    step   app compute  app wall   CLI compute  CLI wall   CLI --threads 1 compute');
try {
  for (const model of models) {
    const image = ['--model', model, '--image', 'samples/hills.png'];
    const rows = {
      audit: [await inPage(model, 'audit'), cli(['audit', ...image]), cli(['audit', ...image, '--threads', '1'])],
      rgap: [await inPage(model, 'rgap'), cli(['attack', '--method', 'rgap', ...image, '--out', out]), null],
    };
    for (const [step, [app, c, c1]] of Object.entries(rows)) {
      console.log(`${model.padEnd(8)} ${step.padEnd(6)} ${f(app.compute)} s  ${f(app.wall)} s  ${f(c.compute)} s   `
        + `${f(c.wall)} s  ${c1 ? `${f(c1.compute)} s` : '     —'}`);
    }
  }
} finally {
  await browser.close();
  server.kill();
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
}
