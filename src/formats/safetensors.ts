import { fail } from '../core/errors.js';
import { MAX_ARRAY_ELEMENTS } from '../core/limits.js';

/**
 * The safetensors format: 8-byte little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}, then the raw data
 * (offsets relative to the end of the header). Pure byte handling: runs in a browser as is.
 */
export interface NamedTensor {
  shape: number[];
  data: Float64Array;
}

// I64 for PyTorch's num_batches_tracked, which every batch-norm state_dict holds (read, then ignored)
const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8 };

/** The safetensors specification's limit on the header. */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * Reads safetensors strictly, as the format's specification asks and a little more: the data
 * offsets must tile the data section exactly (sorted by offset, each tensor starting where the
 * previous ended, from 0 to the end of the file), so no two tensors share bytes, nothing is left
 * unaccounted for, and names are unique (JSON would silently keep the last of two equal keys).
 */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors'): Map<string, NamedTensor> {
  return parseSafetensorsFile(bytes, source).tensors;
}

/** The tensors and the header's `__metadata__` (its string values; the format allows no others). */
export function parseSafetensorsFile(
  bytes: Uint8Array, source = 'safetensors',
): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  const bad = (s: string): never => fail(`${source}: ${s}`);
  if (bytes.length < 8) bad('file is too short to be safetensors (no 8-byte header length)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.length - 8) bad(`header length ${headerLen} exceeds the file size ${bytes.length} `
    + '(truncated or not safetensors)');
  if (headerLen > MAX_HEADER_BYTES) {
    bad(`header length ${headerLen} is beyond the format's limit of ${MAX_HEADER_BYTES} bytes`);
  }
  let text: string;
  let header: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
    header = JSON.parse(text);
  } catch {
    bad('header is not valid JSON (corrupt or not safetensors)');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) bad(
    'header must be a JSON object');
  const names = topLevelKeys(text!);
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) bad(`tensor name ${quote(name)} appears twice in the header`);
    seen.add(name);
  }
  const dataStart = 8 + headerLen;
  const dataBytes = bytes.length - dataStart;
  const entries: { name: string; shape: number[]; dtype: string; begin: number; end: number }[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) bad(
        '__metadata__ must be an object');
      // fromEntries defines own keys, so a key "__proto__" stays a key
      metadata = Object.fromEntries(Object.entries(info as Record<string, unknown>)
        .filter((e): e is [string, string] => typeof e[1] === 'string'));
      continue;
    }
    const t = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) bad(`tensor ${quote(name)}: entry must be an object`);
    const width = typeof t.dtype === 'string' && Object.hasOwn(DTYPE_BYTES, t.dtype)
      ? DTYPE_BYTES[t.dtype]
      : undefined;
    if (!width) {
      const got = typeof t.dtype === 'string' ? quote(t.dtype) : typeof t.dtype;
      bad(`tensor ${quote(name)}: unsupported dtype ${got} (F64, F32, F16, BF16, I64 are read)`);
    }
    if (!Array.isArray(t.shape) || t.shape.length > 8
      || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      bad(`tensor ${quote(name)}: shape must be a list of at most 8 non-negative integers`);
    }
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)
      || off[0] > off[1]) {
      bad(`tensor ${quote(name)}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end`);
    }
    const shape = t.shape as number[];
    const [begin, end] = off as [number, number];
    const count = shape.reduce((a, b) => a * b, 1);
    if (count > MAX_ARRAY_ELEMENTS) bad(
      `tensor ${quote(name)}: ${count} elements are more than one array can hold`);
    if (end - begin !== count * width!) {
      bad(`tensor ${quote(name)}: ${end - begin} bytes do not hold shape [${shape.join(',')}] of ${t.dtype}`);
    }
    if (end > dataBytes) bad(`tensor ${quote(name)}: data runs past the end of the file (truncated)`);
    entries.push({ name, shape, dtype: t.dtype as string, begin, end });
  }
  // the tensors must tile the data section: sorted by offset, no gap, no overlap, nothing after
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin < at) {
      bad(`tensor ${quote(e.name)}: data_offsets [${e.begin}, ${e.end}] overlap another tensor's bytes`);
    }
    if (e.begin > at) {
      bad(`tensor ${quote(e.name)}: data_offsets leave ${e.begin - at} unused bytes before it (at ${at})`);
    }
    at = e.end;
  }
  if (at !== dataBytes) bad(
    `${dataBytes - at} bytes after the last tensor's data are not part of any tensor`);
  const out = new Map<string, NamedTensor>();
  for (const e of entries) {
    out.set(e.name, {
      shape: e.shape,
      data: decode(view, dataStart + e.begin, (e.end - e.begin) / DTYPE_BYTES[e.dtype], e.dtype),
    });
  }
  return { tensors: out, metadata };
}

/** A name for an error line: quoted, and cut short if long. */
function quote(name: string): string {
  return JSON.stringify(name.length > 60 ? `${name.slice(0, 57)}...` : name);
}

/**
 * The keys of a JSON object's top level, in order and with repeats, from text that JSON.parse has
 * already accepted (so only strings and nesting need tracking).
 */
export function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let i = json.indexOf('{') + 1, depth = 0, expectKey = true;
  while (i < json.length) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (depth === 0 && expectKey) {
        keys.push(JSON.parse(json.slice(i, j + 1)) as string);
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') { if (depth === 0) break; depth--; }
    else if (c === ',' && depth === 0) expectKey = true;
    i++;
  }
  return keys;
}

function decode(view: DataView, at: number, count: number, dtype: string): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'F64': out[i] = view.getFloat64(at + 8 * i, true); break;
      case 'F32': out[i] = view.getFloat32(at + 4 * i, true); break;
      case 'F16': out[i] = half(view.getUint16(at + 2 * i, true)); break;
      case 'I64': out[i] = Number(view.getBigInt64(at + 8 * i, true)); break;
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
export function serializeSafetensors(
  tensors: [string, NamedTensor][], metadata?: Record<string, string>,
): Uint8Array {
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
