/**
 * Hand-built PNG and JPEG bytes for the fuzz suite: chunks with correct CRCs, so that each mutation
 * breaks exactly what it means to break (size, palette, inflation, declared dimensions).
 * No dependency on src/: the decoder under test must not also be the encoder that made its input.
 */
import zlib from 'node:zlib';
import jpeg from 'jpeg-js';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(...parts: Uint8Array[]): number {
  let c = 0xffffffff;
  for (const p of parts) for (let i = 0; i < p.length; i++) c = CRC_TABLE[(c ^ p[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** One PNG chunk: length, type, data, CRC over type and data. */
export function chunk(type: string, data: Uint8Array): Uint8Array {
  const t = new TextEncoder().encode(type);
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(t, 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(t, data));
  return out;
}

export function ihdr(width: number, height: number, bitDepth: number, colorType: number): Uint8Array {
  const d = new Uint8Array(13);
  const v = new DataView(d.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  d[8] = bitDepth; d[9] = colorType; d[10] = 0; d[11] = 0; d[12] = 0;
  return chunk('IHDR', d);
}

export type Pixel = (x: number, y: number) => number[];

/** A smooth, deterministic test pattern (values 0..255 per channel). */
export const pattern: Pixel = (x, y) => [
  (x * 8 + y * 3) & 0xff,
  (128 + Math.round(100 * Math.sin(x / 5) * Math.cos(y / 7))) & 0xff,
  (y * 8 + 17) & 0xff,
];

/** Unfiltered scanlines (filter byte 0) for 8-bit samples. */
export function scanlines(width: number, height: number, channels: number, px: Pixel): Uint8Array {
  const stride = 1 + width * channels;
  const raw = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const p = px(x, y);
    for (let c = 0; c < channels; c++) raw[y * stride + 1 + x * channels + c] = p[c % p.length];
  }
  return raw;
}

/** An 8-bit PNG: colour type 2 (RGB, 3 channels) or 0 (grey, 1 channel). */
export function encodePng(width: number, height: number, colorType: 0 | 2 = 2, px: Pixel = pattern): Uint8Array {
  const channels = colorType === 2 ? 3 : 1;
  const raw = scanlines(width, height, channels, colorType === 0 ? (x, y) => [pattern(x, y)[0]] : px);
  return concat([PNG_SIGNATURE, ihdr(width, height, 8, colorType), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

/** A valid 8-bit palette PNG (colour type 3) with `colours` entries. */
export function palettePng(width: number, height: number, colours: number): Uint8Array {
  const plte = new Uint8Array(3 * colours);
  for (let i = 0; i < colours; i++) { plte[3 * i] = (i * 37) & 0xff; plte[3 * i + 1] = (i * 91) & 0xff; plte[3 * i + 2] = (i * 13) & 0xff; }
  const raw = scanlines(width, height, 1, (x, y) => [(x + y) % colours]);
  return concat([PNG_SIGNATURE, ihdr(width, height, 8, 3), chunk('PLTE', plte), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

/**
 * A structurally valid 32×32 RGB PNG whose single zlib stream inflates to the image's 3104 bytes
 * followed by `extraBytes` zeros (a decompression bomb). With extraBytes = 0 it is a plain valid PNG
 * built the same way (the control).
 */
export function bombPng(extraBytes: number, idatChunkSize = 1 << 16): Uint8Array {
  const raw = scanlines(32, 32, 3, pattern);
  // deflateSync over one buffer: zeros compress ~1000:1, so 128 MiB is ~130 kB of IDAT
  const z = zlib.deflateSync(concat([raw, new Uint8Array(extraBytes)]), { level: 9 });
  const idats: Uint8Array[] = [];
  for (let at = 0; at < z.length; at += idatChunkSize) idats.push(chunk('IDAT', z.subarray(at, Math.min(z.length, at + idatChunkSize))));
  return concat([PNG_SIGNATURE, ihdr(32, 32, 8, 2), ...idats, chunk('IEND', new Uint8Array(0))]);
}

/** IHDR declaring width×height, then a tiny IDAT (one short row) and IEND; all CRCs correct. */
export function hugeHeaderPng(width: number, height: number): Uint8Array {
  const raw = new Uint8Array(1 + 3 * 16); // a filter byte and 16 pixels: far less than declared
  return concat([PNG_SIGNATURE, ihdr(width, height, 8, 2), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

/** Chunk boundaries of a PNG: [offset of length field, type, data length]. */
export function pngChunks(png: Uint8Array): { at: number; type: string; length: number }[] {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: { at: number; type: string; length: number }[] = [];
  for (let at = 8; at + 12 <= png.length;) {
    const length = v.getUint32(at);
    out.push({ at, type: String.fromCharCode(...png.subarray(at + 4, at + 8)), length });
    at += 12 + length;
  }
  return out;
}

/** A baseline JPEG of the test pattern (jpeg-js encoder). */
export function encodeJpeg(width: number, height: number, quality = 90): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const p = pattern(x, y);
    rgba.set([p[0], p[1], p[2], 255], (y * width + x) * 4);
  }
  return new Uint8Array(jpeg.encode({ data: rgba, width, height }, quality).data);
}

/** The JPEG with its SOF0 frame header declaring width×height instead (scan data unchanged). */
export function jpegWithDeclaredSize(jpg: Uint8Array, width: number, height: number): Uint8Array {
  const out = Uint8Array.from(jpg);
  for (let i = 2; i + 9 < out.length; i++) {
    if (out[i] === 0xff && out[i + 1] >= 0xc0 && out[i + 1] <= 0xc2) {
      const v = new DataView(out.buffer);
      v.setUint16(i + 5, height);
      v.setUint16(i + 7, width);
      return out;
    }
  }
  throw new Error('no SOF marker in the JPEG');
}
