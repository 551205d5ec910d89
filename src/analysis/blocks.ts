import type { Conv2dAttrs } from '../ops/conv2d.js';
import { evalAffine, type BatchNormAttrs } from '../ops/batch-norm2d.js';
import type { BnMode } from '../ops/op.js';
import type { Knowledge } from '../ops/knowledge.js';
import type { Graph, GraphNode, ParamMap } from '../model/graph.js';
import type { LayerGeometry } from '../model/chain-spec.js';
import { makeActivation } from '../model/chain-activations.js';
import { shiftColumns, stack } from '../linalg/sparse.js';
import { buildLayerSystem, gradientRowsOf, type LayerSystem } from '../solve/system.js';

/**
 * A residual block with an identity shortcut, y = add(B₂(W₂ h), x) with h = relu(B₁(W₁ x)), seen as one
 * system. Its unknowns are the block input x and the inner activation h; both live on one grid (the
 * convolutions keep the size), so [x; h] is one image of C + C₁ channels, and every equation is a
 * convolution-shaped row over it:
 *  - h's active units: k₁·W₁·patch(x) − h = −(k₁b₁ + shift₁)   (eval batch norm folded, k and shift)
 *  - h's inactive units: h = 0
 *  - the add's known outputs: x + k₂·W₂·patch(h) = y − (k₂b₂ + shift₂)   (and its known sums)
 *  - both convolutions' gradient rows, each over its own input, and the padding rows of both.
 * Train-mode batch norm inside a block is not matched (its statistics would join the unknowns).
 */
export interface IdentityBlock {
  x: number;
  conv1: GraphNode;
  bn1: GraphNode | null;
  relu: GraphNode;
  conv2: GraphNode;
  bn2: GraphNode | null;
  add: GraphNode;
}

const single = (consumers: GraphNode[][], n: GraphNode) => consumers[n.index].length === 1;

/** Identity-shortcut blocks of a graph whose convolutions keep the size (stride 1, "same" padding). */
export function identityBlocks(g: Graph, consumers: GraphNode[][], bnMode: BnMode): IdentityBlock[] {
  const blocks: IdentityBlock[] = [];
  const before = (n: GraphNode) => (n.inputs[0] >= 0 ? g.nodes[n.inputs[0]] : null);
  const sameConv = (n: GraphNode | null, k: number): n is GraphNode => {
    if (!n || n.op.name !== 'conv2d' || !single(consumers, n)) return false;
    const a = n.attrs as Conv2dAttrs;
    return a.kernel[0] === k && a.kernel[1] === k && a.stride[0] === 1 && a.stride[1] === 1
      && a.padding[0] === (k - 1) / 2 && a.padding[1] === (k - 1) / 2;
  };
  const norm = (n: GraphNode | null) =>
    (n && n.op.name === 'batch_norm2d' && single(consumers, n) ? n : null);
  for (const add of g.nodes) {
    if (add.op.name !== 'add') continue;
    for (const [end, x] of [[add.inputs[0], add.inputs[1]], [add.inputs[1], add.inputs[0]]]) {
      if (end < 0) continue;
      const bn2 = norm(g.nodes[end]);
      const conv2 = bn2 ? before(bn2) : g.nodes[end];
      if (!conv2 || conv2.op.name !== 'conv2d') continue;
      const k = (conv2.attrs as Conv2dAttrs).kernel[0];
      const relu = before(conv2);
      if (!sameConv(conv2, k) || !relu || relu.op.name !== 'relu' || !single(consumers, relu)) continue;
      const bn1 = norm(before(relu));
      const conv1 = bn1 ? before(bn1) : before(relu);
      if (!sameConv(conv1, k) || conv1.inputs[0] !== x) continue;
      if ((bn1 || bn2) && bnMode === 'train') continue;
      const channels = x < 0 ? g.input[0] : g.nodes[x].shape[0];
      if ((conv2.attrs as Conv2dAttrs).out !== channels) continue;
      blocks.push({ x, conv1, bn1, relu, conv2, bn2, add });
      break;
    }
  }
  return blocks;
}

/** Per channel, the scale and shift of an eval batch norm (1 and 0 without one). */
function affine(bn: GraphNode | null, params: ParamMap, channels: number) {
  if (!bn) return { k: new Float64Array(channels).fill(1), shift: new Float64Array(channels) };
  return evalAffine((s) => params.get(`${bn.name}.${s}`)!, (bn.attrs as BatchNormAttrs).eps);
}

export interface BlockValues {
  params: ParamMap;
  /** True values of the nodes (one sample), and dL/dz, dL/dW of the two convolutions. */
  value: (n: GraphNode) => Float64Array;
  dz1: Float64Array; dW1: Float64Array; dz2: Float64Array; dW2: Float64Array;
  /** What is known of the add's output (walking on from it). */
  known: Knowledge;
}

export function blockSystem(b: IdentityBlock, index: number, v: BlockValues): LayerSystem {
  const [c, h, w] = b.conv1.inShapes[0];
  const c1 = (b.conv1.attrs as Conv2dAttrs).out;
  const k = (b.conv1.attrs as Conv2dAttrs).kernel[0], pad = (k - 1) / 2, centre = pad * k + pad;
  const inC = c + c1, outC = 2 * c1 + c, p = h * w, k2 = k * k;
  const geometry = (inChannels: number, outChannels: number, at: number): LayerGeometry => ({
    index: at, type: 'conv', inC: inChannels, inH: h, inW: w, outC: outChannels, outH: h, outW: w,
    kh: k, kw: k, stride: 1, pad, bias: true, activation: makeActivation('identity'),
  });
  const W1 = v.params.get(`${b.conv1.name}.weight`)!, W2 = v.params.get(`${b.conv2.name}.weight`)!;
  const b1 = v.params.get(`${b.conv1.name}.bias`), b2 = v.params.get(`${b.conv2.name}.bias`);
  const n1 = affine(b.bn1, v.params, c1), n2 = affine(b.bn2, v.params, c);
  const weight = new Float64Array(outC * inC * k2), bias = new Float64Array(outC);
  const z = new Float64Array(outC * p), known = new Uint8Array(outC * p);
  const at = (o: number, ch: number, t: number) => (o * inC + ch) * k2 + t;
  const hValues = v.value(b.relu), y = v.value(b.add);
  for (let o = 0; o < c1; o++) {
    for (let ch = 0; ch < c; ch++) for (let t = 0; t < k2; t++) {
      weight[at(o, ch, t)] = n1.k[o] * W1[(o * c + ch) * k2 + t];
    }
    weight[at(o, c + o, centre)] = -1;
    bias[o] = n1.k[o] * (b1 ? b1[o] : 0) + n1.shift[o];
    weight[at(c1 + o, c + o, centre)] = 1;
    for (let q = 0; q < p; q++) {
      const active = hValues[o * p + q] > 0;
      known[o * p + q] = active ? 1 : 0;
      known[(c1 + o) * p + q] = active ? 0 : 1;
    }
  }
  for (let o = 0; o < c; o++) {
    const r = 2 * c1 + o;
    weight[at(r, o, centre)] = 1;
    for (let ch = 0; ch < c1; ch++) for (let t = 0; t < k2; t++) {
      weight[at(r, c + ch, t)] = n2.k[o] * W2[(o * c1 + ch) * k2 + t];
    }
    bias[r] = n2.k[o] * (b2 ? b2[o] : 0) + n2.shift[o];
    for (let q = 0; q < p; q++) {
      z[r * p + q] = y[o * p + q];
      known[r * p + q] = v.known.values[o * p + q];
    }
  }
  // each convolution's gradient rows over its own input
  const g1 = gradientRowsOf(geometry(c, c1, index), v.dz1, v.dW1);
  const g2 = gradientRowsOf(geometry(c1, c, index), v.dz2, v.dW2);
  const plane = (h + 2 * pad) * (w + 2 * pad);
  return buildLayerSystem(geometry(inC, outC, index), {
    weight, bias, z, dz: new Float64Array(outC * p), dW: new Float64Array(0), known,
    // the add's outputs are the third group of the block's; h's columns follow x's
    ...(v.known.sums ? { sums: shiftColumns(v.known.sums, 2 * c1 * p, outC * p) } : {}),
    gradientRows: {
      rows: stack(shiftColumns(g1.rows, 0, inC * plane), shiftColumns(g2.rows, c * plane, inC * plane)),
      rhs: Float64Array.from([...g1.rhs, ...g2.rhs]),
    },
  });
}
