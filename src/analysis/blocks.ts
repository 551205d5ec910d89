import type { Conv2dAttrs } from '../ops/conv2d.js';
import { evalAffine, type BatchNormAttrs } from '../ops/batch-norm2d.js';
import type { Knowledge } from '../ops/knowledge.js';
import type { GraphNode, ParamMap } from '../model/graph.js';
import type { ResidualBlock } from '../model/blocks.js';
import type { LayerGeometry } from '../model/chain-spec.js';
import { makeActivation } from '../model/chain-activations.js';
import { CsrBuilder, shiftColumns, stack, type Csr } from '../linalg/sparse.js';
import { buildLayerSystem, gradientRowsOf, type LayerSystem } from '../solve/system.js';

/** Per channel, the scale and shift of an eval batch norm (1 and 0 without one). */
export function affine(bn: GraphNode | null, params: ParamMap, channels: number) {
  if (!bn) return { k: new Float64Array(channels).fill(1), shift: new Float64Array(channels) };
  return evalAffine((s) => params.get(`${bn.name}.${s}`)!, (bn.attrs as BatchNormAttrs).eps);
}

export interface BlockInputs {
  params: ParamMap;
  /** h's active units (1) and inactive ones (0); null leaves h's own rows out. */
  hActive: Uint8Array | null;
  /** The add's output and what is known of it (walking on from it). */
  y: Float64Array;
  known: Knowledge;
  /** dL/dz and dL/dW of a convolution of the block; null leaves its gradient rows out. */
  grads: (conv: GraphNode) => { dz: Float64Array; dW: Float64Array } | null;
}

/**
 * Where the block's image [s2d(x); h] puts things: x's channels as c·s² + phase, then h's; a square
 * grid of h's size, padded by `pad` (the widest tap offset of any of the block's convolutions).
 */
export class BlockGrid {
  readonly inC: number;
  readonly pad: number;
  readonly size: number;
  readonly plane: number;
  readonly padW: number;

  constructor(readonly b: ResidualBlock, readonly c: number, readonly h: number, readonly w: number) {
    const s = b.stride;
    this.inC = c * s * s + (b.conv1.attrs as Conv2dAttrs).out;
    const reach = (n: GraphNode, stride: number) => {
      const { kernel: [k], padding: [p] } = n.attrs as Conv2dAttrs;
      return Math.max(Math.abs(Math.floor(-p / stride)), Math.floor((k - 1 - p) / stride));
    };
    this.pad = Math.max(reach(b.conv1, s), reach(b.conv2, 1), b.shortcut ? reach(b.shortcut.conv, s) : 0);
    this.size = 2 * this.pad + 1;
    this.padW = w + 2 * this.pad;
    this.plane = (h + 2 * this.pad) * this.padW;
  }

  /** The column of input value (c, r, q) of x (r, q on x's grid, padding outside it) or of h. */
  colX(c: number, r: number, q: number): number {
    const s = this.b.stride, R = Math.floor(r / s), Q = Math.floor(q / s);
    const ch = (c * s + (r - R * s)) * s + (q - Q * s);
    return ch * this.plane + (R + this.pad) * this.padW + Q + this.pad;
  }

  colH(c: number, r: number, q: number): number {
    const ch = this.c * this.b.stride * this.b.stride + c;
    return ch * this.plane + (r + this.pad) * this.padW + q + this.pad;
  }

  /** The tap of the block's kernel (channel, i, j) that input (c, r, q) is for output (0, 0). */
  tapX(c: number, r: number, q: number): [number, number, number] {
    const col = this.colX(c, r, q), ch = Math.floor(col / this.plane), at = col - ch * this.plane;
    return [ch, Math.floor(at / this.padW), at % this.padW];
  }
}

/**
 * Writes a convolution of the block into the block's kernel for output channel `row`: tap (c, i, j)
 * of `conv`, reading x (or h), goes where that input sits relative to output (0, 0).
 */
function placeConv(
  grid: BlockGrid, weight: Float64Array, row: number, conv: GraphNode, o: number, W: Float64Array,
  scale: number, onH: boolean,
) {
  const { kernel: [k], padding: [p] } = conv.attrs as Conv2dAttrs;
  const cIn = conv.inShapes[0][0];
  const K = grid.size, K2 = K * K;
  for (let c = 0; c < cIn; c++) for (let ti = 0; ti < k; ti++) for (let tj = 0; tj < k; tj++) {
    const v = scale * W[((o * cIn + c) * k + ti) * k + tj];
    const [ch, i, j] = onH
      ? [grid.c * grid.b.stride * grid.b.stride + c, ti - p + grid.pad, tj - p + grid.pad]
      : grid.tapX(c, ti - p, tj - p);
    weight[(row * grid.inC + ch) * K2 + i * K + j] += v;
  }
}

/** A convolution's gradient rows (solve/system.ts) placed on the block's columns. */
function convGradientRows(
  grid: BlockGrid, conv: GraphNode, dz: Float64Array, dW: Float64Array, onH: boolean,
): { rows: Csr; rhs: Float64Array } {
  // blocks are found among square convolutions, which always have a layer geometry
  const g = conv.op.system!.geometry(conv.attrs, conv.inShapes[0], 0) as LayerGeometry;
  const p = g.pad;
  return gradientRowsOf(g, dz, dW, {
    count: grid.inC * grid.plane,
    // h and w count in the conv's padded input; the grid takes them unpadded
    at: (c, h, w) => (onH ? grid.colH(c, h - p, w - p) : grid.colX(c, h - p, w - p)),
  });
}

/**
 * A residual block y = add(B₂(W₂ h), S(x)) with h = relu(B₁(W₁ x)), seen as one system. The shortcut S
 * is the identity or a convolution (with its batch norm) of the same stride s as W₁ — He et al.'s
 * downsampling block, s = 2. The unknowns are the block input x and the inner activation h. They live
 * on grids s apart, so x is written space-to-depth: its s×s phases become channels (C·s² channels on
 * h's grid), and a stride-s convolution of x is a stride-1 convolution of that image whose taps sit
 * at offsets ⌊(t − p)/s⌋ in the phase (t − p) mod s. [s2d(x); h] is then one image, and every equation
 * a convolution-shaped row over it:
 *  - h's active units: k₁·W₁·patch(x) − h = −(k₁b₁ + shift₁)   (eval batch norm folded, k and shift)
 *  - h's inactive units: h = 0
 *  - the add's known outputs: S(x) + k₂·W₂·patch(h) = y − (k₂b₂ + shift₂ + the shortcut's)  (and sums)
 *  - every convolution's gradient rows, each over its own input, and the padding rows.
 * Train-mode batch norm inside a block is not matched (its statistics would join the unknowns).
 */
export function blockSystem(b: ResidualBlock, index: number, v: BlockInputs): LayerSystem {
  const c = b.conv1.inShapes[0][0];
  const [c1, h, w] = b.conv1.shape;
  const c2 = b.conv2.shape[0];
  const grid = new BlockGrid(b, c, h, w);
  const { inC, pad, size: K } = grid;
  const outC = 2 * c1 + c2, p = h * w, K2 = K * K, centre = pad * K + pad;
  const param = (n: GraphNode, s: string) => v.params.get(`${n.name}.${s}`);
  const n1 = affine(b.bn1, v.params, c1), n2 = affine(b.bn2, v.params, c2);
  const nS = b.shortcut ? affine(b.shortcut.bn, v.params, c2) : null;
  const weight = new Float64Array(outC * inC * K2), bias = new Float64Array(outC);
  const z = new Float64Array(outC * p), known = new Uint8Array(outC * p);
  const y = v.y;
  const W1 = param(b.conv1, 'weight')!, b1 = param(b.conv1, 'bias');
  for (let o = 0; o < c1; o++) {
    placeConv(grid, weight, o, b.conv1, o, W1, n1.k[o], false);
    weight[(o * inC + c * b.stride * b.stride + o) * K2 + centre] = -1;
    bias[o] = n1.k[o] * (b1 ? b1[o] : 0) + n1.shift[o];
    weight[((c1 + o) * inC + c * b.stride * b.stride + o) * K2 + centre] = 1;
    if (v.hActive) for (let q = 0; q < p; q++) {
      const active = v.hActive[o * p + q] === 1;
      known[o * p + q] = active ? 1 : 0;
      known[(c1 + o) * p + q] = active ? 0 : 1;
    }
  }
  const W2 = param(b.conv2, 'weight')!, b2 = param(b.conv2, 'bias');
  const WS = b.shortcut ? param(b.shortcut.conv, 'weight')! : null;
  const bS = b.shortcut ? param(b.shortcut.conv, 'bias') : undefined;
  for (let o = 0; o < c2; o++) {
    const r = 2 * c1 + o;
    placeConv(grid, weight, r, b.conv2, o, W2, n2.k[o], true);
    bias[r] = n2.k[o] * (b2 ? b2[o] : 0) + n2.shift[o];
    if (b.shortcut && nS) {
      placeConv(grid, weight, r, b.shortcut.conv, o, WS!, nS.k[o], false);
      bias[r] += nS.k[o] * (bS ? bS[o] : 0) + nS.shift[o];
    } else {
      weight[(r * inC + o) * K2 + centre] += 1;
    }
    for (let q = 0; q < p; q++) {
      z[r * p + q] = y[o * p + q];
      known[r * p + q] = v.known.values[o * p + q];
    }
  }
  const geometry: LayerGeometry = {
    index, type: 'conv', inC, inH: h, inW: w, outC, outH: h, outW: w, kh: K, kw: K, stride: 1, pad,
    bias: true, activation: makeActivation('identity'),
  };
  const convs = [
    { conv: b.conv1, onH: false }, { conv: b.conv2, onH: true },
    ...(b.shortcut ? [{ conv: b.shortcut.conv, onH: false }] : []),
  ];
  const rows = convs.flatMap(({ conv, onH }) => {
    const d = v.grads(conv);
    return d ? [convGradientRows(grid, conv, d.dz, d.dW, onH)] : [];
  });
  return buildLayerSystem(geometry, {
    weight, bias, z, dz: new Float64Array(outC * p), dW: new Float64Array(0), known,
    // the add's outputs are the third group of the block's
    ...(v.known.sums ? { sums: shiftColumns(v.known.sums, 2 * c1 * p, outC * p) } : {}),
    gradientRows: {
      rows: rows.map((r) => r.rows).reduce((a, r) => stack(a, r), new CsrBuilder(inC * grid.plane).build()),
      rhs: Float64Array.from(rows.flatMap((r) => [...r.rhs])),
    },
  });
}

/** The block input x (C×H×W) and inner activation h of a solution over the block's padded columns. */
export function splitBlockSolution(
  b: ResidualBlock, xPadded: Float64Array,
): { x: Float64Array; h: Float64Array } {
  const [c, xh, xw] = b.conv1.inShapes[0];
  const [c1, h, w] = b.conv1.shape;
  const grid = new BlockGrid(b, c, h, w);
  const x = new Float64Array(c * xh * xw), inner = new Float64Array(c1 * h * w);
  for (let ch = 0; ch < c; ch++) for (let r = 0; r < xh; r++) for (let q = 0; q < xw; q++) {
    x[(ch * xh + r) * xw + q] = xPadded[grid.colX(ch, r, q)];
  }
  for (let ch = 0; ch < c1; ch++) for (let r = 0; r < h; r++) for (let q = 0; q < w; q++) {
    inner[(ch * h + r) * w + q] = xPadded[grid.colH(ch, r, q)];
  }
  return { x, h: inner };
}
