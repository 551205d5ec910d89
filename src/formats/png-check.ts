import { fail } from '../core/errors.js';
import { MAX_IMAGE_PIXELS } from '../core/limits.js';
import { inflateBounded } from './inflate.js';

/**
 * Checks a PNG before it is decoded: its declared size must be within MAX_IMAGE_PIXELS, and its
 * image data must inflate to no more than the size its header implies (rows of filter byte +
 * packed samples, per Adam7 pass when interlaced). A 32×32 PNG whose data inflates to a gigabyte is
 * refused having inflated at most that size plus one piece.
 */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7: readonly [number, number, number, number][] = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
];

export function checkPng(bytes: Uint8Array, source: string): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let header: {
    width: number; height: number; depth: number; colour: number; interlace: number;
  } | null = null;
  const idat: Uint8Array[] = [];
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const body = at + 8;
    if (body + length + 4 > bytes.length) break; // truncated: the decoder names it
    if (type === 'IHDR' && length >= 13) {
      header = {
        width: view.getUint32(body), height: view.getUint32(body + 4),
        depth: bytes[body + 8], colour: bytes[body + 9], interlace: bytes[body + 12],
      };
      if (header.width === 0 || header.height === 0) {
        fail(`${source}: PNG declares an empty image (${header.width}×${header.height})`);
      }
      if (header.width * header.height > MAX_IMAGE_PIXELS) {
        fail(`${source}: PNG declares ${header.width}×${header.height} pixels, `
          + `more than the ${MAX_IMAGE_PIXELS} gradleak decodes`);
      }
    }
    if (type === 'IDAT') idat.push(bytes.subarray(body, body + length));
    if (type === 'IEND') break;
    at = body + length + 4;
  }
  if (!header) fail(`${source}: corrupt PNG (no IHDR chunk)`);
  const channels = CHANNELS[header.colour];
  if (!channels || ![1, 2, 4, 8, 16].includes(header.depth)) {
    fail(`${source}: PNG colour type ${header.colour} with depth ${header.depth} is not valid`);
  }
  const bits = channels * header.depth;
  const rowBytes = (cols: number) => (cols === 0 ? 0 : 1 + Math.ceil((cols * bits) / 8));
  const passes: readonly [number, number, number, number][] = header.interlace ? ADAM7 : [[0, 0, 1, 1]];
  let expected = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const cols = Math.max(0, Math.ceil((header.width - x0) / dx)),
      rows = Math.max(0, Math.ceil((header.height - y0) / dy));
    expected += rows * rowBytes(cols);
  }
  const data = new Uint8Array(idat.reduce((s, c) => s + c.length, 0));
  let k = 0;
  for (const c of idat) { data.set(c, k); k += c.length; }
  inflateBounded(data, 'zlib', expected, source, 'corrupt or truncated PNG');
}
