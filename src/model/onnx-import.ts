import { fail } from '../core/errors.js';
import { clip, decodeModel, DOUBLE, FLOAT, typeName } from '../formats/onnx/model.js';
import { buildGraph, GRAPH_INPUT, parseGraphSpec, type Graph, type GraphSpec } from './graph.js';
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

/**
 * Parses an ONNX file's bytes into a graph whose `weights` are its initializers; `what` starts every
 * error message (the CLI gives the file's path).
 */
export function importOnnx(bytes: Uint8Array, name = 'model', what = `model ${name}`): Graph {
  const modelName = name.replace(/[^\w.+-]/g, '_').slice(0, 100) || 'model';
  const model = decodeModel(bytes, what);
  const opset = model.opsets.get('');
  if (opset === undefined || opset < MIN_OPSET) fail(`${what}: opset ${opset ?? 'missing'}; gradleak reads `
    + `ONNX opset ${MIN_OPSET} or later (torch.onnx.export(..., opset_version=${MIN_OPSET}))`);
  const g = model.graph;
  const c: Conversion = {
    what, values: new Map(), readers: new Map(), outputs: new Set(g.outputs.map((o) => o.name)), nodes: [],
    taken: new Set([GRAPH_INPUT]), used: new Set(), weights: new Map(), absorbed: new Set(),
  };
  for (const t of g.initializers) c.values.set(t.name, { kind: 'const', tensor: t });
  const input = graphInput(c, g.inputs.filter((i) => !c.values.has(i.name)));
  for (const n of g.nodes) for (const i of n.inputs) c.readers.set(i, [...(c.readers.get(i) ?? []), n]);
  for (const n of g.nodes) {
    if (c.absorbed.has(n)) continue;
    const at = (s: string) => `${what}: node "${clip(n.name)}" (${n.opType}): ${s}`;
    const map = n.domain === '' ? MAPPERS[n.opType] : undefined;
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
