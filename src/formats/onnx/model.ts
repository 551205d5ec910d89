import { fail } from '../../core/errors.js';
import { formatBytes, MAX_ARRAY_ELEMENTS } from '../../core/limits.js';
import {
  fieldsOf, intCount, ints, realCount, reals, signed, sub, text, WIRE_VARINT, type Field,
} from './wire.js';

/**
 * The parts of ONNX's messages (onnx.proto) that gradleak reads: the model's opsets and graph; the
 * graph's nodes, initializers, inputs and outputs; nodes' attributes; tensors with their data
 * (raw_data little-endian, or float_data / double_data / int64_data / int32_data). Anything else
 * in the file is skipped. Field numbers are those of onnx.proto.
 */

export const DOUBLE = 11;
export const FLOAT = 1;
const INT64 = 7;
const INT32 = 6;
const TYPE_NAMES: Record<number, string> = {
  1: 'float', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};
export const typeName = (t: number) => TYPE_NAMES[t] ?? `type ${t}`;

export interface OnnxTensor { name: string; dims: number[]; dataType: number; values: Float64Array }

export interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: string;
  t?: OnnxTensor;
  floats: number[];
  ints: number[];
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

/** A graph input or output: element type and dimensions (a number, a symbolic name, or unknown). */
export interface OnnxValueInfo { name: string; elemType: number; dims: (number | string | null)[] | null }

export interface OnnxGraph {
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModel { irVersion: number; opsets: Map<string, number>; graph: OnnxGraph }

const intOf = (f: Field, what: string) => {
  if (f.wire !== WIRE_VARINT) fail(`${what}: malformed (field ${f.no} should be an integer)`);
  return signed(f.int, what);
};

/**
 * What decoding may still allocate, in bytes: 8 per value (float64) and a flat cost per object and
 * name, charged before the allocation, so that a file declaring more than the memory ceiling allows
 * is refused before it is built instead of exhausting memory (a protobuf field can be 2 bytes and
 * make an object of a hundred).
 */
interface Budget { what: string; max: number; left: number }
const OBJECT_BYTES = 96;

function spend(b: Budget, bytes: number, on: string): void {
  b.left -= bytes;
  if (b.left < 0) fail(`${b.what}: ${on} would take more than the ${formatBytes(b.max)} of memory `
    + 'a model may take here (raise --max-memory if the machine has more)');
}

/** A name, charged to the budget. */
function name(f: Field, b: Budget): string {
  spend(b, OBJECT_BYTES + 2 * f.bytes.length, 'its names');
  return text(f, b.what);
}

/**
 * Decodes a ModelProto; `what` starts every error (e.g. "model net.onnx"). `maxBytes` bounds what the
 * decoded model may take in memory (its tensors as float64, its nodes and names).
 */
export function decodeModel(bytes: Uint8Array, what: string, maxBytes = Infinity): OnnxModel {
  const b: Budget = { what, max: maxBytes, left: maxBytes };
  let irVersion = 0;
  let graph: OnnxGraph | null = null;
  const opsets = new Map<string, number>();
  for (const f of fieldsOf(bytes, what, 0)) {
    if (f.no === 1) irVersion = intOf(f, what);
    else if (f.no === 7) {
      if (graph) fail(`${what}: malformed (two graphs)`);
      graph = decodeGraph(sub(f, what), b, 1);
    } else if (f.no === 8) {
      let domain = '', version = 0;
      for (const g of fieldsOf(sub(f, what), what, 1)) {
        if (g.no === 1) domain = name(g, b);
        else if (g.no === 2) version = intOf(g, what);
      }
      opsets.set(domain === 'ai.onnx' ? '' : domain, version);
    }
  }
  if (!graph) fail(`${what}: not an ONNX model (no graph)`);
  return { irVersion, opsets, graph };
}

function decodeGraph(bytes: Uint8Array, b: Budget, depth: number): OnnxGraph {
  const g: OnnxGraph = { nodes: [], initializers: [], inputs: [], outputs: [] };
  const what = b.what;
  for (const f of fieldsOf(bytes, what, depth)) {
    if (f.no === 1) g.nodes.push(decodeNode(sub(f, what), b, depth + 1));
    else if (f.no === 5) g.initializers.push(decodeTensor(sub(f, what), b, depth + 1));
    else if (f.no === 11) g.inputs.push(decodeValueInfo(sub(f, what), b, depth + 1));
    else if (f.no === 12) g.outputs.push(decodeValueInfo(sub(f, what), b, depth + 1));
    else if (f.no === 15) fail(`${what}: sparse initializers are not supported`);
  }
  return g;
}

function decodeNode(bytes: Uint8Array, b: Budget, depth: number): OnnxNode {
  spend(b, 4 * OBJECT_BYTES, 'its nodes');
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: new Map() };
  const what = b.what;
  for (const f of fieldsOf(bytes, what, depth)) {
    if (f.no === 1) n.inputs.push(name(f, b));
    else if (f.no === 2) n.outputs.push(name(f, b));
    else if (f.no === 3) n.name = name(f, b);
    else if (f.no === 4) n.opType = name(f, b);
    else if (f.no === 7) n.domain = name(f, b);
    else if (f.no === 5) {
      const a = decodeAttribute(sub(f, what), b, depth + 1);
      if (n.attributes.has(a.name)) fail(`${what}: node "${clip(n.name)}" has two attributes `
        + `"${clip(a.name)}"`);
      n.attributes.set(a.name, a);
    }
  }
  if (n.domain === 'ai.onnx') n.domain = '';
  return n;
}

function decodeAttribute(bytes: Uint8Array, b: Budget, depth: number): OnnxAttribute {
  spend(b, OBJECT_BYTES, 'its attributes');
  const a: OnnxAttribute = { name: '', type: 0, floats: [], ints: [] };
  const what = b.what;
  for (const f of fieldsOf(bytes, what, depth)) {
    if (f.no === 1) a.name = name(f, b);
    else if (f.no === 20) a.type = intOf(f, what);
    else if (f.no === 2) {
      for (const v of reals(f, 4, what)) a.f = v;
    } else if (f.no === 3) a.i = intOf(f, what);
    else if (f.no === 4) a.s = name(f, b);
    else if (f.no === 5) a.t = decodeTensor(sub(f, what), b, depth + 1);
    else if (f.no === 7) {
      spend(b, 8 * realCount(f, 4, what), 'its attributes');
      for (const v of reals(f, 4, what)) a.floats.push(v);
    } else if (f.no === 8) {
      spend(b, 8 * intCount(f), 'its attributes');
      for (const v of ints(f, what)) a.ints.push(v);
    }
  }
  return a;
}

function decodeValueInfo(bytes: Uint8Array, b: Budget, depth: number): OnnxValueInfo {
  spend(b, OBJECT_BYTES, 'its inputs and outputs');
  const v: OnnxValueInfo = { name: '', elemType: 0, dims: null };
  const what = b.what;
  for (const f of fieldsOf(bytes, what, depth)) {
    if (f.no === 1) v.name = name(f, b);
    if (f.no !== 2) continue;
    // TypeProto.tensor_type (1) → elem_type (1), shape (2) → dim (1) → dim_value (1) | dim_param (2)
    for (const t of fieldsOf(sub(f, what), what, depth + 1)) {
      if (t.no !== 1) continue;
      for (const u of fieldsOf(sub(t, what), what, depth + 2)) {
        if (u.no === 1) v.elemType = intOf(u, what);
        if (u.no !== 2) continue;
        v.dims = [];
        for (const d of fieldsOf(sub(u, what), what, depth + 3)) {
          if (d.no !== 1) continue;
          let dim: number | string | null = null;
          spend(b, 8, 'its input and output shapes');
          for (const e of fieldsOf(sub(d, what), what, depth + 4)) {
            if (e.no === 1) dim = intOf(e, what);
            else if (e.no === 2) dim = name(e, b);
          }
          v.dims.push(dim);
        }
      }
    }
  }
  return v;
}

/** Tensors of more dimensions are not a model's weights (and a list of millions would be costly). */
const MAX_TENSOR_RANK = 8;

/**
 * A TensorProto with its values as float64 (integers exactly, when below 2^53). The fields are read
 * twice: first what the tensor declares, checked against the budget; then its values, straight into
 * their array.
 */
function decodeTensor(bytes: Uint8Array, b: Budget, depth: number): OnnxTensor {
  const what = b.what;
  const dims: number[] = [];
  let dataType = 0, tensorName = '', raw: Uint8Array | null = null, external = false, listed = 0;
  for (const f of fieldsOf(bytes, what, depth)) {
    if (f.no === 1) {
      for (const d of ints(f, what)) {
        if (dims.length === MAX_TENSOR_RANK) fail(`${what}: tensor "${clip(tensorName)}" has more than `
          + `${MAX_TENSOR_RANK} dimensions`);
        dims.push(d);
      }
    } else if (f.no === 2) dataType = intOf(f, what);
    else if (f.no === 8) tensorName = name(f, b);
    else if (f.no === 9) raw = sub(f, what);
    else if (f.no === 4) listed += realCount(f, 4, what);
    else if (f.no === 10) listed += realCount(f, 8, what);
    else if (f.no === 5 || f.no === 7) listed += intCount(f);
    else if (f.no === 13) external = true;
    else if (f.no === 14 && intOf(f, what) === 1) external = true;
    else if (f.no === 3) fail(`${what}: tensor "${clip(tensorName)}" is split into segments (not supported)`);
  }
  const at = `${what}: tensor "${clip(tensorName)}"`;
  if (external) fail(`${at} keeps its data in an external file (data_location EXTERNAL); gradleak reads `
    + 'self-contained models only (export without external data, below 2 GB)');
  if (dims.some((d) => d < 0)) fail(`${at}: malformed (a negative dimension)`);
  const count = dims.reduce((x, y) => x * y, 1);
  if (count > MAX_ARRAY_ELEMENTS) fail(`${at}: ${count} values are more than one array can hold`);
  const width = dataType === DOUBLE || dataType === INT64 ? 8
    : dataType === FLOAT || dataType === INT32 ? 4 : 0;
  if (width === 0) fail(`${at}: element type ${typeName(dataType)} is not supported `
    + '(float, double, int32, int64)');
  if (raw !== null) {
    if (raw.length !== count * width) fail(`${at}: malformed (${raw.length} bytes of data for `
      + `${count} ${typeName(dataType)} values)`);
    spend(b, OBJECT_BYTES + 8 * count, `tensor "${clip(tensorName)}"`);
    return { name: tensorName, dims, dataType, values: rawValues(raw, dataType, count, at) };
  }
  if (listed !== count) fail(`${at}: malformed (${listed} values for dimensions [${dims.join(', ')}])`);
  spend(b, OBJECT_BYTES + 8 * count, `tensor "${clip(tensorName)}"`);
  const values = new Float64Array(count);
  let k = 0;
  for (const f of fieldsOf(bytes, what, depth)) {
    const vs = f.no === 4 ? reals(f, 4, what) : f.no === 10 ? reals(f, 8, what)
      : f.no === 5 || f.no === 7 ? ints(f, what) : null;
    if (vs) for (const v of vs) values[k++] = v;
  }
  return { name: tensorName, dims, dataType, values };
}

function rawValues(raw: Uint8Array, dataType: number, count: number, at: string): Float64Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    if (dataType === DOUBLE) out[i] = view.getFloat64(8 * i, true);
    else if (dataType === FLOAT) out[i] = view.getFloat32(4 * i, true);
    else if (dataType === INT32) out[i] = view.getInt32(4 * i, true);
    else out[i] = signed(view.getBigInt64(8 * i, true), at);
  }
  return out;
}

/** A name from the file, shortened for an error message. */
export function clip(name: string): string {
  return JSON.stringify(name.slice(0, 80)).slice(1, -1);
}
