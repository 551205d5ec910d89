/**
 * Mutations of input files: safetensors (--weights, --gradients), model spec JSON (--model; chain
 * specs here, graph specs in graphs.ts) and images (--image, --target, study --images). Every
 * mutation in INPUT_MUTATIONS makes the input invalid by construction: exit 2 is the only right
 * answer. RANDOM_MUTATIONS are genuinely random (the result may still be valid) and belong to the
 * separate fail-or-ok class.
 *
 * A mutation draws everything from the Rng it is given (one per case, seeded from the case's seed),
 * so the same seed gives the same bytes.
 */
import type { Rng } from '../../src/core/rng.js';
import { int, pick, randomBytes, type Command, type Context } from './context.js';
import { GRAPH, GRAPH_RANDOM, GRAPH_TARGETS } from './graphs.js';
import * as img from './png.js';
import * as st from './safetensors.js';

export type InputKind = 'safetensors' | 'spec' | 'graph' | 'image';

export interface Target {
  command: Command;
  /** The option that receives the mutated input (weights, gradients, model, image, target, images). */
  slot: string;
}

export type Content =
  | Uint8Array
  | string
  | { special: 'dir' | 'devzero' | 'fifo' }
  /** `prefix` then `size` bytes of spaces, written in chunks at run time and deleted after the case. */
  | { special: 'spaces'; size: number; prefix: string }
  /** study --images: the folder holds exactly these files instead of one mutated image. */
  | { special: 'folder'; files: Record<string, string | Uint8Array> };

export interface Made {
  detail: string;
  content: Content;
  /** File extension for the mutated file (png, jpg, json, safetensors). */
  ext?: string;
  /** Base invocation with the 1024×1024 image instead of the 32×32 sample. */
  bigImage?: boolean;
  /** Graph specs: a --weights file to pass with the model. */
  weights?: Uint8Array;
}

export interface InputMutation {
  kind: InputKind;
  name: string;
  /** Drawn with random parameters: eligible to fill the case count beyond one per target. */
  param: boolean;
  /** Slow or memory-hungry when mishandled: one case per target, never more. */
  heavy?: boolean;
  /** May block without using CPU (a FIFO): runs beside the CPU pool. */
  blocking?: boolean;
  applies?: (t: Target) => boolean;
  make(r: Rng, ctx: Context, t: Target): Made;
}

export const SAFETENSORS_TARGETS: Target[] = [
  { command: 'audit', slot: 'weights' }, { command: 'attack', slot: 'weights' }, { command: 'compare', slot: 'weights' }, { command: 'simulate', slot: 'weights' },
  { command: 'audit', slot: 'gradients' }, { command: 'attack', slot: 'gradients' }, { command: 'compare', slot: 'gradients' },
];
export const SPEC_TARGETS: Target[] = (['audit', 'attack', 'compare', 'simulate', 'demo'] as Command[]).map((command) => ({ command, slot: 'model' }));
export const IMAGE_TARGETS: Target[] = [
  ...(['audit', 'attack', 'compare', 'simulate', 'demo'] as Command[]).map((command) => ({ command, slot: 'image' })),
  { command: 'attack', slot: 'target' }, { command: 'compare', slot: 'target' },
  { command: 'study', slot: 'images' },
];
export const TARGETS: Record<InputKind, Target[]> = {
  safetensors: SAFETENSORS_TARGETS, spec: SPEC_TARGETS, graph: GRAPH_TARGETS, image: IMAGE_TARGETS,
};

// ---------------------------------------------------------------------------------------------
// safetensors

const tensorsOf = (ctx: Context, t: Target) => st.clone(t.slot === 'weights' ? ctx.weights : ctx.gradients);
const fileOf = (ctx: Context, t: Target) => (t.slot === 'weights' ? ctx.weightsFile : ctx.gradientsFile);
const validHeader = (ts: st.Tensor[]) => st.headerText(st.layout(ts).entries);
const rebuild = (ts: st.Tensor[], edit: (e: st.Entry[]) => void = () => {}): Uint8Array => {
  const { entries, data } = st.layout(ts);
  edit(entries);
  return st.assemble(st.headerText(entries), data);
};
const offsetsOf = (ts: st.Tensor[]) => st.layout(ts).entries.map((e) => e.data_offsets as [number, number]);
const dataLength = (ts: st.Tensor[]) => ts.reduce((a, t) => a + t.bytes.length, 0);

function setF32Bits(bytes: Uint8Array, index: number, bits: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(4 * index, bits >>> 0, true);
}
function f32Bits(x: number): number {
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, x, true);
  return b.getUint32(0, true);
}
const smallF32 = (r: Rng, n: number): Uint8Array => {
  const out = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) setF32Bits(out, i, f32Bits(0.1 * r.normal()));
  return out;
};

const ST: InputMutation[] = [
  { kind: 'safetensors', name: 'truncated', param: true, make(r, ctx, t) {
    const f = fileOf(ctx, t); // the fixture has no trailing bytes: every strict prefix is incomplete
    const cut = int(r, 1, f.length - 1);
    return { detail: `first ${cut} of ${f.length} bytes`, content: f.slice(0, cut) };
  } },
  { kind: 'safetensors', name: 'header-length-beyond-file', param: true, make(r, ctx, t) {
    const f = Uint8Array.from(fileOf(ctx, t));
    const len = BigInt(f.length - 8 + int(r, 1, 1 << 20));
    new DataView(f.buffer).setBigUint64(0, len, true);
    return { detail: `length field ${len}, file ${f.length} bytes`, content: f };
  } },
  { kind: 'safetensors', name: 'header-length-huge', param: true, make(r, ctx, t) {
    const f = Uint8Array.from(fileOf(ctx, t));
    const len = pick(r, [2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, BigInt(int(r, 2 ** 33, 2 ** 52))]);
    new DataView(f.buffer).setBigUint64(0, len, true);
    return { detail: `length field ${len}`, content: f };
  } },
  { kind: 'safetensors', name: 'header-length-short', param: true, make(r, ctx, t) {
    const f = Uint8Array.from(fileOf(ctx, t));
    const v = new DataView(f.buffer);
    const text = new TextDecoder().decode(f.subarray(8, 8 + Number(v.getBigUint64(0, true))));
    const len = int(r, 0, text.lastIndexOf('}')); // the closing brace falls outside: never valid JSON
    v.setBigUint64(0, BigInt(len), true);
    return { detail: `length field ${len} of ${text.length}`, content: f };
  } },
  { kind: 'safetensors', name: 'header-not-json', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const { data } = st.layout(ts);
    const h = validHeader(ts);
    const variants: Record<string, () => string> = {
      garbage: () => pick(r, ['%', '#', '@', '!']) + Array.from({ length: h.length - 1 }, () => String.fromCharCode(int(r, 32, 126))).join(''),
      'trailing-comma': () => h.slice(0, -1) + ',}',
      'single-quotes': () => h.replaceAll('"', "'"),
      'unquoted-key': () => h.replace('"dtype"', 'dtype'),
      unterminated: () => h.slice(0, -1),
      'nan-token': () => h.replace(/"shape":\[(\d+)/, '"shape":[NaN'),
      comment: () => `/* weights */${h}`,
      'open-string': () => h.replace('":{', ':{'),
    };
    const v = pick(r, Object.keys(variants));
    return { detail: v, content: st.assemble(variants[v](), data) };
  } },
  { kind: 'safetensors', name: 'header-not-object', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const { data } = st.layout(ts);
    const h = pick(r, ['[]', 'null', '42', '"layers"', 'true', `[${validHeader(ts)}]`]);
    return { detail: h.length > 12 ? 'array of the header' : h, content: st.assemble(h, data) };
  } },
  { kind: 'safetensors', name: 'header-not-utf8', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const { entries, data } = st.layout(ts);
    const bad = pick(r, [[0xff], [0xc3, 0x28], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xfe, 0xfe]]);
    if (r.uniform() < 0.2) {
      // the whole header as UTF-16LE with a byte-order mark
      const text = st.headerText(entries);
      const u16 = new Uint8Array(2 + 2 * text.length);
      u16[0] = 0xff; u16[1] = 0xfe;
      for (let i = 0; i < text.length; i++) u16[2 + 2 * i] = text.charCodeAt(i);
      return { detail: 'UTF-16LE header', content: st.assemble(u16, data) };
    }
    const enc = new TextEncoder();
    const rest = st.headerText(entries).slice(1);
    const header = img.concat([enc.encode('{"__metadata__":{"note":"ab'), Uint8Array.from(bad), enc.encode('cd"},'), enc.encode(rest)]);
    return { detail: `bytes ${bad.map((b) => b.toString(16)).join(' ')} in __metadata__`, content: st.assemble(header, data) };
  } },
  { kind: 'safetensors', name: 'dtype-unsupported', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const j = int(r, 0, ts.length - 1);
    const dtype = pick(r, ['I32', 'U32', 'F33', 'f32', '', 'float32', 'F32 ', 32, null]);
    return { detail: `${ts[j].name} dtype ${JSON.stringify(dtype)}`, content: rebuild(ts, (e) => { e[j].dtype = dtype; }) };
  } },
  { kind: 'safetensors', name: 'dtype-width-mismatch', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const j = int(r, 0, ts.length - 1);
    const dtype = pick(r, ['F64', 'F16', 'BF16']);
    return { detail: `${ts[j].name} says ${dtype}, holds F32 bytes`, content: rebuild(ts, (e) => { e[j].dtype = dtype; }) };
  } },
  { kind: 'safetensors', name: 'shape-negative', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const j = int(r, 0, ts.length - 1);
    const shape = [...ts[j].shape];
    if (shape.length >= 2 && r.uniform() < 0.5) { shape[0] = -shape[0]; shape[1] = -shape[1]; } // product unchanged
    else { const k = int(r, 0, shape.length - 1); shape[k] = -shape[k]; }
    return { detail: `${ts[j].name} [${shape}]`, content: rebuild(ts, (e) => { e[j].shape = shape; }) };
  } },
  { kind: 'safetensors', name: 'shape-fractional', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const j = int(r, 0, ts.length - 1);
    const shape: number[] = [...ts[j].shape];
    if (shape.length >= 2 && shape[1] % 2 === 0 && r.uniform() < 0.5) { shape[0] *= 2.5; shape[1] /= 2.5; } // product unchanged
    else if (shape.length >= 2 && r.uniform() < 0.5) { shape[0] *= 2; shape[1] /= 2; }
    else { const k = int(r, 0, shape.length - 1); shape[k] += pick(r, [0.5, 0.25, -0.5]); }
    if (shape.every(Number.isInteger)) shape[0] += 0.5;
    return { detail: `${ts[j].name} [${shape}]`, content: rebuild(ts, (e) => { e[j].shape = shape; }) };
  } },
  { kind: 'safetensors', name: 'shape-huge', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const j = int(r, 0, ts.length - 1);
    const huge = pick(r, [new st.Raw('1e12'), new st.Raw('1000000000000'), new st.Raw('9007199254740993'), new st.Raw('4294967297')]);
    if (r.uniform() < 0.4) {
      // a consistent zero-element tensor: [huge, 0, ...] with zero bytes
      const shape: unknown[] = [huge, 0, ...ts[j].shape.slice(2)];
      ts[j].bytes = new Uint8Array(0);
      return { detail: `${ts[j].name} [${shape.map(st.jsonText)}] (zero bytes)`, content: rebuild(ts, (e) => { e[j].shape = shape; }) };
    }
    const shape: unknown[] = [...ts[j].shape];
    shape[int(r, 0, shape.length - 1)] = huge;
    return { detail: `${ts[j].name} [${shape.map(st.jsonText)}]`, content: rebuild(ts, (e) => { e[j].shape = shape; }) };
  } },
  { kind: 'safetensors', name: 'shape-wrong-rank', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const j = int(r, 0, ts.length - 1);
    const s = ts[j].shape, n = s.reduce((a, b) => a * b, 1);
    const options = [[n], [...s, 1], [1, ...s], s.length >= 2 ? [s[0], n / s[0], 1, 1] : [n, 1], s.length === 4 ? [s[0], s[1], s[2] * s[3]] : [s[0], 1]];
    const shape = pick(r, options);
    return { detail: `${ts[j].name} [${shape}] for [${s}]`, content: rebuild(ts, (e) => { e[j].shape = shape; }) };
  } },
  { kind: 'safetensors', name: 'shape-not-array', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const j = int(r, 0, ts.length - 1);
    const s = ts[j].shape;
    const shape = pick(r, [s.join(','), s.reduce((a, b) => a * b, 1), null, { 0: s[0] }, [s], s.map(String), true, undefined]);
    return { detail: `${ts[j].name} shape ${shape === undefined ? 'missing' : JSON.stringify(shape)}`, content: rebuild(ts, (e) => { e[j].shape = shape; }) };
  } },
  { kind: 'safetensors', name: 'offsets-overlap', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const j = int(r, 1, ts.length - 1);
    const k = 4 * int(r, 1, ts[j - 1].bytes.length / 4);
    const pos = offsetsOf(ts).map(([b], i) => (i >= j ? b - k : b));
    const total = Math.max(...ts.map((x, i) => pos[i] + x.bytes.length)); // every byte used, some twice
    const { entries, data } = st.place(ts, pos, total, () => 0);
    return { detail: `${ts[j].name} starts ${k} bytes inside ${ts[j - 1].name}`, content: st.assemble(st.headerText(entries), data) };
  } },
  { kind: 'safetensors', name: 'offsets-aliased', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    if (r.uniform() < 0.5) {
      // a second name on exactly the same bytes as an existing tensor
      const j = int(r, 0, ts.length - 1);
      const name = pick(r, ['extra', `${ts[j].name}.alias`, 'layers.9.weight']);
      return { detail: `${name} on the bytes of ${ts[j].name}`, content: rebuild(ts, (e) => { e.push({ ...e[j], name }); }) };
    }
    // the smallest tensor (a bias) moved onto bytes inside a bigger one; its own bytes dropped
    const small = ts.reduce((a, x, i) => (x.bytes.length < ts[a].bytes.length ? i : a), 0);
    const rest = ts.filter((_, i) => i !== small);
    const host = int(r, 0, rest.length - 1);
    const { entries, data } = st.layout(rest);
    const [b, e] = entries[host].data_offsets as [number, number];
    const at = b + 4 * int(r, 0, (e - b - ts[small].bytes.length) / 4);
    entries.splice(small, 0, { name: ts[small].name, dtype: ts[small].dtype, shape: ts[small].shape, data_offsets: [at, at + ts[small].bytes.length] });
    return { detail: `${ts[small].name} inside ${rest[host].name} at ${at}`, content: st.assemble(st.headerText(entries), data) };
  } },
  { kind: 'safetensors', name: 'offsets-out-of-range', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const j = int(r, 0, ts.length - 1);
    const total = dataLength(ts), len = ts[j].bytes.length;
    const begin = r.uniform() < 0.7 ? total - len + int(r, 1, 1 << 20) : pick(r, [2 ** 40, 2 ** 52, 2 ** 32]);
    return { detail: `${ts[j].name} at [${begin}, ${begin + len}] of ${total}`, content: rebuild(ts, (e) => { e[j].data_offsets = [begin, begin + len]; }) };
  } },
  { kind: 'safetensors', name: 'offsets-malformed', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const j = int(r, 0, ts.length - 1);
    const [b, e] = offsetsOf(ts)[j];
    const variants: Record<string, unknown> = {
      reversed: [e, b], single: [b], triple: [b, e, e], fractional: [b + 0.5, e + 0.5], negative: [-4, e - b - 4],
      'beyond-2^53': [new st.Raw('9007199254740993'), new st.Raw(String(9007199254740993n + BigInt(e - b)))],
      strings: [String(b), String(e)], null: null, missing: undefined, object: { begin: b, end: e },
    };
    const v = pick(r, Object.keys(variants));
    return { detail: `${ts[j].name} ${v}`, content: rebuild(ts, (x) => { x[j].data_offsets = variants[v]; }) };
  } },
  { kind: 'safetensors', name: 'offsets-gap', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const i = int(r, 0, ts.length - 2), k = int(r, 1, 64);
    const pos = offsetsOf(ts).map(([b], n) => (n > i ? b + k : b));
    const { entries, data } = st.place(ts, pos, dataLength(ts) + k, () => r.nextU32() & 0xff);
    return { detail: `${k} unused bytes after ${ts[i].name}`, content: st.assemble(st.headerText(entries), data) };
  } },
  { kind: 'safetensors', name: 'offsets-not-from-zero', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const k = int(r, 1, 64);
    const pos = offsetsOf(ts).map(([b]) => b + k);
    const { entries, data } = st.place(ts, pos, dataLength(ts) + k, () => r.nextU32() & 0xff);
    return { detail: `first tensor at ${k}`, content: st.assemble(st.headerText(entries), data) };
  } },
  { kind: 'safetensors', name: 'trailing-bytes', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const k = int(r, 1, 4096);
    const { entries, data } = st.layout(ts);
    return { detail: `${k} bytes after the last tensor`, content: st.assemble(st.headerText(entries), img.concat([data, randomBytes(r, k)])) };
  } },
  { kind: 'safetensors', name: 'duplicate-name', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const j = int(r, 0, ts.length - 1);
    const { entries, data } = st.layout(ts);
    const v = pick(r, ['identical', 'second-differs', 'first-differs']);
    if (v === 'identical') {
      entries.splice(j + 1, 0, { ...entries[j] });
      return { detail: `${ts[j].name} twice, identical`, content: st.assemble(st.headerText(entries), data) };
    }
    // the other occurrence points at an appended copy with different values
    const extra = smallF32(r, ts[j].bytes.length / 4);
    const dup = { ...entries[j], data_offsets: [data.length, data.length + extra.length] };
    if (v === 'second-differs') entries.push(dup);
    else entries.unshift(dup);
    return { detail: `${ts[j].name} twice, ${v}`, content: st.assemble(st.headerText(entries), img.concat([data, extra])) };
  } },
  { kind: 'safetensors', name: 'missing-tensor', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const j = int(r, 0, ts.length - 1);
    const name = ts[j].name;
    ts.splice(j, 1);
    return { detail: name, content: rebuild(ts) };
  } },
  { kind: 'safetensors', name: 'unexpected-bias', param: false, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t); // layer 0 of cnn2_c2 has no bias
    ts.push({ name: 'layers.0.bias', dtype: 'F32', shape: [6], bytes: smallF32(r, 6) });
    return { detail: 'layers.0.bias on a layer without bias', content: rebuild(ts) };
  } },
  { kind: 'safetensors', name: 'non-finite', param: true, make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const j = int(r, 0, ts.length - 1);
    const n = int(r, 1, 3);
    const names: string[] = [];
    for (let k = 0; k < n; k++) {
      const [label, bits] = pick(r, [['NaN', 0x7fc00000], ['-NaN', 0xffc00000], ['sNaN', 0x7f800001], ['+Inf', 0x7f800000], ['-Inf', 0xff800000]] as const);
      const idx = int(r, 0, ts[j].bytes.length / 4 - 1);
      setF32Bits(ts[j].bytes, idx, bits);
      names.push(`${label}@${idx}`);
    }
    return { detail: `${ts[j].name} ${names.join(' ')}`, content: rebuild(ts) };
  } },
  { kind: 'safetensors', name: 'absurd-magnitude', param: true, applies: (t) => t.slot === 'weights', make(r, ctx, t) {
    const ts = tensorsOf(ctx, t);
    const j = int(r, 0, ts.length - 1);
    const idx = int(r, 0, ts[j].bytes.length / 4 - 1);
    const x = Math.min(3.4e38, (1 + 2.4 * r.uniform()) * 10 ** int(r, 36, 38)) * (r.uniform() < 0.5 ? -1 : 1);
    setF32Bits(ts[j].bytes, idx, f32Bits(x));
    return { detail: `${ts[j].name}[${idx}] = ${Math.fround(x).toExponential(2)}`, content: rebuild(ts) };
  } },
  { kind: 'safetensors', name: 'shapes-not-the-model', param: true, make(r, ctx, t) {
    if (r.uniform() < 0.25) return { detail: 'the cnn2_c1 fixture\'s file', content: t.slot === 'weights' ? ctx.otherWeightsFile : ctx.otherGradientsFile };
    const ts = tensorsOf(ctx, t);
    const j = int(r, 0, ts.length - 1);
    const alternatives: Record<string, number[][]> = {
      'layers.0.weight': [[6, 3, 2, 8], [3, 6, 4, 4], [6, 3, 8, 2], [2, 9, 4, 4], [12, 3, 2, 4]],
      'layers.1.weight': [[1350, 10], [5, 2700], [20, 675], [2, 6750]],
      'layers.1.bias': [[5], [20]],
    };
    const shape = pick(r, alternatives[ts[j].name]);
    if (ts[j].name === 'layers.1.bias') ts[j].bytes = smallF32(r, shape[0]); // consistent bytes, wrong length for the model
    return { detail: `${ts[j].name} [${shape}]`, content: rebuild(ts, (e) => { e[j].shape = shape; }) };
  } },
  { kind: 'safetensors', name: 'empty-file', param: false, make: () => ({ detail: '0 bytes', content: new Uint8Array(0) }) },
  { kind: 'safetensors', name: 'shorter-than-length-field', param: true, make(r) { const n = int(r, 1, 7); return { detail: `${n} bytes`, content: randomBytes(r, n) }; } },
  { kind: 'safetensors', name: 'directory', param: false, make: () => ({ detail: 'a directory', content: { special: 'dir' } }) },
  { kind: 'safetensors', name: 'dev-zero', param: false, heavy: true, make: () => ({ detail: '/dev/zero', content: { special: 'devzero' } }) },
  { kind: 'safetensors', name: 'fifo', param: false, blocking: true, make: () => ({ detail: 'a FIFO with no writer', content: { special: 'fifo' } }) },
];

// ---------------------------------------------------------------------------------------------
// model spec JSON

type Spec = Record<string, unknown> & { layers: Record<string, unknown>[] };
const specOf = (ctx: Context): Spec => structuredClone(ctx.spec) as Spec;
const text = (v: unknown) => JSON.stringify(v);
/** Sets (or with undefined, deletes) a field. */
function set(o: Record<string, unknown>, k: string, v: unknown): void {
  if (v === undefined) delete o[k];
  else o[k] = v;
}
const show = (v: unknown) => (v === undefined ? 'missing' : JSON.stringify(v));

/** A spec mutation that sets one field of layer `layer` (or of the spec) to one of `values`. */
function field(name: string, key: string, values: unknown[], layer: 'any' | 'conv' | 'top'): InputMutation {
  return {
    kind: 'spec', name, param: true, make(r, ctx) {
      const s = specOf(ctx);
      const v = pick(r, values);
      if (layer === 'top') { set(s, key, v); return { detail: `${key} ${show(v)}`, content: text(s), ext: 'json' }; }
      const i = layer === 'conv' ? 0 : int(r, 0, s.layers.length - 1);
      set(s.layers[i], key, v);
      return { detail: `layer ${i} ${key} ${show(v)}`, content: text(s), ext: 'json' };
    },
  };
}

const SPEC: InputMutation[] = [
  { kind: 'spec', name: 'invalid-json', param: true, make(r, ctx) {
    const t = text(ctx.spec);
    const variants: Record<string, () => string> = {
      truncated: () => t.slice(0, int(r, 1, t.length - 1)),
      'trailing-comma': () => `${t.slice(0, -1)},}`,
      'single-quotes': () => t.replaceAll('"', "'"),
      comment: () => `// model\n${t}`,
      'trailing-garbage': () => t + pick(r, ['}', 'x', ',', ' {}', '\u0000', ']']),
      'nan-literal': () => t.replace('"out":6', '"out":NaN'),
      'unquoted-key': () => t.replace('"input"', 'input'),
      'hex-number': () => t.replace('"kernel":4', '"kernel":0x4'),
      'leading-zero': () => t.replace('"kernel":4', '"kernel":04'),
    };
    const v = pick(r, Object.keys(variants));
    return { detail: v, content: variants[v](), ext: 'json' };
  } },
  { kind: 'spec', name: 'not-utf8', param: true, make(r, ctx) {
    const t = text(ctx.spec);
    const enc = new TextEncoder();
    const bad = pick(r, [[0xff], [0xc3, 0x28], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80]]);
    return { detail: `bytes ${bad.map((b) => b.toString(16)).join(' ')} in "name"`, content: img.concat([enc.encode('{"name":"cnn'), Uint8Array.from(bad), enc.encode(`",${t.slice(t.indexOf('"input"'))}`)]), ext: 'json' };
  } },
  { kind: 'spec', name: 'not-an-object', param: true, make(r, ctx) {
    const v = pick(r, ['[]', '"cnn2_c2"', '1', 'null', 'true', `[${text(ctx.spec)}]`]);
    return { detail: v.length > 12 ? '[spec]' : v, content: v, ext: 'json' };
  } },
  field('input-bad', 'input', [[3, 32, 0], [3, -32, 32], [0, 32, 32], [3, 31.5, 32], [3, 32], [3, 32, 32, 1], [], '3,32,32', null, [3, 32, '32'], [3, 32, true], undefined, [[3, 32, 32]]], 'top'),
  field('input-too-big', 'input', [[3, 1e20, 32], [3, 2 ** 53, 32], [1e9, 32, 32], [3, 32, 1e15]], 'top'),
  field('layers-bad', 'layers', [[], {}, 'conv', null, undefined, [null], [1], [[]], ['conv']], 'top'),
  field('type-unknown', 'type', ['dense', 'Conv', 'LINEAR', '', null, 5, undefined], 'any'),
  field('activation-unknown', 'activation', ['swish', 'ReLU', 'Tanh', '', 5, ['tanh'], 'leaky-relu', 'tanh '], 'any'),
  field('out-bad', 'out', [0, -1, -6, 2.5, '6', null, undefined, true, [6]], 'any'),
  { kind: 'spec', name: 'out-huge', param: false, heavy: true, make(r, ctx) {
    const s = specOf(ctx);
    const i = int(r, 0, 1), v = pick(r, [1e6, 1e7, 2 ** 31]);
    s.layers[i].out = v;
    return { detail: `layer ${i} out ${v}`, content: text(s), ext: 'json' };
  } },
  { kind: 'spec', name: 'kernel-too-large', param: true, make(r, ctx) {
    const s = specOf(ctx);
    const l = s.layers[0];
    if (r.uniform() < 0.2) {
      // a conv after the linear layer: its input is 10×1×1
      s.layers.push({ type: 'conv', out: 2, kernel: int(r, 2, 5), stride: 1, padding: 0, activation: 'identity' });
      return { detail: `conv kernel ${s.layers[2].kernel} after the linear layer (input 1×1)`, content: text(s), ext: 'json' };
    }
    const p = r.uniform() < 0.5 ? 0 : int(r, 1, 3);
    l.padding = p;
    l.kernel = 32 + 2 * p + int(r, 1, 32);
    return { detail: `kernel ${l.kernel}, padding ${p}, input 32`, content: text(s), ext: 'json' };
  } },
  field('kernel-bad', 'kernel', [0, -4, 2.5, '4', null, undefined, true], 'conv'),
  field('stride-bad', 'stride', [0, -2, 1.5, '2', true], 'conv'),
  field('padding-bad', 'padding', [-1, 0.5, '0', true], 'conv'),
  field('padding-huge', 'padding', [1e9, 1e6, 2 ** 31], 'conv'),
  { kind: 'spec', name: 'slope-bad', param: true, make(r, ctx) {
    const s = specOf(ctx);
    const v = pick(r, [1e308, 'NaN', -0.01, 0, '0.1', true, -1e308, null]);
    s.layers[0].activation = 'leaky_relu';
    s.layers[0].slope = v;
    return { detail: `leaky_relu slope ${JSON.stringify(v)}`, content: text(s), ext: 'json' };
  } },
  field('bias-bad', 'bias', ['true', 1, 0, null, 'yes', []], 'any'),
  field('classes-bad', 'classes', [5, 11, 0, -10, 10.5, '10', 1e6, null, true], 'top'),
  { kind: 'spec', name: 'layer-not-object', param: true, make(r, ctx) {
    const s = specOf(ctx);
    const i = int(r, 0, 1), v = pick(r, [5, 'conv', null, [], true]);
    (s.layers as unknown[])[i] = v;
    return { detail: `layer ${i} ${JSON.stringify(v)}`, content: text(s), ext: 'json' };
  } },
  { kind: 'spec', name: 'deep-nesting', param: true, make(r, ctx) {
    const d = int(r, 100000, 120000);
    const open = (c: string) => c.repeat(d);
    const t = text(ctx.spec);
    const v = pick(r, ['top-level', 'layers', 'input', 'objects', 'in-a-layer']);
    const body = ({
      'top-level': () => open('[') + open(']'),
      layers: () => `{"name":"deep","input":[3,32,32],"layers":${open('[')}${open(']')}}`,
      input: () => `{"name":"deep","input":${open('[')}${open(']')},"layers":${text(ctx.spec.layers)}}`,
      objects: () => `${open('{"a":')}1${open('}')}`,
      'in-a-layer': () => t.replace('"out":6', `"out":${open('{"a":')}1${open('}')}`),
    } as Record<string, () => string>)[v]();
    return { detail: `${v}, depth ${d}`, content: body, ext: 'json' };
  } },
  { kind: 'spec', name: 'huge-file-spaces', param: false, heavy: true, make: () => ({ detail: '200 MB of spaces', content: { special: 'spaces', size: 200 << 20, prefix: '' }, ext: 'json' }) },
  { kind: 'spec', name: 'huge-file-padded', param: false, heavy: true, make: (_r, ctx) => ({ detail: 'valid spec + 200 MB of spaces', content: { special: 'spaces', size: 200 << 20, prefix: text(ctx.spec) }, ext: 'json' }) },
  // simulate alone (one forward and backward pass) needs a few hundred MB here: not out of bounds by construction
  { kind: 'spec', name: 'memory-input-1024', param: false, heavy: true, applies: (t) => t.command !== 'simulate', make(_r, ctx) {
    const s = specOf(ctx);
    s.input = [3, 1024, 1024];
    return { detail: 'input [3,1024,1024] (with a 1024×1024 image)', content: text(s), ext: 'json', bigImage: true };
  } },
  { kind: 'spec', name: 'memory-linear-1e6', param: false, heavy: true, make(r, ctx) {
    const s = specOf(ctx);
    if (r.uniform() < 0.5) s.layers[1].out = 1e6;
    else s.layers.splice(1, 0, { type: 'linear', out: 1e6, bias: true, activation: 'tanh' });
    return { detail: s.layers.length === 2 ? 'last linear layer 1e6 outputs' : 'hidden linear layer 1e6 outputs', content: text(s), ext: 'json' };
  } },
  { kind: 'spec', name: 'empty-file', param: false, make: () => ({ detail: '0 bytes', content: '', ext: 'json' }) },
  { kind: 'spec', name: 'directory', param: false, make: () => ({ detail: 'a directory named *.json', content: { special: 'dir' }, ext: 'json' }) },
  { kind: 'spec', name: 'dev-zero', param: false, heavy: true, make: () => ({ detail: '/dev/zero', content: { special: 'devzero' }, ext: 'json' }) },
  { kind: 'spec', name: 'fifo', param: false, blocking: true, make: () => ({ detail: 'a FIFO with no writer', content: { special: 'fifo' }, ext: 'json' }) },
];

// ---------------------------------------------------------------------------------------------
// images

const notStudy = (t: Target) => t.slot !== 'images';

const IMAGE: InputMutation[] = [
  { kind: 'image', name: 'truncated-png', param: true, make(r, ctx) {
    const s = pick(r, ctx.pngSources);
    const cut = int(r, 1, s.bytes.length - 1); // IEND is last: every strict prefix is incomplete
    return { detail: `${s.name}: first ${cut} of ${s.bytes.length} bytes`, content: s.bytes.slice(0, cut), ext: 'png' };
  } },
  { kind: 'image', name: 'truncated-jpeg', param: true, make(r, ctx) {
    const cut = int(r, 1, ctx.jpeg.length - 1); // EOI is last
    return { detail: `first ${cut} of ${ctx.jpeg.length} bytes`, content: ctx.jpeg.slice(0, cut), ext: 'jpg' };
  } },
  { kind: 'image', name: 'wrong-size', param: true, applies: notStudy, make(r) {
    const [w, h] = pick(r, [[31, 32], [32, 31], [33, 32], [32, 33], [16, 16], [64, 64], [1, 1], [32, 1]]);
    if (r.uniform() < 0.3) return { detail: `${w}×${h} JPEG`, content: img.encodeJpeg(w, h), ext: 'jpg' };
    const grey = r.uniform() < 0.3;
    return { detail: `${w}×${h} ${grey ? 'grey' : 'RGB'} PNG`, content: img.encodePng(w, h, grey ? 0 : 2), ext: 'png' };
  } },
  { kind: 'image', name: 'palette-png', param: true, make(r) {
    const n = int(r, 2, 256);
    return { detail: `32×32, ${n} colours`, content: img.palettePng(32, 32, n), ext: 'png' };
  } },
  { kind: 'image', name: 'decompression-bomb', param: false, make: (_r, ctx) => ({ detail: `32×32 RGB, IDAT inflates to ${(3104 + (128 << 20)) >>> 20} MiB`, content: ctx.bomb(), ext: 'png' }) },
  { kind: 'image', name: 'png-huge-dimensions', param: true, make(r) {
    const [w, h] = pick(r, [[100000, 100000], [65535, 65535], [2 ** 31 - 1, 1], [1, 2 ** 31 - 1], [50000, 80000]]);
    return { detail: `IHDR ${w}×${h}, 49 bytes of data`, content: img.hugeHeaderPng(w, h), ext: 'png' };
  } },
  { kind: 'image', name: 'jpeg-huge-dimensions', param: true, make(r, ctx) {
    const [w, h] = pick(r, [[65535, 65535], [65500, 65500], [50000, 50000], [65535, 20000]]);
    return { detail: `SOF ${w}×${h}, 32×32 of scan data`, content: img.jpegWithDeclaredSize(ctx.jpeg, w, h), ext: 'jpg' };
  } },
  { kind: 'image', name: 'not-an-image', param: true, make(r, ctx) {
    const enc = (s: string) => new TextEncoder().encode(s);
    const variants: Record<string, () => Uint8Array> = {
      text: () => enc('hello, this is not an image\n'),
      json: () => enc(text(ctx.spec)),
      safetensors: () => ctx.weightsFile,
      gif: () => img.concat([enc('GIF89a'), randomBytes(r, 64)]),
      bmp: () => img.concat([enc('BM'), randomBytes(r, 64)]),
      random: () => { const b = randomBytes(r, int(r, 1, 4096)); if (b[0] === 0x89 || b[0] === 0xff) b[0] = 0x42; return b; },
      'png-prefix-only': () => Uint8Array.from([0x89, 0x50, 0x4e]),
      'jpeg-soi-only': () => Uint8Array.from([0xff, 0xd8, 0xff]),
    };
    const v = pick(r, Object.keys(variants));
    return { detail: v, content: variants[v](), ext: 'png' };
  } },
  { kind: 'image', name: 'png-bad-signature', param: true, make(r, ctx) {
    const s = Uint8Array.from(pick(r, ctx.pngSources).bytes);
    const k = int(r, 4, 7);
    s[k] ^= 1 << int(r, 0, 7);
    return { detail: `signature byte ${k} = 0x${s[k].toString(16)}`, content: s, ext: 'png' };
  } },
  { kind: 'image', name: 'png-bad-crc', param: true, make(r, ctx) {
    const src = pick(r, ctx.pngSources);
    const s = Uint8Array.from(src.bytes);
    const c = pick(r, img.pngChunks(s));
    const at = c.at + 8 + c.length + int(r, 0, 3);
    s[at] ^= 1 << int(r, 0, 7);
    return { detail: `${src.name}: ${c.type} CRC`, content: s, ext: 'png' };
  } },
  { kind: 'image', name: 'empty-file', param: false, make: () => ({ detail: '0 bytes', content: new Uint8Array(0), ext: 'png' }) },
  { kind: 'image', name: 'directory', param: false, make: () => ({ detail: 'a directory named *.png', content: { special: 'dir' }, ext: 'png' }) },
  { kind: 'image', name: 'dev-zero', param: false, heavy: true, make: () => ({ detail: '/dev/zero', content: { special: 'devzero' }, ext: 'png' }) },
  { kind: 'image', name: 'fifo', param: false, blocking: true, make: () => ({ detail: 'a FIFO with no writer', content: { special: 'fifo' }, ext: 'png' }) },
  { kind: 'image', name: 'no-images-in-folder', param: false, applies: (t) => t.slot === 'images', make: () => ({ detail: 'only notes.txt', content: { special: 'folder', files: { 'notes.txt': 'no images here\n' } } }) },
];

export const INPUT_MUTATIONS: InputMutation[] = [...ST, ...SPEC, ...GRAPH, ...IMAGE];

// ---------------------------------------------------------------------------------------------
// genuinely random mutations: the result may be valid; exit 0 with complete outputs is accepted

function flipBytes(r: Rng, b: Uint8Array, from: number, to: number, n: number): string[] {
  const at: string[] = [];
  for (let k = 0; k < n; k++) {
    const i = int(r, from, to - 1);
    b[i] ^= int(r, 1, 255);
    at.push(String(i));
  }
  return at;
}

export const RANDOM_MUTATIONS: InputMutation[] = [
  { kind: 'image', name: 'random-byte-flips', param: true, make(r, ctx) {
    const jpegSrc = r.uniform() < 0.3;
    const src = jpegSrc ? { name: 'jpeg', bytes: ctx.jpeg } : pick(r, ctx.pngSources);
    const b = Uint8Array.from(src.bytes);
    const at = flipBytes(r, b, jpegSrc ? 2 : 8, b.length, int(r, 1, 4));
    return { detail: `${src.name} bytes ${at.join(',')}`, content: b, ext: jpegSrc ? 'jpg' : 'png' };
  } },
  { kind: 'safetensors', name: 'random-data-flips', param: true, make(r, ctx, t) {
    const b = Uint8Array.from(fileOf(ctx, t));
    const start = 8 + Number(new DataView(b.buffer).getBigUint64(0, true));
    const at = flipBytes(r, b, start, b.length, int(r, 1, 8));
    return { detail: `data bytes ${at.join(',')}`, content: b };
  } },
  { kind: 'safetensors', name: 'random-header-flip', param: true, make(r, ctx, t) {
    const b = Uint8Array.from(fileOf(ctx, t));
    const end = 8 + Number(new DataView(b.buffer).getBigUint64(0, true));
    const i = int(r, 8, end - 1);
    b[i] = int(r, 32, 126);
    return { detail: `header byte ${i} = ${JSON.stringify(String.fromCharCode(b[i]))}`, content: b };
  } },
  { kind: 'spec', name: 'random-char', param: true, make(r, ctx) {
    const t = text(ctx.spec);
    const i = int(r, 0, t.length - 1);
    const c = String.fromCharCode(int(r, 32, 126));
    return { detail: `char ${i} ${JSON.stringify(t[i])} → ${JSON.stringify(c)}`, content: t.slice(0, i) + c + t.slice(i + 1), ext: 'json' };
  } },
  ...GRAPH_RANDOM,
];
