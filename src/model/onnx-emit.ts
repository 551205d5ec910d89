import { fail } from '../core/errors.js';
import { clip, type OnnxNode, type OnnxTensor } from '../formats/onnx/model.js';
import { getOp } from '../ops/registry.js';
import { formatShape, sameShape, type Shape } from '../tensor/tensor.js';
import { MAX_NODES, type NodeSpec } from './graph.js';

/** The state of an ONNX conversion (model/onnx-import.ts) and what its node mappers share. */

const NAME = /^[\w.+-]{1,100}$/;

/** A tensor a mapper gives a node, possibly in gradleak's layout where files keep the transpose. */
export type GivenTensor = OnnxTensor & { transposed?: boolean };

/** What an ONNX value is: a node's output (per-sample shape) or a constant. */
export type OnnxValue = { kind: 'node'; node: string; shape: Shape } | { kind: 'const'; tensor: OnnxTensor };
export type NodeValue = Extract<OnnxValue, { kind: 'node' }>;

/** The conversion's state, passed to the node mappers. */
export interface Conversion {
  what: string;
  values: Map<string, OnnxValue>;
  /** The nodes reading each value (and 1 more for a graph output). */
  readers: Map<string, OnnxNode[]>;
  outputs: Set<string>;
  nodes: NodeSpec[];
  taken: Set<string>;
  /** The next suffix to try for a node name already taken (keeps naming linear in the nodes). */
  suffixes: Map<string, number>;
  /** Initializers already given to a node (a second use would be a shared weight). */
  used: Set<string>;
  weights: Map<string, Float64Array>;
  /** Value arrays already given to a node: an Identity of an initializer shares its array. */
  arrays: Set<Float64Array>;
  /** ONNX nodes another mapper already accounted for (the Add after a MatMul). */
  absorbed: Set<OnnxNode>;
}

/** A node input that is computed (not a constant); `at` names the node in errors. */
export function computed(c: Conversion, n: OnnxNode, i: number, at: (s: string) => string): NodeValue {
  const v = c.values.get(n.inputs[i] ?? '');
  if (!v || v.kind !== 'node') fail(at(`input ${i + 1} must be computed from the image, not a constant`));
  return v;
}

/** A node input that is a constant (an initializer or a Constant node's value). */
export function constant(c: Conversion, n: OnnxNode, i: number, at: (s: string) => string): OnnxTensor {
  const v = c.values.get(n.inputs[i] ?? '');
  if (!v || v.kind !== 'const') fail(at(`input ${i + 1} must be an initializer or a constant`));
  return v.tensor;
}

/**
 * Adds a graph node for an ONNX node: the op infers its shape (so a shape that does not check names
 * the ONNX node), each declared tensor takes its initializer, whose dimensions must match.
 */
export function emit(
  c: Conversion, n: OnnxNode, at: (s: string) => string, fields: Record<string, unknown>,
  ins: NodeValue[], tensors: Record<string, GivenTensor> = {}, output = n.outputs[0],
): void {
  if (c.nodes.length >= MAX_NODES) fail(at(`the model has more than the ${MAX_NODES} nodes supported`));
  const op = getOp(fields.op, at);
  const attrs = op.attrs(fields, at);
  const shape = op.shape(attrs as never, ins.map((v) => v.shape), at);
  const name = nodeName(c, n, tensors);
  const files: Record<string, string> = {};
  const transposed: string[] = [];
  for (const d of op.params(attrs as never, ins.map((v) => v.shape))) {
    const t = tensors[d.suffix];
    if (!t) fail(at(`has no ${d.suffix} tensor`));
    if (!sameShape(t.dims, d.shape)) fail(at(`${d.suffix} "${clip(t.name)}" has shape `
      + `${formatShape(t.dims)}, the node needs ${formatShape(d.shape)}`));
    if (c.used.has(t.name)) fail(at(`initializer "${clip(t.name)}" is used by two nodes; `
      + 'shared weights are not supported'));
    c.used.add(t.name);
    // a deduplicated initializer (Identity) is one array for two tensors, which train apart
    c.weights.set(`${name}.${d.suffix}`, c.arrays.has(t.values) ? t.values.slice() : t.values);
    c.arrays.add(t.values);
    if (t.name !== `${name}.${d.suffix}`) files[d.suffix] = t.name;
    if (t.transposed) transposed.push(d.suffix);
  }
  c.nodes.push({
    ...fields, name, op: op.name, inputs: ins.map((v) => v.node),
    ...(Object.keys(files).length > 0 ? { tensors: files } : {}),
    ...(transposed.length > 0 ? { transposed } : {}),
  });
  c.values.set(output, { kind: 'node', node: name, shape });
}

/**
 * A graph node's name: its tensors' common prefix when they are `<prefix>.<suffix>` (PyTorch's module
 * name), else the module in the ONNX node's name (`/features/features.2/Relu` → features.2), made unique.
 */
function nodeName(c: Conversion, n: OnnxNode, tensors: Record<string, GivenTensor>): string {
  const prefixes = new Set(Object.entries(tensors).map(([s, t]) =>
    (t.name.endsWith(`.${s}`) ? t.name.slice(0, -s.length - 1) : '')));
  const [prefix] = prefixes;
  if (prefixes.size === 1 && NAME.test(prefix) && !c.taken.has(prefix)) return take(c, prefix);
  // PyTorch names nodes by scope, /features/features.2/Relu: the segment before the operator is the module
  const scope = n.name.split('/').filter((x) => x !== '');
  const base = (scope.length >= 2 ? scope[scope.length - 2] : scope[0] ?? '').replace(/[^\w.+-]/g, '_')
    .slice(0, 90) || `${n.opType.replace(/\W/g, '_').slice(0, 40) || 'node'}_${c.nodes.length}`;
  let name = base, k = c.suffixes.get(base) ?? 2;
  for (; c.taken.has(name); k++) name = `${base}_${k}`;
  c.suffixes.set(base, k);
  return take(c, name);
}

function take(c: Conversion, name: string): string {
  c.taken.add(name);
  return name;
}

/**
 * Makes an ONNX output the same value as an input (Identity, Dropout, a flatten of flat values). A
 * constant keeps its values (no copy: a chain of Identities costs nothing) under the output's name,
 * which is the tensor's name when PyTorch deduplicates equal initializers with an Identity.
 */
export function bypass(c: Conversion, n: OnnxNode, at: (s: string) => string): void {
  const v = c.values.get(n.inputs[0] ?? '');
  if (!v) fail(at('has no input'));
  c.values.set(n.outputs[0],
    v.kind === 'const' ? { kind: 'const', tensor: { ...v.tensor, name: n.outputs[0] } } : v);
}

/** Refuses a node whose extra outputs (a mask, indices, running statistics) are read by anything. */
export function onlyFirstOutput(c: Conversion, n: OnnxNode, at: (s: string) => string): void {
  const extra = n.outputs.slice(1).find((o) => o !== '' && (c.readers.has(o) || c.outputs.has(o)));
  if (extra !== undefined) fail(at(`its output "${clip(extra)}" is used; only the first output is `
    + 'supported'));
}
