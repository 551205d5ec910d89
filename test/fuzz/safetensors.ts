/**
 * Safetensors bytes written by hand, so that a header can say anything: repeated keys, raw number
 * tokens (1e12, -1, 2.5), offsets that overlap or leave gaps, a length field that lies.
 * Reads only the trusted reference fixtures. No dependency on src/.
 */

export interface Tensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** A JSON token written verbatim into a header. */
export class Raw {
  constructor(readonly text: string) {}
}

/** One header entry; a field left undefined is omitted. Values are JSON values or Raw tokens. */
export interface Entry {
  name: string;
  dtype?: unknown;
  shape?: unknown;
  data_offsets?: unknown;
}

export function readTensors(file: Uint8Array): Tensor[] {
  const n = Number(new DataView(file.buffer, file.byteOffset, file.byteLength).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const data = file.subarray(8 + n);
  return Object.entries(header).filter(([k]) => k !== '__metadata__').map(([name, t]) => ({
    name, dtype: t.dtype, shape: t.shape, bytes: Uint8Array.from(data.subarray(t.data_offsets[0], t.data_offsets[1])),
  }));
}

export function jsonText(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return `[${v.map(jsonText).join(',')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(',')}}`;
  return JSON.stringify(v);
}

export function entryText(e: Entry): string {
  const fields: string[] = [];
  for (const k of ['dtype', 'shape', 'data_offsets'] as const) if (e[k] !== undefined) fields.push(`${JSON.stringify(k)}:${jsonText(e[k])}`);
  return `${JSON.stringify(e.name)}:{${fields.join(',')}}`;
}

/** Header JSON text with the entries in order (a repeated name stays repeated). */
export function headerText(entries: Entry[], metadata?: Record<string, string>): string {
  const parts = entries.map(entryText);
  if (metadata) parts.unshift(`"__metadata__":${JSON.stringify(metadata)}`);
  return `{${parts.join(',')}}`;
}

/** Tensors laid out back to back from offset 0: the valid layout. */
export function layout(ts: Tensor[]): { entries: Entry[]; data: Uint8Array } {
  let at = 0;
  const entries = ts.map((t) => {
    const e = { name: t.name, dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes.length] };
    at += t.bytes.length;
    return e;
  });
  const data = new Uint8Array(at);
  at = 0;
  for (const t of ts) { data.set(t.bytes, at); at += t.bytes.length; }
  return { entries, data };
}

/**
 * Tensors placed at the given byte positions in a data block of `total` bytes (filler where nothing
 * is placed); entries record [position, position + length].
 */
export function place(ts: Tensor[], positions: number[], total: number, filler: (i: number) => number): { entries: Entry[]; data: Uint8Array } {
  const data = new Uint8Array(total);
  for (let i = 0; i < total; i++) data[i] = filler(i);
  const entries = ts.map((t, i) => {
    const p = positions[i];
    data.set(t.bytes.subarray(0, Math.max(0, Math.min(t.bytes.length, total - p))), p);
    return { name: t.name, dtype: t.dtype, shape: t.shape, data_offsets: [p, p + t.bytes.length] };
  });
  return { entries, data };
}

/**
 * 8-byte little-endian header length, header bytes (padded with spaces to a multiple of 8 like the
 * reference writer, unless pad is false), data. `headerLength` overrides the length field.
 */
export function assemble(header: string | Uint8Array, data: Uint8Array, opts: { headerLength?: bigint; pad?: boolean } = {}): Uint8Array {
  let hb = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  if (opts.pad !== false && (8 + hb.length) % 8 !== 0) {
    const padded = new Uint8Array(hb.length + (8 - ((8 + hb.length) % 8)));
    padded.fill(0x20);
    padded.set(hb);
    hb = padded;
  }
  const out = new Uint8Array(8 + hb.length + data.length);
  new DataView(out.buffer).setBigUint64(0, opts.headerLength ?? BigInt(hb.length), true);
  out.set(hb, 8);
  out.set(data, 8 + hb.length);
  return out;
}

/** Re-serialises tensors in the valid layout (the control for this writer). */
export function writeTensors(ts: Tensor[], metadata?: Record<string, string>): Uint8Array {
  const { entries, data } = layout(ts);
  return assemble(headerText(entries, metadata), data);
}

export const clone = (ts: Tensor[]): Tensor[] => ts.map((t) => ({ ...t, shape: [...t.shape], bytes: Uint8Array.from(t.bytes) }));
