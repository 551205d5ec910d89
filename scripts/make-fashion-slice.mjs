// Cuts the Fashion-MNIST slice the tests read (test/fixtures/fashion-mnist/): the first 16 images and
// labels of the t10k (test) set, from Debian's dataset-fashion-mnist package, as gzipped IDX files.
// The output is deterministic: the same input gives the same bytes (gzip header with mtime 0 and a
// fixed OS byte). Run once; the files are committed. Needs only Node (zlib).
// Usage: node scripts/make-fashion-slice.mjs [source-dir] [count]
//   source-dir defaults to /usr/share/datasets/fashion-mnist, count to 16.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const SRC = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const COUNT = Number(process.argv[3] ?? 16);
const OUT = fileURLToPath(new URL('../test/fixtures/fashion-mnist/', import.meta.url));

/** Reads a gzipped IDX file of unsigned bytes: its dimensions and the offset of its data. */
function readIdx(file, rank) {
  const b = zlib.gunzipSync(fs.readFileSync(file));
  if (b[0] !== 0 || b[1] !== 0 || b[2] !== 0x08 || b[3] !== rank) throw new Error(`${file}: not a rank-${rank} unsigned-byte IDX file`);
  const dims = Array.from({ length: rank }, (_, i) => b.readUInt32BE(4 + 4 * i));
  const start = 4 + 4 * rank;
  if (b.length !== start + dims.reduce((a, d) => a * d, 1)) throw new Error(`${file}: size does not match its header`);
  return { b, dims, start };
}

/** The first `n` items of an IDX file, header rewritten to say n. */
function slice({ b, dims, start }, n) {
  const item = dims.slice(1).reduce((a, d) => a * d, 1);
  const out = Buffer.concat([b.subarray(0, start), b.subarray(start, start + n * item)]);
  out.writeUInt32BE(n, 4);
  return out;
}

/** gzip with a fixed header: mtime 0 (zlib writes 0 already), OS byte 3 (Unix) whatever the platform. */
function gzip(data) {
  const gz = zlib.gzipSync(data, { level: 9 });
  gz.writeUInt32LE(0, 4);
  gz[9] = 3;
  return gz;
}

const images = readIdx(path.join(SRC, 't10k-images-idx3-ubyte.gz'), 3);
const labels = readIdx(path.join(SRC, 't10k-labels-idx1-ubyte.gz'), 1);
if (images.dims[0] !== labels.dims[0]) throw new Error(`${images.dims[0]} images but ${labels.dims[0]} labels`);
if (!(Number.isInteger(COUNT) && COUNT > 0 && COUNT <= images.dims[0])) throw new Error(`count must be 1..${images.dims[0]}`);

fs.mkdirSync(OUT, { recursive: true });
for (const [name, idx] of [['t10k-images-idx3-ubyte.gz', images], ['t10k-labels-idx1-ubyte.gz', labels]]) {
  const gz = gzip(slice(idx, COUNT));
  fs.writeFileSync(path.join(OUT, name), gz);
  console.log(`${path.relative(process.cwd(), path.join(OUT, name))}: ${gz.length} bytes`);
}
