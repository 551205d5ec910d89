/**
 * Cells and their results as JSON, for a job queue: a Float64Array travels as the base64 of its
 * bytes ({"$f64": …}, exact to the bit; every host we run on is little-endian) and a Map as its
 * entries ({"$map": […]}). Everything else in a cell is plain JSON already.
 */
export function toWire(value: unknown): unknown {
  if (value instanceof Float64Array) {
    return { $f64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  }
  if (value instanceof Map) return { $map: [...value].map(([k, v]) => [k, toWire(v)]) };
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]));
  }
  return value;
}

/** The inverse of `toWire`. */
export function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if (typeof o.$f64 === 'string') {
    const bytes = Buffer.from(o.$f64, 'base64');
    if (bytes.length % 8 !== 0) throw new Error('a float64 array of the queue is cut short');
    // copied, so the array starts on an 8-byte boundary whatever the buffer's offset
    const out = new Float64Array(bytes.length / 8);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  if (Array.isArray(o.$map)) {
    return new Map((o.$map as [string, unknown][]).map(([k, v]) => [k, fromWire(v)]));
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fromWire(v)]));
}
