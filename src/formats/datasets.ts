import { fail } from '../core/errors.js';
import { inflateBounded } from './inflate.js';
import type { Bitmap } from './image.js';

/**
 * Readers for the common image-classification dataset formats, on bytes (browser-safe):
 * (Fashion-)MNIST IDX files, gzipped or not, and CIFAR-10 binary batches.
 */
export interface Sample {
  bitmap: Bitmap;
  label: number | null;
}

// The largest IDX file read once unpacked: Fashion-MNIST's 60 000 training images are 47 MB.
const MAX_IDX_BYTES = 2 ** 30;

function maybeGunzip(bytes: Uint8Array, source: string): Uint8Array {
  const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  return gzipped ? inflateBounded(bytes, 'gzip', MAX_IDX_BYTES, source) : bytes;
}

/** An IDX file of unsigned bytes: its dimensions and data. */
export function parseIdx(raw: Uint8Array, source = 'IDX file'): { dims: number[]; data: Uint8Array } {
  const bytes = maybeGunzip(raw, source);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) fail(
    `${source}: not an IDX file (bad magic number)`);
  if (bytes[2] !== 0x08) fail(`${source}: IDX element type 0x${bytes[2].toString(16)} is not supported `
    + '(only unsigned bytes, 0x08)');
  const nd = bytes[3];
  if (nd < 1 || bytes.length < 4 + 4 * nd) fail(`${source}: truncated IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: nd }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * nd;
  if (bytes.length < start + count) fail(
    `${source}: truncated IDX data (${bytes.length - start} of ${count} bytes)`);
  return { dims, data: bytes.subarray(start, start + count) };
}

/** IDX images (N×H×W, greyscale) with optional IDX labels (N). */
export function idxSamples(images: Uint8Array, labels: Uint8Array | null, source = 'IDX'): Sample[] {
  const img = parseIdx(images, `${source} images`);
  if (img.dims.length !== 3) fail(
    `${source} images: expected 3 dimensions (N, H, W), got ${img.dims.length}`);
  const [n, h, w] = img.dims;
  let lab: Uint8Array | null = null;
  if (labels) {
    const l = parseIdx(labels, `${source} labels`);
    if (l.dims.length !== 1 || l.dims[0] !== n) fail(`${source}: ${l.dims[0]} labels for ${n} images`);
    lab = l.data;
  }
  return Array.from({ length: n }, (_, i) => ({
    bitmap: { width: w, height: h, channels: 1 as const, data: img.data.slice(i * h * w, (i + 1) * h * w) },
    label: lab ? lab[i] : null,
  }));
}

/** A CIFAR-10 binary batch: records of one label byte and 3×32×32 bytes (R, G, B planes). */
export function cifar10Samples(raw: Uint8Array, source = 'CIFAR-10 batch'): Sample[] {
  const rec = 1 + 3 * 1024;
  if (raw.length === 0 || raw.length % rec !== 0) fail(`${source}: ${raw.length} bytes is not a whole number `
    + `of ${rec}-byte CIFAR-10 records`);
  return Array.from({ length: raw.length / rec }, (_, i) => {
    const base = i * rec;
    const label = raw[base];
    if (label > 9) fail(`${source}: record ${i} has label ${label}, CIFAR-10 labels are 0..9`);
    const data = new Uint8Array(32 * 32 * 3);
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) data[p * 3 + c] = raw[base + 1 + c * 1024 + p];
    return { bitmap: { width: 32, height: 32, channels: 3 as const, data }, label };
  });
}
