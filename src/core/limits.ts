import { fail } from './errors.js';

/**
 * The bounds gradleak holds its inputs to. Each is a property of the computation or of the data it
 * is meant for, not of one machine; the memory ceiling (memory.ts) is the machine-dependent part.
 */

/**
 * Image height or width, and a model's spatial sizes: 16384 (a 16k×16k image is far beyond any
 * classifier).
 */
export const MAX_SPATIAL = 1 << 14;
/** Channels or outputs of one layer (a linear layer of 2^20 classes is beyond any dataset). */
export const MAX_FEATURES = 1 << 20;
/** Kernel size, stride and padding. */
export const MAX_WINDOW = 1 << 10;
/** Layers in a chain. */
export const MAX_LAYERS = 1 << 10;
/** Pixels an image file may declare (4096×4096): decoders refuse larger images before inflating them. */
export const MAX_IMAGE_PIXELS = 1 << 24;
/**
 * Elements one typed array may hold: index arrays are Int32Array, so sparse matrices and envelopes
 * address at most 2^31 − 1 entries.
 */
export const MAX_ARRAY_ELEMENTS = 2 ** 31 - 1;

/**
 * Gradient rows the row path handles as a dense Schur complement (mg² values: 1.1 GiB at this
 * size); with more, the solver takes the dense column path instead (n² values for n unknowns).
 */
export const MAX_DENSE_ROWS = 12000;

/**
 * leaky_relu's negative slope. Its inverse divides by the slope, so a tiny slope multiplies any error
 * in a reconstructed activation (1e−6 already by a million); above 1 it is no longer a "leaky" ReLU.
 */
export const SLOPE_RANGE: readonly [number, number] = [1e-6, 1];

/**
 * Parameter magnitudes. PyTorch initialises |w| ≤ 1/√fan_in and trains in float32; a weight of 1e4
 * turns a one-grey-level change of a pixel (1/255) into a pre-activation change of 39, beyond where
 * tanh and sigmoid saturate in float64 (|z| > 19 and z > 37), so the layer's output no longer depends
 * on its input and nothing can be reconstructed or measured.
 */
export const MAX_ABS_PARAMETER = 1e4;
/**
 * Gradient magnitudes. A cross-entropy gradient is a softmax difference (|·| ≤ 1) times activations
 * and weights; with parameters below MAX_ABS_PARAMETER, 1e8 leaves orders of magnitude of room, and a
 * larger value means the file is not a gradient of this model.
 */
export const MAX_ABS_GRADIENT = 1e8;

/** Largest input files, by kind, before the memory ceiling is considered. */
export const MAX_FILE_BYTES = {
  spec: 16 * 2 ** 20,
  /** ONNX models: protobuf's own limit is 2 GiB (larger models keep their weights in external files). */
  onnx: 2 * 2 ** 30,
  image: 64 * 2 ** 20,
  safetensors: 16 * 2 ** 30,
  dataset: 2 ** 30,
} as const;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/**
 * A memory size from the command line: a number with an optional unit, binary multiples
 * (512M, 8G, 1.5GiB, 8GB = 8 GiB, 4096 = bytes). Strict: no blanks, no hex, no negative or zero sizes.
 */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s?([kmgt]?)(?:i?b)?$/i.exec(text);
  if (!m) fail(`${what} must be a size such as 512M, 8G or 1.5GiB, got ${JSON.stringify(text)}`);
  const bytes = Math.round(Number(m[1]) * UNITS[m[2].toLowerCase()]);
  if (!(bytes >= 2 ** 20)) fail(`${what} must be at least 1M, got ${JSON.stringify(text)}`);
  if (bytes > 2 ** 50) fail(`${what} is beyond any machine (${JSON.stringify(text)})`);
  return bytes;
}

/** Bytes for people: 1.2 GiB, 340 MiB, 12 KiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

/** Gradient rows per tile of the row path's Schur complement (linalg/wasm/schur.ts, `schurt`). */
export const SCHUR_TILE_ROWS = 16;

/**
 * Bytes of Yᵀ (rows of S × gradient rows) that `schurt` is given at a time: Yᵀ is copied into the
 * module's memory in groups of tiles of at most this size (linalg/wasm/schur.ts). 16 MiB: the same CPU
 * time as 64 on LeNet's audit, 27 MiB off the 224² audit's peak (docs/DESIGN.md, analytic scaling).
 */
export const SCHUR_BLOCK_BYTES = 16 * 2 ** 20;
