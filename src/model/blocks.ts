import type { Conv2dAttrs } from '../ops/conv2d.js';
import type { BnMode } from '../ops/op.js';
import type { Graph, GraphNode } from './graph.js';

/**
 * A residual block of a graph: y = add(B₂(W₂ h), S(x)) with h = relu(B₁(W₁ x)), the shortcut S the
 * identity or a convolution (with its batch norm) of W₁'s stride. The what-if audit solves it as one
 * system (analysis/blocks.ts); the layer-wise attacks take it as one layer of the chain view.
 */
export interface ResidualBlock {
  x: number;
  conv1: GraphNode;
  bn1: GraphNode | null;
  relu: GraphNode;
  conv2: GraphNode;
  bn2: GraphNode | null;
  /** The shortcut's convolution and batch norm; null for an identity shortcut. */
  shortcut: { conv: GraphNode; bn: GraphNode | null } | null;
  add: GraphNode;
  /** The stride of conv1 and the shortcut: h's grid is x's divided by it. */
  stride: number;
}

const single = (consumers: GraphNode[][], n: GraphNode) => consumers[n.index].length === 1;

/** A conv with a square kernel and equal strides and paddings: its kernel, stride and padding. */
function squareConv(n: GraphNode | null): { k: number; s: number; p: number } | null {
  if (!n || n.op.name !== 'conv2d') return null;
  const a = n.attrs as Conv2dAttrs;
  const square = a.kernel[0] === a.kernel[1] && a.stride[0] === a.stride[1] && a.padding[0] === a.padding[1];
  if (!square) return null;
  return { k: a.kernel[0], s: a.stride[0], p: a.padding[0] };
}

/**
 * The residual blocks of a graph: identity shortcuts around size-keeping convolutions, and shortcuts
 * that are a convolution of the same stride as the first one (x's size a multiple of it).
 */
export function findResidualBlocks(
  g: Graph, consumers: GraphNode[][] = consumersOf(g), bnMode: BnMode = 'eval',
): ResidualBlock[] {
  const blocks: ResidualBlock[] = [];
  const before = (n: GraphNode) => (n.inputs[0] >= 0 ? g.nodes[n.inputs[0]] : null);
  const norm = (n: GraphNode | null) =>
    (n && n.op.name === 'batch_norm2d' && single(consumers, n) ? n : null);
  const shapeOf = (x: number) => (x < 0 ? g.input : g.nodes[x].shape);
  for (const add of g.nodes) {
    if (add.op.name !== 'add') continue;
    for (const [end, other] of [[add.inputs[0], add.inputs[1]], [add.inputs[1], add.inputs[0]]]) {
      if (end < 0) continue;
      const bn2 = norm(g.nodes[end]);
      const conv2 = bn2 ? before(bn2) : g.nodes[end];
      const c2 = squareConv(conv2);
      if (!conv2 || !c2 || c2.s !== 1 || c2.k % 2 !== 1 || 2 * c2.p !== c2.k - 1) continue;
      const relu = before(conv2);
      if (!single(consumers, conv2) || !relu || relu.op.name !== 'relu' || !single(consumers, relu)) continue;
      const bn1 = norm(before(relu));
      const conv1 = bn1 ? before(bn1) : before(relu);
      const c1 = squareConv(conv1);
      if (!conv1 || !c1 || !single(consumers, conv1)) continue;
      const x = conv1.inputs[0];
      const [, h, w] = shapeOf(x);
      // h's grid is x's divided by the stride, exactly (so that space-to-depth lines them up)
      if (h % c1.s !== 0 || w % c1.s !== 0) continue;
      if (conv1.shape[1] !== h / c1.s || conv1.shape[2] !== w / c1.s) continue;
      let shortcut: ResidualBlock['shortcut'] = null;
      if (other !== x) {
        const bnS = other >= 0 ? norm(g.nodes[other]) : null;
        const convS = bnS ? before(bnS) : other >= 0 ? g.nodes[other] : null;
        const cS = squareConv(convS);
        if (!convS || !cS || cS.s !== c1.s || convS.inputs[0] !== x || !single(consumers, convS)) continue;
        shortcut = { conv: convS, bn: bnS };
      } else if (c1.s !== 1) continue;
      if ((bn1 || bn2 || shortcut?.bn) && bnMode === 'train') continue;
      if (add.shape.join() !== conv2.shape.join() || add.shape.join() !== shapeOf(other).join()) continue;
      blocks.push({ x, conv1, bn1, relu, conv2, bn2, shortcut, add, stride: c1.s });
      break;
    }
  }
  return blocks;
}

/** For each node, the nodes that read its output. */
export function consumersOf(g: Graph): GraphNode[][] {
  return g.nodes.map((n) => g.nodes.filter((m) => m.inputs.includes(n.index)));
}
