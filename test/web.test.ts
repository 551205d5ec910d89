import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { findBrowser, ROOT, runCli, skipOutsideCi, tmpDir } from './helpers.js';

/**
 * The web app in real Chromium (Debian's, driven by playwright-core; no browser download): the app is
 * built with Vite and served by its own preview server (with the Content-Security-Policy), and the
 * page's numbers must be the CLI's. Every request the page and its workers make is logged, and none
 * may leave the local origin. Screenshots and the request log go to out/web-test/ (git-ignored).
 */
const ARTIFACTS = path.join(ROOT, 'out/web-test');
const VITE = path.join(ROOT, 'node_modules/vite/bin/vite.js');

interface App {
  browser: Browser;
  context: BrowserContext;
  server: ChildProcess;
  origin: string;
  requests: string[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** `npm run preview:web` on a free port, resolved once it answers. */
async function preview(outDir: string): Promise<{ server: ChildProcess; origin: string }> {
  const port = await freePort();
  const server = spawn(process.execPath, [VITE, 'preview', 'web', '--outDir', outDir, '--host', '127.0.0.1',
    '--port', String(port), '--strictPort'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(origin).then((r) => r.ok, () => false);
    if (ok) return { server, origin };
    await new Promise((r) => setTimeout(r, 200));
  }
  server.kill();
  throw new Error('the preview server did not start');
}

/**
 * Counts the page's live object URLs (made and not yet revoked) in `window.liveUrls`: an init script,
 * run before the page's own.
 */
function countObjectUrls(): void {
  const live = new Set<string>();
  const create = URL.createObjectURL.bind(URL), revoke = URL.revokeObjectURL.bind(URL);
  URL.createObjectURL = (o: Blob | MediaSource) => { const u = create(o); live.add(u); return u; };
  URL.revokeObjectURL = (u: string) => { live.delete(u); revoke(u); };
  (window as unknown as { liveUrls: Set<string> }).liveUrls = live;
}

/** Whether an image at `url` still loads in the page (a revoked object URL does not). */
function loads(page: Page, url: string): Promise<boolean> {
  return page.evaluate((u) => new Promise<boolean>((resolve) => {
    const img = new Image();
    img.onload = () => resolve(true);
    img.onerror = () => resolve(false);
    img.src = u;
  }), url);
}

async function openApp(
  t: TestContext, app: App | null, query: string, init?: () => void,
): Promise<Page | null> {
  if (!app) return null;
  const page = await app.context.newPage();
  if (init) await page.addInitScript(init);
  page.on('pageerror', (e) => assert.fail(`page error: ${e.message}`));
  await page.goto(`${app.origin}/${query}`);
  await page.waitForSelector('body[data-ready]');
  t.diagnostic(`opened ${query}`);
  return page;
}

async function finished(page: Page, expect: string, timeout = 120_000): Promise<void> {
  await page.waitForSelector('body[data-done]', { timeout });
  const done = await page.getAttribute('body', 'data-done');
  assert.equal(done, expect, `the run ended with ${done}: ${await page.textContent('#status')}`);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
}

function cliJson(args: string[]): Record<string, unknown> {
  const r = runCli(args);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** The same JSON structure, numbers equal to 1e-12 relative. */
function assertClose(actual: unknown, expected: unknown, at: string): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    assert.ok(Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${at}: ${actual} vs ${expected}`);
  } else if (expected && typeof expected === 'object') {
    assert.ok(actual && typeof actual === 'object', `${at}: not an object`);
    assert.deepEqual(Object.keys(actual), Object.keys(expected), `${at}: keys`);
    for (const [k, v] of Object.entries(expected)) assertClose((actual as Record<string, unknown>)[k], v, `${at}.${k}`);
  } else {
    assert.equal(actual, expected, at);
  }
}

describe('web app in Chromium', () => {
  let app: App | null = null;
  let skip = '';

  before(async () => {
    const browser = findBrowser();
    if (!browser.path) {
      skip = `no Chromium found (tried ${browser.tried}): install Debian's chromium (.ci/run does) or set CHROMIUM`;
      return;
    }
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const outDir = tmpDir('web-build');
    const build = spawnSync(process.execPath, [VITE, 'build', 'web', '--outDir', outDir, '--emptyOutDir',
      '--logLevel', 'warn'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
    const { server, origin } = await preview(outDir);
    const b = await chromium.launch({ executablePath: browser.path, args: ['--no-sandbox', '--disable-gpu'] });
    const context = await b.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
    const requests: string[] = [];
    // every request of the pages and their workers; anything not local is logged and refused
    context.on('request', (r) => requests.push(`${r.method()} ${r.url()}`));
    await context.route((url) => url.origin !== origin && !['data:', 'blob:'].includes(url.protocol), (route) => {
      requests.push(`BLOCKED ${route.request().url()}`);
      return route.abort();
    });
    app = { browser: b, context, server, origin, requests };
  });

  after(async () => {
    if (!app) return;
    fs.writeFileSync(path.join(ARTIFACTS, 'requests.log'), app.requests.join('\n') + '\n');
    await app.browser.close();
    app.server.kill();
  });

  const setUp = (t: TestContext): boolean => {
    if (skip) skipOutsideCi(t, skip);
    return !skip;
  };

  it('the preview server sends the Content-Security-Policy', async (t) => {
    if (!setUp(t)) return;
    const r = await fetch(app!.origin);
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /connect-src 'none'/);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /https?:/);
  });

  it('audit of cnn3_c1 from a deep link: the table and index are the CLI\'s', async (t) => {
    if (!setUp(t)) return;
    const page = (await openApp(t, app, '?model=cnn3_c1&image=hills&run=audit'))!;
    await finished(page, 'audit');
    await shot(page, 'audit-cnn3_c1.png');
    const cli = cliJson(['audit', '--model', 'cnn3_c1', '--image', 'samples/hills.png', '--json']) as {
      copaIndex: number; layers: { rank: number; rankDeficiency: number; unknowns: number }[];
    };
    assert.equal(Number(await page.getAttribute('[data-testid=security-index]', 'data-value')), cli.copaIndex);
    assert.equal(cli.copaIndex, -2266);
    const rows = await page.$$eval('[data-testid=audit-table] tbody tr',
      (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.deepEqual(rows.map((r) => [Number(r[2]), Number(r[6]), Number(r[7])]),
      cli.layers.map((l) => [l.unknowns, l.rank, l.rankDeficiency]));
    await page.close();
  });

  it('rgap on hills: the reconstruction\'s PSNR is the CLI\'s', async (t) => {
    if (!setUp(t)) return;
    const page = (await openApp(t, app, '?model=cnn3_c1&image=hills&run=rgap'))!;
    await finished(page, 'rgap');
    await shot(page, 'rgap-cnn3_c1.png');
    const out = tmpDir('web-rgap');
    const cli = cliJson(['attack', '--method', 'rgap', '--model', 'cnn3_c1', '--image', 'samples/hills.png',
      '--out', out, '--json']) as { psnr: number };
    const psnr = Number(await page.getAttribute('[data-testid=psnr]', 'data-value'));
    assert.ok(Math.abs(psnr - cli.psnr) < 1e-9, `page ${psnr} dB, CLI ${cli.psnr} dB`);
    assert.equal(await page.textContent('[data-testid=psnr]'), cli.psnr.toFixed(2));
    const size = await page.$eval('[data-testid=reconstruction]', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
    assert.deepEqual(size, [32, 32]);
    // the download is the CLI's result.json (to the last bits, where Chromium's Math differs from Node's)
    const [download] = await Promise.all([
      page.waitForEvent('download'), page.click('#downloads a[download="result.json"]'),
    ]);
    assertClose(JSON.parse(fs.readFileSync(await download.path(), 'utf8')),
      JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8')), 'result.json');
    await page.close();
  });

  it('opens an ONNX model with the File API and audits it as the CLI does', async (t) => {
    if (!setUp(t)) return;
    const page = (await openApp(t, app, '?image=hills'))!;
    const onnx = path.join(ROOT, 'test/fixtures/onnx/mlp.onnx');
    await page.setInputFiles('#model-file', onnx);
    await page.waitForFunction(() => document.getElementById('model-note')!.textContent!.includes('mlp.onnx'));
    await page.click('#run-audit');
    await finished(page, 'audit');
    await shot(page, 'audit-onnx.png');
    const cli = cliJson(['audit', '--model', onnx, '--image', 'samples/hills.png', '--json']) as { copaIndex: number };
    assert.equal(Number(await page.getAttribute('[data-testid=security-index]', 'data-value')), cli.copaIndex);
    await page.close();
  });

  it('a long attack shows its progress and is cancelled from the keyboard; the next run works', async (t) => {
    if (!setUp(t)) return;
    const page = (await openApp(t, app, '?model=cnn3_c1&image=hills&run=ig&iterations=1000000'))!;
    await page.waitForFunction(() => /^\d+\/1000000 .*PSNR/.test(document.getElementById('status')!.textContent!),
      undefined, { timeout: 60_000 });
    await shot(page, 'ig-live-preview.png');
    const t0 = Date.now();
    await page.focus('#cancel');
    await page.keyboard.press('Enter');
    await finished(page, 'cancelled', 10_000);
    assert.ok(Date.now() - t0 < 5000, `cancelling took ${Date.now() - t0} ms`);
    await page.click('#run-audit');
    await finished(page, 'audit');
    await page.close();
  });

  it('a defence sweep draws its curve; a result\'s object URLs are revoked when another replaces it',
    async (t) => {
      if (!setUp(t)) return;
      const page = (await openApp(t, app, '?model=cnn2_c1&image=hills&run=defend&defences=noise:0.01,1',
        countObjectUrls))!;
      await finished(page, 'defend');
      await shot(page, 'defend-cnn2_c1.png');
      assert.match(await page.textContent('#defend-breaks') ?? '', /noise: /);
      assert.ok(await page.$('#downloads a[download="psnr-vs-strength.svg"]'));
      const state = () => page.evaluate(() => ({
        live: [...(window as unknown as { liveUrls: Set<string> }).liveUrls].sort(),
        links: [...document.querySelectorAll<HTMLAnchorElement>('#downloads a')].map((a) => a.href).sort(),
        curve: document.querySelector<HTMLImageElement>('#defend-curve')!.getAttribute('src'),
      }));
      const first = await state();
      // the curve is one of the downloads, and nothing else is held
      assert.deepEqual(first.live, first.links);
      assert.ok(first.curve && first.links.includes(first.curve), `curve ${first.curve}`);
      assert.equal(await loads(page, first.curve!), true);
      await page.click('#run-defend');
      await finished(page, 'defend');
      const second = await state();
      assert.deepEqual(second.live, second.links, 'the first sweep\'s URLs are revoked');
      assert.notEqual(second.curve, first.curve);
      assert.equal(await loads(page, first.curve!), false, 'the old curve no longer loads');
      assert.equal(await loads(page, second.curve!), true);
      await page.click('#run-audit');
      await finished(page, 'audit');
      const third = await state();
      assert.deepEqual(third.live, third.links);
      assert.equal(third.links.length, 2, 'audit.json and audit.md');
      assert.equal(third.curve, null, 'the hidden curve lets go of its URL');
      assert.equal(await loads(page, second.curve!), false);
      await page.close();
    });

  it('an adaptive sweep with secure aggregation over the bundled samples gives the CLI\'s rows; bad input is '
    + 'a message and the page still works', async (t) => {
    if (!setUp(t)) return;
    const page = (await openApp(t, app, '?model=cnn2_c1&image=hills'))!;
    await page.fill('#defend-methods', 'ig');
    await page.fill('#iterations', '5');
    await page.check('#adaptive');
    // nine clients need eight others; the page bundles five images, one of them the target
    await page.fill('#defences', 'secagg:9');
    await page.click('#run-defend');
    await finished(page, 'error');
    assert.match(await page.textContent('#status') ?? '', new RegExp('^defend: secagg:clients=9 needs 8 '
      + 'image\\(s\\) besides hills for the other clients; the population samples has 4$'));
    await page.fill('#defences', 'secagg:2');
    await page.click('#run-defend');
    await finished(page, 'defend');
    await shot(page, 'defend-secagg-adaptive.png');
    assert.match(await page.textContent('#defend-breaks') ?? '', /secagg: /);
    const [download] = await Promise.all([
      page.waitForEvent('download'), page.click('#downloads a[download="results.json"]'),
    ]);
    type Row = { key: string; defence: string; method: string; mode: string; psnr: number; ssim: number;
      relError: number; cosine: number };
    const web = JSON.parse(fs.readFileSync(await download.path(), 'utf8')) as { rows: Row[] };
    // the CLI's sweep of the same image (hills alone in a folder), crowd from --population samples
    const dir = tmpDir('web-secagg');
    fs.mkdirSync(path.join(dir, 'images'));
    fs.copyFileSync(path.join(ROOT, 'samples/hills.png'), path.join(dir, 'images/hills.png'));
    const r = runCli(['defend', '--model', 'cnn2_c1', '--images', path.join(dir, 'images'), '--count', '1',
      '--defence', 'secagg:2', '--methods', 'ig', '--iterations', '5', '--adaptive',
      '--out', path.join(dir, 'out')]);
    assert.equal(r.status, 0, r.stderr);
    const cli = JSON.parse(fs.readFileSync(path.join(dir, 'out/results.json'), 'utf8')) as { rows: Row[] };
    // the page names a bundled image as its menu does (hills), the CLI by its file (hills.png)
    const named = (rows: Row[]) =>
      rows.map((x) => ({ ...x, key: x.key.replace('hills.png', 'hills'), image: 'hills' }));
    assert.deepEqual(web.rows.map((x) => `${x.defence} ${x.method} ${x.mode}`),
      ['none ig naive', 'secagg ig naive', 'secagg ig adaptive']);
    assert.match(web.rows[2].key, /\|population=samples$/);
    assertClose(named(web.rows), named(cli.rows), 'rows');
    await page.close();
  });

  it('an adaptive attack on a secure-aggregation sum shows the whole crowd', async (t) => {
    if (!setUp(t)) return;
    const dir = tmpDir('web-crowd');
    const gradients = path.join(dir, 'secagg.safetensors');
    const s = runCli(['simulate', '--model', 'cnn2_c1', '--image', 'samples/hills.png', '--label', '0',
      '--defence', 'secagg:3', '--out', gradients]);
    assert.equal(s.status, 0, s.stderr);
    const cli = cliJson(['attack', '--method', 'ig', '--adaptive', '--model', 'cnn2_c1',
      '--gradients', gradients, '--target', 'samples/hills.png', '--iterations', '20',
      '--out', path.join(dir, 'out'), '--json']) as {
      crowd: number; psnr: number; pairs: { reconstruction: number }[];
    };
    assert.equal(cli.crowd, 3);
    const page = (await openApp(t, app, '?model=cnn2_c1&image=hills&iterations=20'))!;
    await page.setInputFiles('#gradients-file', gradients);
    await page.waitForFunction(() => document.getElementById('model-note')!.textContent!.includes('secagg'));
    await page.selectOption('#method', 'ig');
    await page.check('#adaptive');
    await page.click('#run-attack');
    await finished(page, 'ig');
    await shot(page, 'ig-secagg-crowd.png');
    assert.equal(await page.isVisible('[data-testid=crowd]'), true);
    assert.equal(await page.locator('#crowd-grid canvas').count(), 3);
    assert.match(await page.textContent('#crowd-grid') ?? '',
      new RegExp(`${cli.pairs[0].reconstruction} · closest`));
    const psnr = Number(await page.getAttribute('[data-testid=psnr]', 'data-value'));
    assert.ok(Math.abs(psnr - cli.psnr) < 1e-9 * Math.abs(cli.psnr), `page ${psnr} dB, CLI ${cli.psnr} dB`);
    // a plain attack after it hides the crowd
    await page.uncheck('#adaptive');
    await page.click('#run-attack');
    await finished(page, 'ig');
    assert.equal(await page.isVisible('[data-testid=crowd]'), false);
    await page.close();
  });

  it('no request left the local origin', (t) => {
    if (!setUp(t)) return;
    const foreign = app!.requests.filter((r) => !r.split(' ')[1].startsWith(app!.origin) || r.startsWith('BLOCKED'));
    assert.deepEqual(foreign.filter((r) => !/ (data|blob):/.test(r)), []);
    assert.ok(app!.requests.some((r) => /worker-.*\.js$/.test(r)), 'the worker script was loaded (and logged)');
  });
});
