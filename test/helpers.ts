import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Graph } from '../src/model/graph.js';
import { initParams, paramsFromTensors } from '../src/model/params.js';
import { chainParams, chainToGraph, chainView } from '../src/model/chain.js';
import { buildGraph } from '../src/model/graph.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { simulateClient } from '../src/threat/client.js';
import type { ModelSpec } from '../src/model/chain-spec.js';
import { graphFromJson } from '../src/model/presets.js';
import type { ServerPayload, SharedUpdate } from '../src/threat/payload.js';
import { parseSafetensors } from '../src/formats/safetensors.js';
import { bitmapToTensor, decodeImage, REFERENCE_NORMALISATION, toUnitRange } from '../src/formats/image.js';

/** Repository root (tests run from dist/test). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The reference fixtures, vendored from ../shared/reference (see test/fixtures/reference/PROVENANCE.md). */
export const REFERENCE = path.join(ROOT, 'test/fixtures/reference');
/** The first 16 Fashion-MNIST test images and labels (see test/fixtures/fashion-mnist/LICENSE.md). */
export const FASHION_SLICE = path.join(ROOT, 'test/fixtures/fashion-mnist');
export const CLI = path.join(ROOT, 'dist/src/cli/main.js');

/**
 * For tests of something outside the repository (a system package): skips the test with `reason`,
 * printed in the output, or fails it when CI is "true", where nothing may skip. Return after calling.
 */
export function skipOutsideCi(t: TestContext, reason: string): void {
  if (process.env.CI === 'true') assert.fail(`${reason} (CI=true, so this fails instead of skipping)`);
  t.diagnostic(`skipped: ${reason}`);
  t.skip(reason);
}

const BROWSERS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** $CHROMIUM when set, else the first of BROWSERS that exists; null when there is none. */
export function findBrowser(): { path: string | null; tried: string } {
  const env = process.env.CHROMIUM;
  if (env) return { path: fs.existsSync(env) ? env : null, tried: `CHROMIUM=${env}` };
  return { path: BROWSERS.find((b) => fs.existsSync(b)) ?? null, tried: BROWSERS.join(', ') };
}

export interface Fixture {
  name: string;
  dir: string;
  model: Graph;
  /** What the server sent (the reference normalisation; these chains have no batch norm). */
  payload: ServerPayload;
  /** The shared gradients of one image, without its label. */
  update: SharedUpdate;
  /** Target on the [0,1] scale, CHW. */
  target: Float64Array;
  reference: {
    label: number;
    reference_rank_deficiency_by_layer: Record<string, number>;
    reference_copa_index: number;
    reference_rgap: { mse_01: number; psnr_01_db: number; seconds_2cores: number };
  };
  /** The reference's R-GAP reconstruction on [0,1], CHW. */
  rgapRecon: Float64Array;
}

export function fixtureNames(): string[] {
  if (!fs.existsSync(REFERENCE)) throw new Error(`reference fixtures not found at ${REFERENCE} (they are part of the repository: test/fixtures/reference)`);
  return fs.readdirSync(REFERENCE).filter((d) => fs.existsSync(path.join(REFERENCE, d, 'reference.json'))).sort();
}

export function loadFixture(name: string): Fixture {
  const dir = path.join(REFERENCE, name);
  const model = graphFromJson(JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')), name);
  const st = (f: string) => parseSafetensors(new Uint8Array(fs.readFileSync(path.join(dir, f))));
  const img = decodeImage(new Uint8Array(fs.readFileSync(path.join(dir, 'target.png'))));
  const params = paramsFromTensors(model, st('weights.safetensors'), 'weights', 'weights');
  const gradients = paramsFromTensors(model, st('gradients.safetensors'), 'gradients', 'gradients');
  return {
    name, dir, model,
    payload: { model, params, normalisation: REFERENCE_NORMALISATION, bnMode: 'train' },
    update: { gradients, batch: 1 },
    target: toUnitRange(bitmapToTensor(img, [model.input[0], model.input[1], model.input[2]], REFERENCE_NORMALISATION), REFERENCE_NORMALISATION),
    reference: JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')),
    rgapRecon: readNpyF64(path.join(dir, 'rgap_recon.npy')),
  };
}

/** Minimal .npy reader for little-endian float64 C-order arrays. */
export function readNpyF64(file: string): Float64Array {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = b[6];
  const hl = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + hl;
  const header = b.toString('latin1', major === 1 ? 10 : 12, start);
  if (!header.includes("'<f8'") || header.includes("'fortran_order': True")) throw new Error(`${file}: expected C-order <f8`);
  const out = new Float64Array((b.length - start) / 8);
  for (let i = 0; i < out.length; i++) out[i] = b.readDoubleLE(start + 8 * i);
  return out;
}

export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `gradleak-${tag}-`));
}

export interface CliRun { status: number; stdout: string; stderr: string }

export function runCli(args: string[], cwd = ROOT): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Bad input: status 2, one line on stderr, no stack trace, and nothing written to --out (appended). */
export function expectCleanFailure(args: string[], pattern: RegExp, outDir: string): CliRun {
  const r = runCli([...args, '--out', outDir]);
  assertCleanFailure(r, pattern);
  assert.ok(!fs.existsSync(outDir) || fs.readdirSync(outDir).length === 0, 'no partial output');
  return r;
}

/** Status 2 and exactly one `gradleak: error:` line matching `pattern`, no stack trace. */
export function assertCleanFailure(r: CliRun, pattern: RegExp): void {
  assert.equal(r.status, 2, `status ${r.status}; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `stderr: ${r.stderr}`);
  assert.match(lines[0], /^gradleak: error: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+|node:internal/);
}

/**
 * A chain spec as a graph with seeded weights, its chain view, and the client's gradients of one
 * image both by name and per layer: what the layer-wise tests need.
 */
export function chainCase(spec: ModelSpec, seed: number) {
  const graph = buildGraph(chainToGraph(spec));
  const view = chainView(graph);
  if ('reason' in view) throw new Error(view.reason);
  const params = initParams(graph, seed);
  const [c, h, w] = spec.input;
  const client = (x: Float64Array, label: number) => {
    const r = simulateClient(JS_KERNELS, graph, params, 'eval', { shape: [1, c, h, w], data: x }, [label]);
    return { update: r.update, loss: r.loss, layers: chainParams(view, r.update.gradients) };
  };
  return { graph, view, params, layers: chainParams(view, params), client, model: view.model };
}
