import { fail } from '../core/errors.js';
import { clip, decodeModel, DOUBLE, FLOAT, typeName, type OnnxGraph } from '../formats/onnx/model.js';
import {
  buildGraph, GRAPH_INPUT, MAX_NODES, parseGraphSpec, type Graph, type GraphSpec,
} from './graph.js';
import type { Conversion } from './onnx-emit.js';
import { MAPPERS, SUPPORTED } from './onnx-nodes.js';

/**
 * An ONNX model (as `torch.onnx.export` writes it) as a gradleak graph: each ONNX node becomes a graph
 * node of the same computation (or is bypassed: Identity, Dropout, a flatten of what is flat), the
 * initializers become the model's weights, and every tensor keeps its initializer name in files.
 * Weighted nodes are named after their initializers' common prefix (`features.0` for
 * `features.0.weight`), so PyTorch's state_dict names hold without a mapping wherever they can.
 * Anything gradleak would compute differently is refused, naming the node, the operator and what is
 * supported.
 */

export const MIN_OPSET = 13;
/** ONNX nodes read: the graph's own limit, with room for those that become no node (Identity, …). */
const MAX_ONNX_NODES = 8 * MAX_NODES;

/**
 * Parses an ONNX file's bytes into a graph whose `weights` are its initializers; `what` starts every
 * error message (the CLI gives the file's path). `maxBytes` bounds the memory the decoded model may
 * take (the CLI gives its share of the memory ceiling).
 */
export function importOnnx(
  bytes: Uint8Array, name = 'model', what = `model ${name}`, maxBytes = Infinity,
): Graph {
  const modelName = name.replace(/[^\w.+-]/g, '_').slice(0, 100) || 'model';
  const model = decodeModel(bytes, what, maxBytes);
  const opset = model.opsets.get('');
  if (opset === undefined || opset < MIN_OPSET) fail(`${what}: opset ${opset ?? 'missing'}; gradleak reads `
    + `ONNX opset ${MIN_OPSET} or later (torch.onnx.export(..., opset_version=${MIN_OPSET}))`);
  const g = model.graph;
  if (g.nodes.length > MAX_ONNX_NODES) fail(`${what}: ${g.nodes.length} nodes are more than the `
    + `${MAX_ONNX_NODES} gradleak reads`);
  checkNames(what, g);
  const c: Conversion = {
    what, values: new Map(), readers: new Map(), outputs: new Set(g.outputs.map((o) => o.name)), nodes: [],
    taken: new Set([GRAPH_INPUT]), suffixes: new Map(), used: new Set(), weights: new Map(),
    arrays: new Set(), absorbed: new Set(),
  };
  for (const t of g.initializers) c.values.set(t.name, { kind: 'const', tensor: t });
  const input = graphInput(c, g.inputs.filter((i) => !c.values.has(i.name)));
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      const readers = c.readers.get(i);
      if (readers) readers.push(n);
      else c.readers.set(i, [n]);
    }
  }
  for (const n of g.nodes) {
    if (c.absorbed.has(n)) continue;
    const at = (s: string) => `${what}: node "${clip(n.name)}" (${clip(n.opType)}): ${s}`;
    const map = n.domain === '' && Object.hasOwn(MAPPERS, n.opType) ? MAPPERS[n.opType] : undefined;
    if (!map) fail(at(`operator ${n.domain ? `${clip(n.domain)}.` : ''}${clip(n.opType)} is not supported `
      + `(supported: ${SUPPORTED})`));
    for (const i of n.inputs) if (i !== '' && !c.values.has(i)) fail(at(`its input "${clip(i)}" is not `
      + 'computed before it (nodes must be in topological order)'));
    map(c, n, at);
  }
  if (g.outputs.length !== 1) fail(`${what}: ${g.outputs.length} graph outputs; gradleak needs one, `
    + 'the logits');
  const out = c.values.get(g.outputs[0].name);
  if (!out || out.kind !== 'node' || out.node === GRAPH_INPUT) fail(`${what}: the graph output `
    + `"${clip(g.outputs[0].name)}" is not computed by a supported node`);
  const dims = g.outputs[0].dims;
  const spec: GraphSpec = { name: modelName, input, nodes: c.nodes, output: out.node };
  if (dims && dims.length === 2 && typeof dims[1] === 'number' && dims[1] > 0) spec.classes = dims[1];
  const graph = buildGraph(parseGraphSpec(spec, what), what);
  return { ...graph, weights: c.weights };
}

/**
 * Every value is named once, as ONNX requires (single assignment): by an initializer, a graph input
 * or one node output; otherwise a later definition would silently replace an earlier one. A graph
 * input that has an initializer of its name is that initializer (PyTorch's
 * keep_initializers_as_inputs), a weight like any other.
 */
function checkNames(what: string, g: OnnxGraph): void {
  const defined = new Set<string>();
  const once = (name: string, by: string) => {
    if (name === '') fail(`${what}: ${by} has no name`);
    if (defined.has(name)) fail(`${what}: "${clip(name)}" is defined twice (the second time as ${by}); `
      + 'each value of an ONNX graph is named once');
    defined.add(name);
  };
  for (const t of g.initializers) once(t.name, 'an initializer');
  const initializers = new Set(defined);
  for (const i of g.inputs) if (!initializers.has(i.name)) once(i.name, 'a graph input');
  for (const n of g.nodes) {
    const by = `an output of node "${clip(n.name)}" (${clip(n.opType)})`;
    if (n.outputs.length === 0) fail(`${what}: node "${clip(n.name)}" (${clip(n.opType)}) has no output`);
    // an optional output may be left out, named ''
    n.outputs.forEach((o, k) => { if (o !== '' || k === 0) once(o, by); });
  }
}

/** The one graph input that is not an initializer: [batch, C, H, W], the batch axis may be symbolic. */
function graphInput(c: Conversion, inputs: { name: string; elemType: number; dims: unknown[] | null }[]) {
  if (inputs.length !== 1) fail(`${c.what}: ${inputs.length} graph inputs besides the initializers; `
    + 'gradleak needs one, the image batch');
  const { name, elemType, dims } = inputs[0];
  if (elemType !== FLOAT && elemType !== DOUBLE) fail(`${c.what}: the input "${clip(name)}" is `
    + `${typeName(elemType)}; gradleak needs float or double images`);
  const ok = (d: unknown): d is number => typeof d === 'number' && d >= 1;
  if (!dims || dims.length !== 4 || !ok(dims[1]) || !ok(dims[2]) || !ok(dims[3])) fail(`${c.what}: the input `
    + `"${clip(name)}" must have shape [batch, C, H, W] with C, H, W fixed numbers`);
  const shape: [number, number, number] = [dims[1], dims[2], dims[3]];
  c.values.set(name, { kind: 'node', node: GRAPH_INPUT, shape });
  return shape;
}
