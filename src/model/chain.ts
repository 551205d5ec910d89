import type { ActivationName } from './chain-activations.js';
import type { LayerTensors, Params } from './chain-tensors.js';
import { buildModel, type ChainModel, type LayerSpec, type ModelSpec } from './chain-spec.js';
import type { Conv2dAttrs } from '../ops/conv2d.js';
import type { PoolAttrs } from '../ops/pool-window.js';
import { consumersOf, findResidualBlocks } from './blocks.js';
import type { Graph, GraphSpec, NodeSpec, ParamMap } from './graph.js';
import { evalAffine, type BatchNormAttrs } from '../ops/batch-norm2d.js';
import type { BnMode } from '../ops/op.js';
import { fail } from '../core/errors.js';

/**
 * Chains and graphs. A chain spec (`"layers"`: conv/linear layers, each with one activation, the
 * linear ones reading the flattened output before them) is a graph: layer i becomes node `layers.{i}`
 * (so `layers.{i}.weight` files read unchanged), an activation node, and a flatten before a linear
 * layer on an image. Conversely a graph that is such a chain — whatever its node names, with an eval
 * batch norm after a conv folded into it — has a chain view, which is what the layer-wise attacks
 * (rgap, hybrid, copa) work on.
 */
export function chainToGraph(spec: ModelSpec): GraphSpec {
  const nodes: NodeSpec[] = [];
  let image = true;
  spec.layers.forEach((l, i) => {
    const name = `layers.${i}`;
    if (l.type === 'conv') {
      nodes.push({
        name, op: 'conv2d', inputs: [], out: l.out, kernel: l.kernel, stride: l.stride, padding: l.padding,
        bias: l.bias,
      });
    } else {
      if (image) nodes.push({ name: `${name}.flatten`, op: 'flatten', inputs: [] });
      nodes.push({ name, op: 'linear', inputs: [], out: l.out, bias: l.bias });
      image = false;
    }
    nodes.push({
      name: `${name}.${l.activation}`, op: l.activation, inputs: [],
      ...(l.activation === 'leaky_relu' ? { slope: l.slope ?? 0.01 } : {}),
    });
  });
  // a chain ending in a convolution takes its flattened output (C, H, W order) as the logits
  if (image) nodes.push({ name: 'logits.flatten', op: 'flatten', inputs: [] });
  nodes.forEach((n, k) => { n.inputs = [k === 0 ? 'input' : nodes[k - 1].name]; });
  return {
    name: spec.name, input: spec.input,
    ...(spec.classes !== undefined ? { classes: spec.classes } : {}), nodes,
  };
}

/**
 * A graph seen as a chain: the chain model and, per layer, the node holding its weights and the eval
 * batch norm folded into it, if any (conv → batch norm → activation is a conv with scaled weights).
 */
export interface ChainView {
  model: ChainModel;
  nodes: string[];
  norms: (FoldedNorm | null)[];
}

/** An eval-mode batch norm after a layer, folded into it: y = k·z + shift per output channel. */
export interface FoldedNorm {
  node: string;
  eps: number;
}

const ACTIVATIONS: readonly string[] = ['tanh', 'sigmoid', 'leaky_relu', 'softplus', 'identity', 'relu'];

/**
 * The chain view of a graph, or the reason it has none (naming the first node that breaks it). Batch
 * norm right after a conv folds into it in eval mode, where the attacker knows its statistics; in
 * train mode it divides by the batch's own, which no layer system models.
 */
export function chainView(g: Graph, bnMode: BnMode = 'eval'): ChainView | { reason: string } {
  const layers: LayerSpec[] = [];
  const nodes: string[] = [];
  const norms: (FoldedNorm | null)[] = [];
  let k = 0;
  const n = g.nodes;
  const chained = (i: number) => n[i].inputs.length === 1 && n[i].inputs[0] === i - 1;
  const blocks = findResidualBlocks(g, consumersOf(g), bnMode);
  const activationAfter = (i: number): { activation: ActivationName; slope?: number } | null => {
    if (i + 1 >= n.length || !ACTIVATIONS.includes(n[i + 1].op.name) || !chained(i + 1)) return null;
    const activation = n[i + 1].op.name as ActivationName;
    return activation === 'leaky_relu'
      ? { activation, slope: (n[i + 1].attrs as { slope: number }).slope } : { activation };
  };
  while (k < n.length) {
    const block = blocks.find((b) => b.conv1 === n[k]);
    if (block && chained(k)) {
      // a residual block is one layer of the chain: its nodes must sit between conv1 and the add
      const parts = [block.conv1, block.bn1, block.relu, block.conv2, block.bn2, block.shortcut?.conv,
        block.shortcut?.bn, block.add];
      const members = new Set(parts.flatMap((m) => (m ? [m.index] : [])));
      for (let j = k; j <= block.add.index; j++) if (!members.has(j)) return {
        reason: `node "${n[j].name}" sits among residual block "${n[k].name}"'s nodes but is not part of it`,
      };
      const a = block.conv1.attrs as Conv2dAttrs;
      k = block.add.index;
      const after = activationAfter(k);
      if (after) k++;
      const act = after ?? { activation: 'identity' as const };
      layers.push({
        type: 'conv', out: block.conv2.shape[0], kernel: a.kernel[0], stride: a.stride[0],
        padding: a.padding[0], bias: false, ...act, block,
      });
      nodes.push(block.conv1.name);
      norms.push(null);
      k++;
      continue;
    }
    if (!chained(k)) return {
      reason: `node "${n[k].name}" does not read the node before it (a branch or residual connection)`,
    };
    const op = n[k].op.name;
    if (op === 'flatten' || op === 'dropout') { k++; continue; }
    if (op === 'max_pool2d' || op === 'avg_pool2d' || op === 'global_avg_pool') {
      // the pooling joins the layer before it; the layer-wise attacks estimate what it hides
      const before = layers[layers.length - 1];
      const [, h, w] = n[k].inShapes[0];
      const a = op === 'global_avg_pool'
        ? { kernel: [h, w], stride: [h, w], padding: [0, 0] } as PoolAttrs
        : n[k].attrs as PoolAttrs;
      if (!before || before.type !== 'conv' || before.pool) return {
        reason: `node "${n[k].name}" is ${op} not right after a convolution and its activation`,
      };
      if (a.padding[0] !== 0 || a.padding[1] !== 0) return {
        reason: `node "${n[k].name}" is ${op} with padding, which the layer-wise attacks do not model`,
      };
      before.pool = { kind: op === 'max_pool2d' ? 'max' : 'avg', attrs: a };
      k++;
      continue;
    }
    if (op !== 'conv2d' && op !== 'linear') return {
      reason: `node "${n[k].name}" is ${op}, which the layer-wise analysis does not handle yet`,
    };
    const at = k, weights = n[k].name;
    let norm: FoldedNorm | null = null;
    if (op === 'conv2d' && k + 1 < n.length && n[k + 1].op.name === 'batch_norm2d' && chained(k + 1)) {
      if (bnMode === 'train') return {
        reason: `node "${n[k + 1].name}" is batch norm in train mode, which divides by the batch's own `
          + 'statistics (unknown to the attacker); the layer-wise analysis folds it in eval mode only',
      };
      norm = { node: n[k + 1].name, eps: (n[k + 1].attrs as BatchNormAttrs).eps };
      k++;
    }
    let activation: ActivationName = 'identity', slope: number | undefined;
    const act = activationAfter(k);
    if (act) {
      ({ activation, slope } = act);
      k++;
    }
    if (op === 'conv2d') {
      const a = n[at].attrs as Conv2dAttrs;
      // the op's own rule says whether its layer system exists (square kernel, stride and padding)
      const geometry = n[at].op.system!.geometry(a, n[at].inShapes[0], layers.length);
      if ('reason' in geometry) return { reason: `node "${weights}": ${geometry.reason}` };
      layers.push({
        type: 'conv', out: a.out, kernel: a.kernel[0], stride: a.stride[0], padding: a.padding[0],
        bias: a.bias || norm !== null, activation, ...(slope !== undefined ? { slope } : {}),
      });
    } else {
      const a = n[at].attrs as { out: number; bias: boolean };
      layers.push({
        type: 'linear', out: a.out, bias: a.bias, activation, ...(slope !== undefined ? { slope } : {}),
      });
    }
    nodes.push(weights);
    norms.push(norm);
    k++;
  }
  if (layers.length === 0) return { reason: 'the graph has no conv2d or linear layer' };
  const last = g.nodes.length - 1;
  if (g.output !== last) return {
    reason: `the output node "${g.nodes[g.output].name}" is not the last node`,
  };
  const spec: ModelSpec = {
    name: g.name, input: [g.input[0], g.input[1], g.input[2]], classes: g.classes, layers,
  };
  return { model: buildModel(spec, g.name), nodes, norms };
}

/** Each channel's block of values (channel-first) times that channel's k. */
export function scaleChannels(k: Float64Array, values: Float64Array): Float64Array {
  const per = values.length / k.length;
  return values.map((v, j) => v * k[Math.floor(j / per)]);
}

/** Per output channel, the scale k and shift of a folded batch norm. */
const normAffine = (norm: FoldedNorm, params: ParamMap) =>
  evalAffine((s) => params.get(`${norm.node}.${s}`)!, norm.eps);

/**
 * The chain's per-layer parameters. A folded batch norm makes the layer z' = k·(W x + b) + shift:
 * weights k·W and bias k·b + shift.
 */
export function chainParams(view: ChainView, params: ParamMap): Params {
  return view.nodes.map((name, i): LayerTensors => {
    const weight = params.get(`${name}.weight`)!, bias = params.get(`${name}.bias`) ?? null;
    const norm = view.norms[i];
    if (!norm) return { weight, bias };
    const { k, shift } = normAffine(norm, params);
    return {
      weight: scaleChannels(k, weight),
      bias: shift.map((s, o) => s + (bias ? bias[o] * k[o] : 0)),
    };
  });
}

/**
 * The chain's per-layer gradients. With a folded batch norm dL/dW = k·dL/dW' per output channel, and
 * dL/db' is the batch norm's dL/dβ; a channel with γ = 0 carries nothing and cannot be unfolded.
 */
export function chainGradients(view: ChainView, gradients: ParamMap, params: ParamMap): Params {
  return view.nodes.map((name, i): LayerTensors => {
    const weight = gradients.get(`${name}.weight`)!, bias = gradients.get(`${name}.bias`) ?? null;
    const norm = view.norms[i];
    if (!norm) return { weight, bias };
    const { k } = normAffine(norm, params);
    const zero = k.findIndex((v) => v === 0);
    if (zero >= 0) fail(`node "${norm.node}": channel ${zero} has γ = 0, so its gradients carry nothing `
      + 'about the layer before it');
    const per = weight.length / k.length;
    return {
      weight: weight.map((d, j) => d / k[Math.floor(j / per)]),
      bias: Float64Array.from(gradients.get(`${norm.node}.bias`)!),
    };
  });
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
export function chainOrNull(g: Graph, bnMode: BnMode = 'eval'): ChainView | null {
  const v = chainView(g, bnMode);
  return 'reason' in v ? null : v;
}
