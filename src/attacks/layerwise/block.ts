import type { Kernels } from '../../kernels/kernels.js';
import type { ResidualBlock } from '../../model/blocks.js';
import type { GraphNode, ParamMap } from '../../model/graph.js';
import { convGeometry, type Conv2dAttrs } from '../../ops/conv2d.js';
import { everyValue } from '../../ops/knowledge.js';
import { scaleChannels } from '../../model/chain.js';
import { activeUnits } from './active.js';
import { affine, blockSystem, splitBlockSolution } from '../../analysis/blocks.js';
import { solveLayer, type LayerSolution, type SolveOptions } from '../../solve/layersolve.js';
import type { LayerSystem } from '../../solve/system.js';

/**
 * A residual block as the attacker solves it (the system of analysis/blocks.ts). From the layer above
 * come the add's output z (where the ReLU after it is active) and δ at the add; eval batch norm is
 * folded. δ below conv₂ and the shortcut is then exact (k₂·δ, k_S·δ), but δ below conv₁ and h's own
 * rows need h's active set, which no recovered output shows: h lives inside the block. The estimate:
 *  1. solve the block without h's rows and conv₁'s gradient rows (the add's rows, conv₂'s and the
 *     shortcut's gradient rows, padding) and take the units where that h is positive;
 *  2. solve the whole block with that active set; repeat once with the active set of its h if it
 *     changed.
 * With the true active set the block's rows are exact (the what-if's), and a determined block is
 * recovered exactly; the first pass is only as good as it determines h's signs, so the block is
 * reported as an estimate.
 */
export interface BlockLayer {
  kernels: Kernels;
  block: ResidualBlock;
  index: number;
  params: ParamMap;
  /** The shared gradients, by parameter name. */
  gradients: ParamMap;
  /** The add's output where known (`known`), and dL/d(add output). */
  z: Float64Array;
  known: Uint8Array | null;
  dAdd: Float64Array;
  solve: SolveOptions;
}

export interface BlockSolution {
  system: LayerSystem;
  solution: LayerSolution;
  /** The block's input. */
  x: Float64Array;
  /** dL/d(block input), for the layer below. */
  inputGrad: () => Float64Array;
  /** Units of h whose estimated activity changed in the second pass (0 when it held). */
  changed: number;
}

export function solveBlock(B: BlockLayer): BlockSolution {
  const { block: b, params } = B;
  const c1 = b.conv1.shape[0], c2 = b.conv2.shape[0];
  const n1 = affine(b.bn1, params, c1), n2 = affine(b.bn2, params, c2);
  const dz2 = scaleChannels(n2.k, B.dAdd);
  const dzS = b.shortcut ? scaleChannels(affine(b.shortcut.bn, params, c2).k, B.dAdd) : null;
  const dW = (conv: GraphNode) => B.gradients.get(`${conv.name}.weight`)!;
  const weight = (conv: GraphNode) => params.get(`${conv.name}.weight`)!;
  const geometry = (conv: GraphNode) => convGeometry(conv.attrs as Conv2dAttrs, conv.inShapes[0]);
  // δ at h (before its ReLU's derivative): conv₂ᵀ δ₂
  const dh = B.kernels.conv2dInputGrad(geometry(b.conv2), 1, dz2, weight(b.conv2));
  const known = B.known ? { values: B.known, sums: null } : everyValue(B.z.length);
  const run = (hActive: Uint8Array | null, dz1: Float64Array | null) => {
    const system = blockSystem(b, B.index, {
      params, hActive, y: B.z, known,
      grads: (conv) => {
        if (conv === b.conv2) return { dz: dz2, dW: dW(conv) };
        if (conv === b.shortcut?.conv) return { dz: dzS!, dW: dW(conv) };
        return dz1 ? { dz: dz1, dW: dW(conv) } : null;
      },
    });
    const solution = solveLayer(system, B.solve);
    return { system, solution, ...splitBlockSolution(b, solution.x) };
  };
  const dz1Of = (active: Uint8Array) => scaleChannels(n1.k, dh.map((v, i) => (active[i] ? v : 0)));
  // h's units are taken as active as a recovered ReLU output's would be (active.ts)
  let active = activeUnits(run(null, null).h);
  let r = run(active, dz1Of(active));
  const next = activeUnits(r.h);
  const changed = next.reduce((s, v, i) => s + (v !== active[i] ? 1 : 0), 0);
  if (changed > 0) {
    active = next;
    r = run(active, dz1Of(active));
  }
  const dz1 = dz1Of(active);
  const inputGrad = () => {
    const dx = B.kernels.conv2dInputGrad(geometry(b.conv1), 1, dz1, weight(b.conv1));
    if (!b.shortcut) return dx.map((v, i) => v + B.dAdd[i]);
    const dxS = B.kernels.conv2dInputGrad(geometry(b.shortcut.conv), 1, dzS!, weight(b.shortcut.conv));
    return dx.map((v, i) => v + dxS[i]);
  };
  return { system: r.system, solution: r.solution, x: r.x, inputGrad, changed };
}
