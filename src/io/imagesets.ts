import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from '../core/errors.js';
import { cifar10Samples, idxSamples } from '../formats/datasets.js';
import type { Bitmap } from '../formats/image.js';
import { readBytes, readImageFile } from './files.js';

/** One image of a study, with a stable id for results and resuming. */
export interface StudyImage {
  id: string;
  bitmap: Bitmap;
  label: number | null;
}

export const SAMPLES_DIR = fileURLToPath(new URL('../../../samples/', import.meta.url));

/**
 * The images a study runs on: 'samples' (the bundled 32×32 images), a folder of PNG/JPEG files
 * (sorted by name), a CIFAR-10 binary batch (*.bin) or an IDX image file (labels are read from the
 * matching labels-idx1 file beside it when present). The first `count` are taken.
 */
export function loadImageSet(spec: string, count: number): StudyImage[] {
  const target = spec === 'samples' ? SAMPLES_DIR : spec;
  if (!fs.existsSync(target)) fail(`images ${spec}: no such file or folder`);
  let out: StudyImage[];
  if (fs.statSync(target).isDirectory()) {
    const files = fs.readdirSync(target)
      .filter((f) => /\.(png|jpe?g)$/i.test(f) && !(spec === 'samples' && /-\d+\.png$/.test(f))).sort();
    if (files.length === 0) fail(`images ${spec}: no PNG or JPEG files in the folder`);
    out = files.slice(0, count).map((f) => ({
      id: f, bitmap: readImageFile(path.join(target, f)), label: null,
    }));
  } else if (/\.bin$/i.test(target)) {
    out = cifar10Samples(readBytes(target, 'CIFAR-10 batch', 'dataset'), target)
      .slice(0, count).map((s, i) => ({ id: `${path.basename(target)}#${i}`, ...s }));
  } else if (/idx3-ubyte/.test(target)) {
    const labelsFile = idxLabelsBeside(target);
    const labels = labelsFile ? readBytes(labelsFile, 'IDX labels', 'dataset') : null;
    out = idxSamples(readBytes(target, 'IDX images', 'dataset'), labels, target)
      .slice(0, count).map((s, i) => ({ id: `${path.basename(target)}#${i}`, ...s }));
  } else {
    fail(`images ${spec}: expected 'samples', a folder of PNG/JPEG, a CIFAR-10 .bin batch `
      + 'or an IDX images file');
  }
  return out;
}

/** The labels file beside an IDX images file by its usual name (…images-idx3… → …labels-idx1…). */
export function idxLabelsBeside(images: string): string | null {
  const labels = images.replace('images-idx3', 'labels-idx1').replace('idx3-ubyte', 'idx1-ubyte');
  return labels !== images && fs.existsSync(labels) ? labels : null;
}
