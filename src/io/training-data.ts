import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../core/errors.js';
import { cifar10Samples, idxSamples } from '../formats/datasets.js';
import type { LabelledImage } from '../train/dataset.js';
import { readBytes, readImageFile } from './files.js';
import { idxLabelsBeside } from './imagesets.js';

/** Labelled images read for training, and what they were. */
export interface LabelledData {
  images: LabelledImage[];
  /** 'IDX', 'CIFAR-10' or 'folder'. */
  format: string;
  /** The labels file an IDX set was read with. */
  labels?: string;
  /** A folder's class names, label i being classes[i]. */
  classes?: string[];
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;

/**
 * Labelled images from `files` (`what` names them in errors, e.g. --data): an IDX images file with its
 * labels (`labels`, else the file beside it by the usual name), one or more CIFAR-10 binary batches
 * (*.bin), or one folder with a subfolder of PNG/JPEG images per class (classes in name order).
 */
export function loadLabelledImages(
  files: readonly string[], labels: string | undefined, what: string,
): LabelledData {
  if (files.length === 0) fail(`${what} is required`);
  for (const f of files) if (!fs.existsSync(f)) fail(`${what} ${f}: no such file or folder`);
  const folders = files.filter((f) => fs.statSync(f).isDirectory());
  const bins = files.filter((f) => /\.bin$/i.test(f) && !folders.includes(f));
  if (labels !== undefined && (folders.length || bins.length)) fail(
    `labels files go with IDX images; ${what} ${folders[0] ?? bins[0]} carries its own labels`);
  if (folders.length) {
    if (files.length > 1) fail(`${what}: give one folder of class subfolders, alone`);
    return classFolders(files[0], what);
  }
  if (bins.length) {
    if (bins.length < files.length) fail(`${what}: CIFAR-10 batches (.bin) cannot be mixed with `
      + `${files.find((f) => !bins.includes(f))}`);
    return {
      images: bins.flatMap((f) => cifar10Samples(readBytes(f, 'CIFAR-10 batch', 'dataset'), `${what} ${f}`)
        .map((s) => ({ bitmap: s.bitmap, label: s.label! }))),
      format: 'CIFAR-10',
    };
  }
  if (files.length > 1) fail(
    `${what}: give one IDX images file (several files must be CIFAR-10 .bin batches)`);
  const file = files[0];
  const labelsFile = labels ?? idxLabelsBeside(file);
  if (!labelsFile) fail(`${what} ${file}: no labels file beside it (expected a …-labels-idx1… file); `
    + 'give --labels FILE');
  if (!fs.existsSync(labelsFile)) fail(`labels ${labelsFile}: no such file`);
  const samples = idxSamples(readBytes(file, 'IDX images', 'dataset'),
    readBytes(labelsFile, 'IDX labels', 'dataset'), `${what} ${file}`);
  const images = samples.map((s) => ({ bitmap: s.bitmap, label: s.label! }));
  return { images, format: 'IDX', labels: labelsFile };
}

/** A folder with one subfolder per class (name order gives the labels), PNG/JPEG images inside. */
function classFolders(dir: string, what: string): LabelledData {
  const classes = fs.readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort();
  if (classes.length === 0) fail(`${what} ${dir}: expected a folder of class subfolders `
    + '(one per class, PNG or JPEG images inside)');
  const images = classes.flatMap((c, label) => fs.readdirSync(path.join(dir, c))
    .filter((f) => IMAGE_FILE.test(f)).sort()
    .map((f) => ({ bitmap: readImageFile(path.join(dir, c, f)), label })));
  return { images, format: 'folder', classes };
}
