/**
 * Shared ground for the fuzz cases: paths, the reference fixture's bytes, valid base images, and the
 * few big shared inputs, built lazily once (the 1024×1024 image, the decompression bomb).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/core/rng.js';
import * as img from './png.js';
import { readTensors, type Tensor } from './safetensors.js';

/** Repository root (this file runs from dist/test/fuzz). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The CLI under test ($FUZZ_CLI to point the suite at another build). */
export const CLI = process.env.FUZZ_CLI || path.join(ROOT, 'dist/src/cli/main.js');
/** The reference fixtures (test/fixtures/reference), or $FUZZ_REFERENCE. */
export const REFERENCE = process.env.FUZZ_REFERENCE || path.join(ROOT, 'test/fixtures/reference');
export const FIXTURE = path.join(REFERENCE, 'cnn2_c2-chelsea');
export const FIXTURE_C1 = path.join(REFERENCE, 'cnn2_c1-chelsea');
export const SAMPLE = path.join(ROOT, 'samples/hills.png');
/** The cheapest preset whose rgap attack succeeds: bases for the option and image cases. */
export const BASE_MODEL = 'cnn2_c0';
/** The fixture's label (3) is valid for every 10-class base. */
export const LABEL = '3';

export type Command = 'audit' | 'attack' | 'compare' | 'simulate' | 'study' | 'demo' | 'models';
export const COMMANDS: Command[] = ['audit', 'attack', 'compare', 'simulate', 'study', 'demo', 'models'];

export const int = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r.uniform() * (hi - lo + 1));
export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r.uniform() * xs.length)];
export const randomBytes = (r: Rng, n: number): Uint8Array => Uint8Array.from({ length: n }, () => r.nextU32() & 0xff);

export interface Context {
  /** Temporary root for the whole run (under os.tmpdir()). */
  root: string;
  shared: string;
  fixture: { model: string; weights: string; gradients: string; target: string };
  weightsFile: Uint8Array;
  gradientsFile: Uint8Array;
  weights: Tensor[];
  gradients: Tensor[];
  /** The cnn2_c1 fixture's files (valid safetensors, wrong shapes for cnn2_c2). */
  otherWeightsFile: Uint8Array;
  otherGradientsFile: Uint8Array;
  spec: Record<string, unknown>;
  /** A folder holding one valid 32×32 image: the study's --images base. */
  imagesDir: string;
  pngSources: { name: string; bytes: Uint8Array }[];
  jpeg: Uint8Array;
  /** 1024×1024 RGB PNG for the [3,1024,1024] spec (built on first use). */
  bigImage(): string;
  /** Decompression bomb: valid 32×32 RGB PNG whose IDAT inflates to 3104 + 128 MiB bytes. */
  bomb(): Uint8Array;
}

export const BOMB_EXTRA = 128 << 20;

export function createContext(root: string): Context {
  const shared = path.join(root, 'shared');
  fs.mkdirSync(shared, { recursive: true });
  const read = (f: string) => new Uint8Array(fs.readFileSync(f));
  const fixture = {
    model: path.join(FIXTURE, 'model.json'),
    weights: path.join(FIXTURE, 'weights.safetensors'),
    gradients: path.join(FIXTURE, 'gradients.safetensors'),
    target: path.join(FIXTURE, 'target.png'),
  };
  const imagesDir = path.join(shared, 'images');
  fs.mkdirSync(imagesDir);
  fs.copyFileSync(SAMPLE, path.join(imagesDir, 'hills.png'));
  let big: string | null = null;
  let bomb: Uint8Array | null = null;
  const weightsFile = read(fixture.weights), gradientsFile = read(fixture.gradients);
  return {
    root, shared, fixture, weightsFile, gradientsFile,
    weights: readTensors(weightsFile),
    gradients: readTensors(gradientsFile),
    otherWeightsFile: read(path.join(FIXTURE_C1, 'weights.safetensors')),
    otherGradientsFile: read(path.join(FIXTURE_C1, 'gradients.safetensors')),
    spec: JSON.parse(fs.readFileSync(fixture.model, 'utf8')) as Record<string, unknown>,
    imagesDir,
    pngSources: [
      { name: 'hills.png', bytes: read(SAMPLE) },
      { name: 'target.png', bytes: read(fixture.target) },
      { name: 'rgb32', bytes: img.encodePng(32, 32, 2) },
      { name: 'grey32', bytes: img.encodePng(32, 32, 0) },
    ],
    jpeg: img.encodeJpeg(32, 32),
    bigImage() {
      if (!big) {
        big = path.join(shared, 'big-1024.png');
        fs.writeFileSync(big, img.encodePng(1024, 1024, 2));
      }
      return big;
    },
    bomb() {
      bomb ??= img.bombPng(BOMB_EXTRA);
      return bomb;
    },
  };
}
