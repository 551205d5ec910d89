import { fail } from '../core/errors.js';

/**
 * The safetensors format: 8-byte little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}, then the raw data
 * (offsets relative to the end of the header). Pure byte handling: runs in a browser as is.
 */
export interface NamedTensor {
  shape: number[];
  data: Float64Array;
}

const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2 };

export function parseSafetensors(bytes: Uint8Array, source = 'safetensors'): Map<string, NamedTensor> {
  const bad = (s: string): never => fail(`${source}: ${s}`);
  if (bytes.length < 8) bad('file is too short to be safetensors (no 8-byte header length)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.length - 8) bad(`header length ${headerLen} exceeds the file size ${bytes.length} (truncated or not safetensors)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch {
    bad('header is not valid JSON (corrupt or not safetensors)');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) bad('header must be a JSON object');
  const dataStart = 8 + headerLen;
  const out = new Map<string, NamedTensor>();
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const t = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) bad(`tensor ${name}: entry must be an object`);
    const width = typeof t.dtype === 'string' ? DTYPE_BYTES[t.dtype] : undefined;
    if (!width) bad(`tensor ${name}: unsupported dtype ${JSON.stringify(t.dtype)} (F64, F32, F16, BF16 are read)`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) bad(`tensor ${name}: bad shape`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1]) bad(`tensor ${name}: bad data_offsets`);
    const shape = t.shape as number[];
    const [begin, end] = off as [number, number];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * width!) bad(`tensor ${name}: ${end - begin} bytes do not hold shape [${shape.join(',')}] of ${t.dtype}`);
    if (dataStart + end > bytes.length) bad(`tensor ${name}: data runs past the end of the file (truncated)`);
    out.set(name, { shape, data: decode(view, dataStart + begin, count, t.dtype as string) });
  }
  return out;
}

function decode(view: DataView, at: number, count: number, dtype: string): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'F64': out[i] = view.getFloat64(at + 8 * i, true); break;
      case 'F32': out[i] = view.getFloat32(at + 4 * i, true); break;
      case 'F16': out[i] = half(view.getUint16(at + 2 * i, true)); break;
      default: out[i] = new Float32Array(new Uint32Array([view.getUint16(at + 2 * i, true) << 16]).buffer)[0];
    }
  }
  return out;
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Serialises tensors as F64 (lossless for our float64 values), names in the given order. */
export function serializeSafetensors(tensors: [string, NamedTensor][], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: 'F64', shape: t.shape, data_offsets: [offset, offset + 8 * t.data.length] };
    offset += 8 * t.data.length;
  }
  let json = JSON.stringify(header);
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += ' ';
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let at = 8 + hb.length;
  for (const [, t] of tensors) for (const v of t.data) { view.setFloat64(at, v, true); at += 8; }
  return out;
}
