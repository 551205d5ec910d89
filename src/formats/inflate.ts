import { Gunzip, Unzlib } from 'fflate';
import { fail } from '../core/errors.js';
import { formatBytes } from '../core/limits.js';

/**
 * zlib and gzip decompression that stops at a size limit. Compressed data can expand a thousandfold
 * (a 1 MB stream of zeros becomes 1 GB), so the input is fed in small pieces and the output counted
 * as it comes: a stream that would exceed `maxBytes` is refused after at most one piece's expansion.
 */
const PIECE = 4096;

class TooLarge extends Error {}

export function inflateBounded(
  data: Uint8Array, format: 'zlib' | 'gzip', maxBytes: number,
  source: string, corrupt = `corrupt ${format} data`,
): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const onData = (chunk: Uint8Array) => {
    total += chunk.length;
    if (total > maxBytes) throw new TooLarge();
    chunks.push(chunk);
  };
  const stream = format === 'zlib' ? new Unzlib(onData) : new Gunzip(onData);
  try {
    if (data.length === 0) stream.push(data, true);
    for (let i = 0; i < data.length; i += PIECE)
      stream.push(data.subarray(i, i + PIECE), i + PIECE >= data.length);
  } catch (e) {
    if (e instanceof TooLarge) {
      fail(`${source}: compressed data expands beyond ${formatBytes(maxBytes)}, `
        + `more than its header declares (a decompression bomb?)`);
    }
    fail(`${source}: ${corrupt} (${String((e as Error)?.message ?? e)})`);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}
