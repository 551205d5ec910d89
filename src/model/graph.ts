import type { Var } from '../autodiff/engine.js';
import { fail } from '../core/errors.js';
import { MAX_ARRAY_ELEMENTS, MAX_FEATURES, MAX_SPATIAL } from '../core/limits.js';
import { describe } from './chain-spec.js';
import type { Op, OpContext, ParamDecl } from '../ops/op.js';
import { getOp } from '../ops/registry.js';
import { formatShape, sizeOf, type Shape } from '../tensor/tensor.js';

/**
 * A model as a graph of ops (JSON: docs/DESIGN.md, "Graph specs"). Nodes come in topological order
 * and name their inputs: earlier nodes or the graph's `input`. Tensors carry a batch dimension;
 * shapes here are per sample. A node's parameters are named `<node>.<suffix>` (PyTorch's state_dict
 * names when nodes are named as the modules).
 */
export interface NodeSpec {
  name: string;
  op: string;
  inputs: string[];
  /**
   * Names the node's tensors have in files, by suffix, where they are not `<node>.<suffix>` (an ONNX
   * model's initializer names): `--weights`, `--gradients` and `simulate` use these names.
   */
  tensors?: Record<string, string>;
  /**
   * Suffixes of 2-D tensors that files hold transposed, [in, out] for a linear weight (an ONNX MatMul
   * factor, `x @ w` in PyTorch): read and written in that layout, kept as [out, in] inside.
   */
  transposed?: string[];
  [attr: string]: unknown;
}

export interface GraphSpec {
  name: string;
  input: [number, number, number];
  classes?: number;
  nodes: NodeSpec[];
  output?: string;
}

export interface GraphNode {
  index: number;
  name: string;
  op: Op<unknown>;
  attrs: unknown;
  /** Indices of the input nodes; −1 is the graph's input. */
  inputs: number[];
  inShapes: Shape[];
  shape: Shape;
  params: { name: string; decl: ParamDecl }[];
}

export interface ParamInfo {
  name: string;
  /** The tensor's name in files (safetensors), when it is not `name`. */
  file?: string;
  /** Files hold the tensor transposed (its shape reversed): see NodeSpec.transposed. */
  transposed?: boolean;
  shape: Shape;
  trainable: boolean;
  node: number;
  decl: ParamDecl;
}

export interface Graph {
  spec: GraphSpec;
  name: string;
  input: Shape;
  nodes: GraphNode[];
  /** The node whose output is the logits. */
  output: number;
  classes: number;
  /** Every tensor of the model in node order, trainable parameters and buffers. */
  params: ParamInfo[];
  /** Weights that come with the model (an ONNX file's initializers), by `name`. */
  weights?: ParamMap;
}

export const GRAPH_INPUT = 'input';
export const MAX_NODES = 4096;
const NAME = /^[\w.+-]{1,100}$/;

/** Validates a parsed JSON value as a graph spec; every problem is one clear InputError. */
export function parseGraphSpec(raw: unknown, source = 'model spec'): GraphSpec {
  const where = (s: string) => `${source}: ${s}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where('must be a JSON object'));
  const o = raw as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !['name', 'input', 'classes', 'nodes', 'output'].includes(k));
  if (extra !== undefined) fail(where(`unknown field ${describe(extra)} `
    + '(expected name, input, classes, nodes, output)'));
  const input = o.input;
  const isInt = (v: unknown, hi: number): v is number =>
    typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= hi;
  if (!Array.isArray(input) || input.length !== 3 || !isInt(input[0], MAX_FEATURES)
    || !isInt(input[1], MAX_SPATIAL) || !isInt(input[2], MAX_SPATIAL)) {
    fail(where(`"input" must be [C, H, W]: integers, C from 1 to ${MAX_FEATURES}, `
      + `H and W from 1 to ${MAX_SPATIAL}`));
  }
  if (o.name !== undefined && (typeof o.name !== 'string' || !NAME.test(o.name))) fail(where(
    '"name" must be 1 to 100 letters, digits or . _ + -'));
  if (!Array.isArray(o.nodes) || o.nodes.length === 0) fail(where('"nodes" must be a non-empty array'));
  if (o.nodes.length > MAX_NODES) fail(where(
    `${o.nodes.length} nodes are more than the ${MAX_NODES} supported`));
  const names = new Set<string>([GRAPH_INPUT]);
  let previous = GRAPH_INPUT;
  const nodes = o.nodes.map((n, i): NodeSpec => {
    const at = (s: string) => where(`node ${i}: ${s}`);
    if (typeof n !== 'object' || n === null || Array.isArray(n)) fail(at('must be an object'));
    const r = n as Record<string, unknown>;
    if (typeof r.name !== 'string' || !NAME.test(r.name)) fail(at(
      '"name" must be 1 to 100 letters, digits or . _ + -'));
    const nodeAt = (s: string) => where(`node "${r.name}": ${s}`);
    if (names.has(r.name)) fail(nodeAt(
      r.name === GRAPH_INPUT ? '"input" names the graph\'s input' : 'the name is used twice'));
    const op = getOp(r.op, nodeAt);
    let inputs: string[];
    if (r.inputs === undefined) inputs = [previous];
    else if (Array.isArray(r.inputs)
      && r.inputs.every((x) => typeof x === 'string')) inputs = r.inputs as string[];
    else fail(nodeAt('"inputs" must be a list of node names'));
    if (inputs.length !== op.arity) fail(nodeAt(
      `${op.name} takes ${op.arity} input(s), got ${inputs.length}`));
    for (const name of inputs) if (!names.has(name)) fail(nodeAt(
      `input ${describe(name)} is not the graph's input or an earlier node`));
    const known = ['name', 'op', 'inputs', 'tensors', 'transposed', ...op.fields];
    const unknown = Object.keys(r).find((k) => !known.includes(k));
    if (unknown !== undefined) fail(nodeAt(
      `unknown field ${describe(unknown)} for ${op.name} (fields: ${op.fields.join(', ') || 'none'})`));
    // null is not "missing": a default must not stand in for a value the file got wrong
    const nulled = op.fields.find((k) => r[k] === null);
    if (nulled !== undefined) fail(nodeAt(`"${nulled}" is null; leave it out for the default`));
    if (r.tensors !== undefined) checkTensorNames(r.tensors, nodeAt);
    if (r.transposed !== undefined && !(Array.isArray(r.transposed) && r.transposed.length <= 8
      && r.transposed.every((x) => typeof x === 'string'))) fail(nodeAt(
      '"transposed" must be a list of tensor suffixes (the tensors files hold transposed)'));
    names.add(r.name);
    previous = r.name;
    return { ...r, name: r.name, op: op.name, inputs };
  });
  if (o.output !== undefined && (typeof o.output !== 'string' || !names.has(o.output)
    || o.output === GRAPH_INPUT)) fail(where('"output" must name a node'));
  checkUsed(nodes, typeof o.output === 'string' ? o.output : nodes[nodes.length - 1].name, where);
  const spec: GraphSpec = {
    name: typeof o.name === 'string' ? o.name : 'model', input: input as [number, number, number], nodes,
  };
  if (o.output !== undefined) spec.output = o.output as string;
  if (o.classes !== undefined) {
    if (!isInt(o.classes, MAX_FEATURES)) fail(where(
      `"classes" must be an integer from 1 to ${MAX_FEATURES}`));
    spec.classes = o.classes;
  }
  buildGraph(spec, source);
  return spec;
}

const FILE_NAME = /^[^\u0000-\u001f\u007f]{1,256}$/;

/** A node's `tensors`: an object of suffix → file name (printable, 1 to 256 characters). */
function checkTensorNames(raw: unknown, where: (s: string) => string): void {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where(
    '"tensors" must be an object of tensor suffix → name in files'));
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string' || !FILE_NAME.test(v)) fail(where(`"tensors": ${describe(k)} must name `
      + 'its tensor with 1 to 256 printable characters'));
  }
}

/**
 * Refuses a node with no path to the output: its parameters would get no gradient, the analyses
 * would find no value for it, and it is most likely a wiring mistake in the spec.
 */
function checkUsed(nodes: readonly NodeSpec[], output: string, where: (s: string) => string): void {
  const used = new Set<string>([output]);
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (used.has(nodes[i].name)) for (const x of nodes[i].inputs) used.add(x);
  }
  const unused = nodes.find((n) => !used.has(n.name));
  if (unused !== undefined) fail(where(`node "${unused.name}" (${unused.op}) is unused: no path leads `
    + `from it to the output "${output}" (remove it or wire it in)`));
}

/** Infers every node's shapes and parameters; throws one line for the first that does not fit. */
export function buildGraph(spec: GraphSpec, source = spec.name): Graph {
  const index = new Map<string, number>([[GRAPH_INPUT, -1]]);
  const nodes: GraphNode[] = [];
  const params: ParamInfo[] = [];
  const files = new Set<string>();
  const shapeOf = (i: number) => (i < 0 ? spec.input : nodes[i].shape);
  for (const n of spec.nodes) {
    const where = (s: string) => `${source}: node "${n.name}" (${n.op}): ${s}`;
    const op = getOp(n.op, where);
    const attrs = op.attrs(n, where);
    const inputs = n.inputs.map((name) => index.get(name)!);
    const inShapes = inputs.map(shapeOf);
    const shape = op.shape(attrs as never, inShapes, where);
    if (sizeOf(shape) > MAX_ARRAY_ELEMENTS) fail(where(`its output would have `
      + `${sizeOf(shape).toExponential(2)} values per sample, more than one array can hold`));
    const decls = op.params(attrs as never, inShapes);
    const renamed = Object.keys(n.tensors ?? {}).find((k) => !decls.some((d) => d.suffix === k));
    if (renamed !== undefined) fail(where(`"tensors" names ${describe(renamed)}, which is not one of its `
      + `tensors (${decls.map((d) => d.suffix).join(', ') || 'none'})`));
    const flipped = (n.transposed ?? [])
      .find((k) => decls.find((d) => d.suffix === k)?.shape.length !== 2);
    if (flipped !== undefined) fail(where(`"transposed" names ${describe(flipped)}, which is not one of `
      + 'its 2-D tensors'));
    const node: GraphNode = {
      index: nodes.length, name: n.name, op, attrs, inputs, inShapes, shape,
      params: decls.map((decl) => ({ name: `${n.name}.${decl.suffix}`, decl })),
    };
    for (const { name, decl } of node.params) {
      if (sizeOf(decl.shape) > MAX_ARRAY_ELEMENTS) fail(where(`its ${decl.suffix} would have `
        + `${sizeOf(decl.shape).toExponential(2)} values, more than one array can hold`));
      const file = n.tensors?.[decl.suffix];
      if (files.has(file ?? name)) fail(where(`the tensor name ${describe(file ?? name)} is used twice`));
      files.add(file ?? name);
      params.push({
        name, ...(file === undefined ? {} : { file }),
        ...(n.transposed?.includes(decl.suffix) ? { transposed: true } : {}),
        shape: decl.shape, trainable: decl.trainable, node: node.index, decl,
      });
    }
    index.set(n.name, node.index);
    nodes.push(node);
  }
  const output = spec.output === undefined ? nodes.length - 1 : index.get(spec.output)!;
  const logits = nodes[output].shape;
  if (logits.length !== 1) fail(`${source}: the output node "${nodes[output].name}" gives `
    + `${formatShape(logits)} per sample; logits must be [classes] (add a flatten node)`);
  if (spec.classes !== undefined && spec.classes !== logits[0]) fail(
    `${source}: "classes" is ${spec.classes} but the output has ${logits[0]} values`);
  return { spec, name: spec.name, input: spec.input, nodes, output, classes: logits[0], params };
}

/** Parameter values by name (trainable ones and buffers), as the safetensors files hold them. */
export type ParamMap = ReadonlyMap<string, Float64Array>;

/** Where a forward pass starts: the graph's input, or the value of one node (a sub-network). */
export type Start = { x: Var } | { node: number; value: Var };

/**
 * Runs the graph on a batch and returns every computed node's output (by node index). `params` gives
 * every tensor as a Var (variables for what is differentiated, constants otherwise). Started from a
 * node, only what the output needs beyond it is computed; a path from the graph's input that
 * bypasses the node (a residual connection across it) is an error, since its values are unknown.
 */
export function forwardGraph(
  ctx: OpContext, g: Graph, params: ReadonlyMap<string, Var>, start: Start,
): Var[] {
  const values: Var[] = new Array(g.nodes.length);
  const from = 'node' in start ? start.node : -2;
  const needed = new Uint8Array(g.nodes.length);
  needed[g.output] = 1;
  for (let i = g.output; i >= 0; i--) {
    if (!needed[i] || i === from) continue;
    for (const j of g.nodes[i].inputs) {
      if (j >= 0) needed[j] = 1;
      else if (from >= 0) fail(`node "${g.nodes[i].name}" reads the graph's input directly, `
        + `bypassing "${g.nodes[from].name}"`);
    }
  }
  for (const node of g.nodes) {
    if (!needed[node.index]) continue;
    if (node.index === from) { values[node.index] = (start as { value: Var }).value; continue; }
    const inputs = node.inputs.map((i) => (i < 0 ? (start as { x: Var }).x : values[i]));
    const p: Record<string, Var> = {};
    for (const { name, decl } of node.params) p[decl.suffix] = params.get(name)!;
    values[node.index] = node.op.apply(ctx, inputs, p, node.attrs as never);
  }
  return values;
}

/** The number of values in the model's trainable parameters and in all its tensors. */
export function parameterCount(g: Graph): { trainable: number; all: number } {
  let trainable = 0, all = 0;
  for (const p of g.params) { const n = sizeOf(p.shape); all += n; if (p.trainable) trainable += n; }
  return { trainable, all };
}
