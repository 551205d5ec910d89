import { decode as decodePng, encode as encodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import { fail } from '../core/errors.js';
import { MAX_IMAGE_PIXELS } from '../core/limits.js';
import { checkPng } from './png-check.js';

/** An 8-bit image, interleaved (HWC), 1 (grey) or 3 (RGB) channels. */
export interface Bitmap {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/**
 * Decodes PNG or JPEG bytes (by signature); alpha is dropped, 16-bit PNG is scaled to 8 bits. Both
 * decoders are bounded: at most MAX_IMAGE_PIXELS declared pixels, PNG data that inflates to no more
 * than its header implies (png-check.ts) and intact checksums, JPEG within jpeg-js's own limits.
 */
export function decodeImage(bytes: Uint8Array, source = 'image'): Bitmap {
  const isPng = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e
    && bytes[3] === 0x47;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (isPng) {
    checkPng(bytes, source);
    let img;
    try {
      img = decodePng(bytes, { checkCrc: true });
    } catch (e) {
      fail(`${source}: corrupt or truncated PNG (${errorText(e)})`);
    }
    if (img.palette) fail(`${source}: palette PNGs are not supported; save it as RGB or greyscale`);
    const ch = img.channels;
    const colour = ch >= 3 ? 3 : 1;
    const n = img.width * img.height;
    const out = new Uint8Array(n * colour);
    const scale = img.depth === 16 ? 1 / 257 : img.depth === 8 ? 1 : 255 / (2 ** img.depth - 1);
    for (let p = 0; p < n; p++)
      for (let c = 0; c < colour; c++) out[p * colour + c] = Math.round(img.data[p * ch + c] * scale);
    return { width: img.width, height: img.height, channels: colour as 1 | 3, data: out };
  }
  if (isJpeg) {
    let img;
    try {
      img = jpeg.decode(bytes, {
        useTArray: true, formatAsRGBA: true, tolerantDecoding: false,
        maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6, maxMemoryUsageInMB: JPEG_MEMORY_MB,
      });
    } catch (e) {
      fail(`${source}: corrupt, truncated or oversized JPEG (${errorText(e)})`);
    }
    const n = img.width * img.height;
    const out = new Uint8Array(n * 3);
    for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = img.data[p * 4 + c];
    return { width: img.width, height: img.height, channels: 3, data: out };
  }
  fail(`${source}: not a PNG or JPEG file`);
}

// jpeg-js's own allocation limit: a 4096×4096 RGBA image and its component buffers fit well within it.
const JPEG_MEMORY_MB = 256;

/** Decoders throw Errors or, in places, plain strings; one line either way. */
function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0].slice(0, 160);
}

export function encodeImagePng(img: Bitmap): Uint8Array {
  return encodePng({
    width: img.width, height: img.height, data: img.data, channels: img.channels, depth: 8,
  });
}

/**
 * How pixels map to the model's input: x = pixel/255·scale + offset (the reference: scale 1,
 * offset −0.5).
 */
export interface Normalisation {
  scale: number;
  offset: number;
}

export const REFERENCE_NORMALISATION: Normalisation = { scale: 1, offset: -0.5 };

/** To a CHW tensor with the model's channel count (grey is repeated to RGB, RGB averaged to grey). */
export function bitmapToTensor(
  img: Bitmap, shape: readonly [number, number, number], norm: Normalisation, source = 'image',
): Float64Array {
  const [C, H, W] = shape;
  if (img.width !== W || img.height !== H) fail(`${source}: image is ${img.width}×${img.height}, `
    + `the model expects ${W}×${H}`);
  if (C !== 1 && C !== 3) fail(`the model's input has ${C} channels; images give 1 or 3`);
  const out = new Float64Array(C * H * W);
  for (let p = 0; p < H * W; p++) {
    for (let c = 0; c < C; c++) {
      let v: number;
      if (img.channels === C) v = img.data[p * C + c];
      else if (img.channels === 1) v = img.data[p];
      else v = (img.data[p * 3] + img.data[p * 3 + 1] + img.data[p * 3 + 2]) / 3;
      out[c * H * W + p] = (v / 255) * norm.scale + norm.offset;
    }
  }
  return out;
}

/** Images, each fitted to the model's input, as one batch [N, C, H, W] (N = images.length). */
export function bitmapsToBatch(
  images: readonly { id: string; bitmap: Bitmap }[], shape: readonly [number, number, number],
  norm: Normalisation,
): { shape: number[]; data: Float64Array } {
  const n = shape[0] * shape[1] * shape[2];
  const data = new Float64Array(images.length * n);
  images.forEach((s, i) => data.set(
    bitmapToTensor(fitBitmap(s.bitmap, shape), shape, norm, `image ${s.id}`), i * n));
  return { shape: [images.length, ...shape], data };
}

/** The [0,1] view of a model-space tensor (inverse of the normalisation), unclipped. */
export function toUnitRange(x: ArrayLike<number>, norm: Normalisation): Float64Array {
  return Float64Array.from(x, (v) => (v - norm.offset) / norm.scale);
}

/** A [0,1] CHW tensor to an 8-bit bitmap (clipped, rounded). */
export function unitTensorToBitmap(x: ArrayLike<number>, shape: readonly [number, number, number]): Bitmap {
  const [C, H, W] = shape;
  const channels = C === 1 ? 1 : 3;
  const data = new Uint8Array(H * W * channels);
  for (let p = 0; p < H * W; p++) for (let c = 0; c < channels; c++) {
    const v = x[Math.min(c, C - 1) * H * W + p];
    data[p * channels + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
  }
  return { width: W, height: H, channels: channels as 1 | 3, data };
}

/**
 * Fits any bitmap to a model's input size: bilinear resampling to W×H (pixel centres aligned) and
 * channel conversion (grey repeated to RGB, RGB averaged to grey). Used for datasets whose images
 * are not the model's size, e.g. 28×28 Fashion-MNIST into a 3×32×32 model.
 */
export function fitBitmap(img: Bitmap, shape: readonly [number, number, number]): Bitmap {
  const [C, H, W] = shape;
  const channels = (C === 1 ? 1 : 3) as 1 | 3;
  const out = new Uint8Array(H * W * channels);
  const sample = (x: number, y: number, c: number) => {
    const cc = img.channels === 1 ? 0 : c;
    return img.data[(y * img.width + x) * img.channels + cc];
  };
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const sx = Math.min(img.width - 1, Math.max(0, ((x + 0.5) * img.width) / W - 0.5));
    const sy = Math.min(img.height - 1, Math.max(0, ((y + 0.5) * img.height) / H - 0.5));
    const x0 = Math.floor(sx), y0 = Math.floor(sy),
      x1 = Math.min(img.width - 1, x0 + 1), y1 = Math.min(img.height - 1, y0 + 1);
    const fx = sx - x0, fy = sy - y0;
    const px = (c: number) =>
      (1 - fy) * ((1 - fx) * sample(x0, y0, c) + fx * sample(x1, y0, c))
        + fy * ((1 - fx) * sample(x0, y1, c) + fx * sample(x1, y1, c));
    for (let c = 0; c < channels; c++) {
      const v = channels === 3 || img.channels === 1 ? px(c) : (px(0) + px(1) + px(2)) / 3;
      out[(y * W + x) * channels + c] = Math.round(v);
    }
  }
  return { width: W, height: H, channels, data: out };
}

/** Draws `src` into the RGB bitmap `dst` at (x0, y0), each source pixel as a `scale`×`scale` block. */
export function drawScaled(dst: Bitmap, src: Bitmap, x0: number, y0: number, scale: number): void {
  for (let y = 0; y < src.height * scale; y++) for (let x = 0; x < src.width * scale; x++) {
    const from = (Math.floor(y / scale) * src.width + Math.floor(x / scale)) * src.channels;
    const to = ((y0 + y) * dst.width + x0 + x) * dst.channels;
    for (let k = 0; k < dst.channels; k++) dst.data[to + k] = src.data[from + (src.channels === 3 ? k : 0)];
  }
}
