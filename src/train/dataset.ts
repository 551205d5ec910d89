import { fail } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { bitmapToTensor, type Bitmap, type Normalisation } from '../formats/image.js';
import type { Tensor } from '../tensor/tensor.js';

/** One training example: an 8-bit image the model's size (or resampled to it) and its class. */
export interface LabelledImage {
  bitmap: Bitmap;
  label: number;
}

/** Refuses labels the model has no class for, naming the first. */
export function checkLabels(images: readonly LabelledImage[], classes: number, source: string): void {
  const bad = images.findIndex((s) => !Number.isInteger(s.label) || s.label < 0 || s.label >= classes);
  if (bad >= 0) fail(`${source}: image ${bad} has label ${images[bad].label}, outside the model's `
    + `${classes} classes (0..${classes - 1})`);
}

/** Fisher–Yates, in place, from a seeded generator: the same seed gives the same order. */
export function shuffleInPlace(order: number[], rng: Rng): number[] {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * A held-out split: a seeded random `fraction` of the images (rounded, at least one) is held out, the
 * rest trained on; both keep the images' original order.
 */
export function splitHeldOut(
  images: readonly LabelledImage[], fraction: number, rng: Rng,
): { train: LabelledImage[]; heldOut: LabelledImage[] } {
  if (!(fraction >= 0 && fraction < 1)) fail(`the held-out fraction must be in [0, 1), got ${fraction}`);
  const count = fraction === 0 ? 0 : Math.max(1, Math.round(images.length * fraction));
  if (images.length - count < 1) fail(`${images.length} image(s) leave nothing to train on `
    + `after holding out ${count}`);
  const held = new Uint8Array(images.length);
  for (const i of shuffleInPlace(images.map((_, i) => i), rng).slice(0, count)) held[i] = 1;
  return { train: images.filter((_, i) => !held[i]), heldOut: images.filter((_, i) => held[i]) };
}

/** The images at `indices` as one batch [B, C, H, W] in the model's input space, and their labels. */
export function batchOf(
  images: readonly LabelledImage[], indices: readonly number[], shape: readonly [number, number, number],
  norm: Normalisation,
): { x: Tensor; labels: number[] } {
  const size = shape[0] * shape[1] * shape[2];
  const data = new Float64Array(indices.length * size);
  indices.forEach((i, b) => data.set(bitmapToTensor(images[i].bitmap, shape, norm, `image ${i}`), b * size));
  return { x: { shape: [indices.length, ...shape], data }, labels: indices.map((i) => images[i].label) };
}
