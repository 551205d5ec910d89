import type { ActivationName } from './chain-activations.js';
import type { LayerTensors, Params } from './chain-tensors.js';
import { buildModel, type ChainModel, type LayerSpec, type ModelSpec } from './chain-spec.js';
import type { Conv2dAttrs } from '../ops/conv2d.js';
import type { Graph, GraphSpec, NodeSpec, ParamMap } from './graph.js';

/**
 * Chains and graphs. A chain spec (`"layers"`: conv/linear layers, each with one activation, the
 * linear ones reading the flattened output before them) is a graph: layer i becomes node `layers.{i}`
 * (so `layers.{i}.weight` files read unchanged), an activation node, and a flatten before a linear
 * layer on an image. Conversely a graph that is such a chain — whatever its node names — has a
 * chain view, which is what the layer-wise analysis (audit, rgap, hybrid, copa) works on.
 */
export function chainToGraph(spec: ModelSpec): GraphSpec {
  const nodes: NodeSpec[] = [];
  let image = true;
  spec.layers.forEach((l, i) => {
    const name = `layers.${i}`;
    if (l.type === 'conv') {
      nodes.push({ name, op: 'conv2d', inputs: [], out: l.out, kernel: l.kernel, stride: l.stride, padding: l.padding, bias: l.bias });
    } else {
      if (image) nodes.push({ name: `${name}.flatten`, op: 'flatten', inputs: [] });
      nodes.push({ name, op: 'linear', inputs: [], out: l.out, bias: l.bias });
      image = false;
    }
    nodes.push({ name: `${name}.${l.activation}`, op: l.activation, inputs: [], ...(l.activation === 'leaky_relu' ? { slope: l.slope ?? 0.01 } : {}) });
  });
  // a chain ending in a convolution takes its flattened output (C, H, W order) as the logits
  if (image) nodes.push({ name: 'logits.flatten', op: 'flatten', inputs: [] });
  nodes.forEach((n, k) => { n.inputs = [k === 0 ? 'input' : nodes[k - 1].name]; });
  return { name: spec.name, input: spec.input, ...(spec.classes !== undefined ? { classes: spec.classes } : {}), nodes };
}

/** A graph seen as a chain: the chain model and, per layer, the node holding its weights. */
export interface ChainView {
  model: ChainModel;
  nodes: string[];
}

const ACTIVATIONS: readonly string[] = ['tanh', 'sigmoid', 'leaky_relu', 'softplus', 'identity', 'relu'];

/** The chain view of a graph, or the reason it has none (naming the first node that breaks it). */
export function chainView(g: Graph): ChainView | { reason: string } {
  const layers: LayerSpec[] = [];
  const nodes: string[] = [];
  let k = 0;
  const n = g.nodes;
  const chained = (i: number) => n[i].inputs.length === 1 && n[i].inputs[0] === i - 1;
  while (k < n.length) {
    if (!chained(k)) return { reason: `node "${n[k].name}" does not read the node before it (a branch or residual connection)` };
    const op = n[k].op.name;
    if (op === 'flatten' || op === 'dropout') { k++; continue; }
    if (op !== 'conv2d' && op !== 'linear') return { reason: `node "${n[k].name}" is ${op}, which the layer-wise analysis does not handle yet` };
    const at = k, weights = n[k].name;
    let activation: ActivationName = 'identity', slope: number | undefined;
    if (k + 1 < n.length && ACTIVATIONS.includes(n[k + 1].op.name) && chained(k + 1)) {
      activation = n[k + 1].op.name as ActivationName;
      if (activation === 'leaky_relu') slope = (n[k + 1].attrs as { slope: number }).slope;
      k++;
    }
    if (op === 'conv2d') {
      const a = n[at].attrs as Conv2dAttrs;
      const square = a.kernel[0] === a.kernel[1] && a.stride[0] === a.stride[1] && a.padding[0] === a.padding[1];
      if (!square) return { reason: `node "${weights}" has a rectangular kernel, stride or padding, which the layer-wise analysis does not handle yet` };
      layers.push({ type: 'conv', out: a.out, kernel: a.kernel[0], stride: a.stride[0], padding: a.padding[0], bias: a.bias, activation, ...(slope !== undefined ? { slope } : {}) });
    } else {
      const a = n[at].attrs as { out: number; bias: boolean };
      layers.push({ type: 'linear', out: a.out, bias: a.bias, activation, ...(slope !== undefined ? { slope } : {}) });
    }
    nodes.push(weights);
    k++;
  }
  if (layers.length === 0) return { reason: 'the graph has no conv2d or linear layer' };
  const last = g.nodes.length - 1;
  if (g.output !== last) return { reason: `the output node "${g.nodes[g.output].name}" is not the last node` };
  const spec: ModelSpec = { name: g.name, input: [g.input[0], g.input[1], g.input[2]], classes: g.classes, layers };
  return { model: buildModel(spec, g.name), nodes };
}

/** Parameters (or gradients) by name as the chain's per-layer tensors. */
export function chainParams(view: ChainView, values: ParamMap): Params {
  return view.nodes.map((name): LayerTensors => ({ weight: values.get(`${name}.weight`)!, bias: values.get(`${name}.bias`) ?? null }));
}

/** The chain's per-layer tensors as parameters (or gradients) by name. */
export function namedParams(view: ChainView, params: Params): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  view.nodes.forEach((name, i) => {
    out.set(`${name}.weight`, params[i].weight);
    const b = params[i].bias;
    if (b) out.set(`${name}.bias`, b);
  });
  return out;
}

/**
 * The graph node whose output is layer i's input (skipping flatten and dropout), or undefined for the
 * first layer, whose input is the graph's.
 */
export function layerInputNode(g: Graph, view: ChainView, i: number): number | undefined {
  if (i === 0) return undefined;
  let j = g.nodes.findIndex((n) => n.name === view.nodes[i]) - 1;
  while (j >= 0 && ['flatten', 'dropout'].includes(g.nodes[j].op.name)) j--;
  return j < 0 ? undefined : j;
}

/** The layer solves of a graph's chain view, for its memory estimate (none when there is no chain). */
export function chainOrNull(g: Graph): ChainView | null {
  const v = chainView(g);
  return 'reason' in v ? null : v;
}
