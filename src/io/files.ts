import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../core/errors.js';
import { PRESETS } from '../core/presets.js';
import { buildModel, parseSpec, type Model } from '../core/spec.js';
import { parseSafetensors, type NamedTensor } from '../formats/safetensors.js';
import { decodeImage, type Bitmap } from '../formats/image.js';

/** Reading and writing files: the Node-only edge. Everything below src/core and src/formats is pure. */

export function readBytes(file: string, what: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(`${what} ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
  }
}

export function readJsonFile(file: string, what: string): unknown {
  const text = new TextDecoder().decode(readBytes(file, what));
  try {
    return JSON.parse(text);
  } catch (e) {
    fail(`${what} ${file}: invalid JSON (${(e as Error).message})`);
  }
}

/** A preset name or a path to a spec JSON file. */
export function loadModel(ref: string): Model {
  if (Object.hasOwn(PRESETS, ref)) return buildModel(PRESETS[ref]);
  if (ref.endsWith('.json') || fs.existsSync(ref)) return buildModel(parseSpec(readJsonFile(ref, 'model spec'), ref));
  fail(`unknown model "${ref}": not a preset (${Object.keys(PRESETS).slice(0, 6).join(', ')}, ...; see 'gradleak models') nor a spec file`);
}

export function readSafetensorsFile(file: string, what: string): Map<string, NamedTensor> {
  return parseSafetensors(readBytes(file, what), `${what} ${file}`);
}

export function readImageFile(file: string): Bitmap {
  return decodeImage(readBytes(file, 'image'), `image ${file}`);
}

/**
 * Writes every file or none: each goes to a temporary name first and is renamed into place only
 * after all were written, so a failure leaves no half-written output.
 */
export function writeFilesAtomically(files: { file: string; data: Uint8Array | string }[]): void {
  const temps: string[] = [];
  try {
    for (const { file, data } of files) {
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      const tmp = `${file}.tmp-${process.pid}`;
      fs.writeFileSync(tmp, data);
      temps.push(tmp);
    }
    files.forEach(({ file }, i) => fs.renameSync(temps[i], file));
  } catch (e) {
    for (const t of temps) fs.rmSync(t, { force: true });
    fail(`cannot write output: ${(e as Error).message}`);
  }
}
