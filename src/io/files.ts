import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fail, InputError } from '../core/errors.js';
import { formatBytes, MAX_FILE_BYTES } from '../core/limits.js';
import type { Graph } from '../model/graph.js';
import { modelFromBytes, unknownModelMessage } from '../app/inputs.js';
import { graphFromJson, presetGraph } from '../model/presets.js';
import { decodeImage, type Bitmap } from '../formats/image.js';

/** Reading and writing files: the Node-only edge. Everything below src/core and src/formats is pure. */

export type FileKind = keyof typeof MAX_FILE_BYTES;

const CHUNK = 1 << 20;

/**
 * Reads a whole input file, refusing what is not a regular file (devices, pipes, sockets: /dev/zero
 * never ends, a FIFO blocks) and anything larger than its kind's cap or the memory ceiling. The size
 * is enforced while reading, not only from stat: files under /proc report 0 and may still be long.
 */
export function readBytes(file: string, what: string, kind: FileKind, maxBytes = Infinity): Uint8Array {
  const cap = Math.min(MAX_FILE_BYTES[kind], maxBytes);
  const tooBig = (size: string) =>
    fail(`${what} ${file}: ${size}, more than the ${formatBytes(cap)} a ${kind} file may have`);
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    fail(`${what} ${file}: ${describeError(e)}`);
  }
  if (st.isDirectory()) fail(`${what} ${file}: is a directory`);
  if (!st.isFile()) fail(`${what} ${file}: not a regular file (a device, pipe or socket); `
    + 'gradleak reads files only');
  if (st.size > cap) tooBig(`${formatBytes(st.size)}`);
  let fd: number;
  try {
    // non-blocking, in case the path was swapped for a pipe after the check above
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    fail(`${what} ${file}: ${describeError(e)}`);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) fail(`${what} ${file}: not a regular file`);
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const buf = new Uint8Array(Math.min(CHUNK, cap + 1 - total));
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > cap) tooBig('longer than it said');
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) { out.set(c, at); at += c.length; }
    return out;
  } catch (e) {
    if (e instanceof InputError) throw e;
    fail(`${what} ${file}: ${describeError(e)}`);
  } finally {
    fs.closeSync(fd);
  }
}

function describeError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'ENOTDIR') return 'a part of the path is not a folder';
  if (code === 'ENAMETOOLONG') return 'the name is too long';
  if (code === 'ELOOP') return 'too many symbolic links';
  return (e as Error).message.split('\n')[0];
}

export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(readBytes(file, what, 'spec'));
  } catch (e) {
    if (e instanceof InputError) throw e;
    fail(`${what} ${file}: not UTF-8 text`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    fail(`${what} ${file}: invalid JSON (${(e as Error).message.split('\n')[0].slice(0, 120)})`);
  }
}

/**
 * A preset name, a path to a spec JSON file (a graph, or a chain of layers) or an ONNX model, read
 * within `maxBytes` (its float64 weights take up to twice the file's size beside it).
 */
export function loadModel(ref: string, maxBytes = Infinity): Graph {
  const preset = presetGraph(ref);
  if (preset) return preset;
  if (ref.toLowerCase().endsWith('.onnx')) {
    return modelFromBytes(ref, readBytes(ref, 'model', 'onnx', maxBytes), maxBytes);
  }
  if (ref.endsWith('.json') || fs.existsSync(ref)) return graphFromJson(readJsonFile(ref, 'model spec'), ref);
  fail(unknownModelMessage(ref));
}

/** A short hash of a file's bytes (12 hex digits of SHA-256): a study cell's key changes with them. */
export function contentHash(file: string, what: string, kind: FileKind, maxBytes?: number): string {
  return crypto.createHash('sha256').update(readBytes(file, what, kind, maxBytes)).digest('hex').slice(0, 12);
}

export function readImageFile(file: string): Bitmap {
  return decodeImage(readBytes(file, 'image', 'image'), `image ${file}`);
}

// Pseudo-filesystems where writing a file means something else, or hangs: refused as outputs.
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: 'proc', 0x62656572: 'sysfs', 0x27e0eb: 'cgroup', 0x63677270: 'cgroup2',
  0x64626720: 'debugfs', 0x74726163: 'tracefs', 0x73636673: 'securityfs', 0x62656570: 'configfs',
  0x6165676c: 'pstore', 0xcafe4a11: 'bpf',
};
const PSEUDO_DIRS = ['/proc', '/sys', '/dev'];

/**
 * Checks, before any work, that an output can be written where asked: the nearest existing folder
 * on its path is a writable folder on a real filesystem, and the output itself, if it exists, is of
 * the right kind (a folder for `dir`, a regular file for `file`). Creates nothing.
 */
export function checkOutput(target: string, kind: 'dir' | 'file', what = '--out'): void {
  if (target.trim() === '') fail(`${what} is empty`);
  const abs = path.resolve(target);
  let probe = abs;
  for (;;) {
    let st: fs.Stats | null = null;
    try { st = fs.statSync(probe); } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') fail(`${what} ${target}: ${describeError(e)}`);
    }
    if (st) {
      if (probe === abs) {
        if (kind === 'dir' && !st.isDirectory()) fail(`${what} ${target}: exists and is not a folder`);
        if (kind === 'file' && !st.isFile()) fail(`${what} ${target}: exists and is not a regular file`);
      } else if (!st.isDirectory()) {
        fail(`${what} ${target}: ${probe} is not a folder`);
      }
      break;
    }
    const up = path.dirname(probe);
    if (up === probe) break;
    probe = up;
  }
  const folder = probe === abs && kind === 'file' ? path.dirname(abs) : probe;
  const real = fs.realpathSync(folder);
  if (PSEUDO_DIRS.some((d) => real === d || real.startsWith(`${d}/`))) {
    fail(`${what} ${target}: ${real} is a system folder, not a place for outputs`);
  }
  const type = fs.statfsSync(real).type;
  if (Object.hasOwn(PSEUDO_FS, type)) {
    fail(`${what} ${target}: ${real} is on a ${PSEUDO_FS[type]} pseudo-filesystem, not a place for outputs`);
  }
  try {
    fs.accessSync(real, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    fail(`${what} ${target}: the folder ${real} is not writable`);
  }
}

const TEMP = /\.tmp-(\d+)$/;

/** Is there a live process with this id? (EPERM: yes, someone else's.) */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporary files (`<name>.tmp-<pid>`) that a process which no longer runs left in a folder
 * (killed with SIGKILL while writing), down to `depth` levels of subfolders; `names` restricts it to
 * the temporaries of those outputs (for folders that are not gradleak's own). Returns what it removed.
 */
export function removeStaleTemps(dir: string, depth = 0, names?: string[]): string[] {
  const removed: string[] = [];
  let entries: fs.Dirent[];
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return removed; }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (depth > 0) removed.push(...removeStaleTemps(full, depth - 1, names));
      continue;
    }
    const m = TEMP.exec(e.name);
    if (!m || !e.isFile() || alive(Number(m[1]))) continue;
    if (names && !names.includes(e.name.slice(0, -m[0].length))) continue;
    fs.rmSync(full, { force: true });
    removed.push(full);
  }
  return removed;
}

/**
 * A SIGINT, SIGTERM or SIGHUP that arrives while outputs are being written waits for the write to
 * finish (JavaScript handlers run between synchronous calls) and then ends the process with the
 * signal's status: no half-written or temporary file is left. Installed once per process; commands
 * with their own handler (the study) install theirs first.
 */
function deferSignalsUntilWritten(): void {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    // a command with its own handler (the study stops its workers and says what it kept) has it run
    // instead: ours steps aside when another listener is there when the signal comes
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      if (process.listenerCount(signal) === 0) process.exit(code);
    });
  }
}

/**
 * Writes every file or none: each goes to a temporary name first and is renamed into place only
 * after all were written, so a failure leaves no half-written output.
 */
export function writeFilesAtomically(files: { file: string; data: Uint8Array | string }[]): void {
  deferSignalsUntilWritten();
  const temps: string[] = [];
  try {
    for (const { file, data } of files) {
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      const tmp = `${file}.tmp-${process.pid}`;
      temps.push(tmp);
      fs.writeFileSync(tmp, data);
    }
    files.forEach(({ file }, i) => fs.renameSync(temps[i], file));
  } catch (e) {
    for (const t of temps) fs.rmSync(t, { force: true });
    fail(`cannot write output: ${describeError(e)}`);
  }
}
