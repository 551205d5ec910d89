import { fail } from '../../core/errors.js';

/**
 * The protocol-buffer wire format, as much as ONNX files need: a message is a run of fields, each a
 * varint tag (field number, wire type) and a value. Every length is checked against the bytes left
 * and every nesting level counted, so a truncated or hostile file ends in one clear error instead of
 * a read past the end or an endless recursion. Values are views into the file's bytes (no copies),
 * and fields are yielded one at a time: a message of millions of tiny fields costs no more memory
 * than its bytes.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

/** ONNX nests model → graph → node → attribute → tensor; a few more levels are allowed, no more. */
export const MAX_DEPTH = 16;

export interface Field {
  no: number;
  wire: number;
  /** The value of a varint field. */
  int: bigint;
  /** The bytes of a length-delimited or fixed-size field. */
  bytes: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** Reads a varint at `at`; returns its value and the position after it. */
function varint(buf: Uint8Array, at: number, what: string): [bigint, number] {
  let v = 0n;
  for (let i = 0; i < 10; i++) {
    if (at + i >= buf.length) fail(`${what}: truncated (a number runs past the end of its message)`);
    const b = buf[at + i];
    v |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) return [BigInt.asUintN(64, v), at + i + 1];
  }
  fail(`${what}: malformed (a varint longer than 10 bytes)`);
}

/** The fields of one message, in order; `depth` is the message's nesting level. */
export function* fieldsOf(buf: Uint8Array, what: string, depth: number): Generator<Field> {
  if (depth > MAX_DEPTH) fail(`${what}: malformed (messages nested more than ${MAX_DEPTH} deep)`);
  let at = 0;
  while (at < buf.length) {
    const [tag, next] = varint(buf, at, what);
    at = next;
    const no = Number(tag >> 3n), wire = Number(tag & 7n);
    if (no === 0 || no > 2 ** 29 - 1) fail(`${what}: malformed (field number ${no})`);
    if (wire === WIRE_VARINT) {
      const [v, after] = varint(buf, at, what);
      at = after;
      yield { no, wire, int: v, bytes: EMPTY };
      continue;
    }
    let size: number;
    if (wire === WIRE_FIXED64) size = 8;
    else if (wire === WIRE_FIXED32) size = 4;
    else if (wire === WIRE_BYTES) {
      const [n, after] = varint(buf, at, what);
      at = after;
      if (n > BigInt(buf.length - at)) fail(`${what}: truncated (field ${no} declares ${n} bytes, `
        + `${buf.length - at} are left)`);
      size = Number(n);
    } else fail(`${what}: malformed (wire type ${wire} in field ${no})`);
    if (size > buf.length - at) fail(`${what}: truncated (field ${no} runs past the end)`);
    at += size;
    yield { no, wire, int: 0n, bytes: buf.subarray(at - size, at) };
  }
}

/** A varint field as a signed 64-bit integer, which must be exact as a JavaScript number. */
export function signed(v: bigint, what: string): number {
  const s = BigInt.asIntN(64, v);
  if (s > BigInt(Number.MAX_SAFE_INTEGER) || s < -BigInt(Number.MAX_SAFE_INTEGER)) fail(
    `${what}: the integer ${s} is beyond what gradleak handles`);
  return Number(s);
}

/** The integers of a repeated integer field, packed (one length-delimited run) or not. */
export function* ints(f: Field, what: string): Generator<number> {
  if (f.wire === WIRE_VARINT) {
    yield signed(f.int, what);
    return;
  }
  if (f.wire !== WIRE_BYTES) fail(`${what}: malformed (integers with wire type ${f.wire})`);
  let at = 0;
  while (at < f.bytes.length) {
    const [v, next] = varint(f.bytes, at, what);
    at = next;
    yield signed(v, what);
  }
}

/** How many integers a repeated integer field holds (its varints end in a byte below 0x80). */
export function intCount(f: Field): number {
  if (f.wire !== WIRE_BYTES) return 1;
  let n = 0;
  for (const b of f.bytes) if (b < 0x80) n++;
  return n;
}

/** The values of a repeated float (4 bytes) or double (8 bytes) field, packed or not. */
export function* reals(f: Field, width: 4 | 8, what: string): Generator<number> {
  const view = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
  for (let i = 0, n = realCount(f, width, what); i < n; i++) {
    yield width === 4 ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
  }
}

/** How many values a repeated float or double field holds. */
export function realCount(f: Field, width: 4 | 8, what: string): number {
  const wire = width === 4 ? WIRE_FIXED32 : WIRE_FIXED64;
  if (f.wire !== wire && f.wire !== WIRE_BYTES) fail(`${what}: malformed (reals with wire type ${f.wire})`);
  if (f.bytes.length % width !== 0) fail(`${what}: malformed (${f.bytes.length} bytes of `
    + `${width}-byte reals)`);
  return f.bytes.length / width;
}

/** A length-delimited field as UTF-8 text. */
export function text(f: Field, what: string): string {
  if (f.wire !== WIRE_BYTES) fail(`${what}: malformed (text with wire type ${f.wire})`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(f.bytes);
  } catch {
    fail(`${what}: malformed (a name that is not UTF-8)`);
  }
}

/** A length-delimited field holding a sub-message. */
export function sub(f: Field, what: string): Uint8Array {
  if (f.wire !== WIRE_BYTES) fail(`${what}: malformed (a message with wire type ${f.wire})`);
  return f.bytes;
}
