import { Engine } from '../autodiff/engine.js';
import { crossEntropy } from '../autodiff/prims/softmax.js';
import type { Kernels } from '../kernels/kernels.js';
import { paramVars } from '../model/gradients.js';
import { forwardGraph, type Graph, type GraphNode } from '../model/graph.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkBatch } from '../threat/client.js';
import type { ServerPayload } from '../threat/payload.js';
import { closedFormReport, noRuleReport, type LayerReport } from './reports.js';
import { fail } from '../core/errors.js';
import type { SolveOptions } from '../solve/layersolve.js';
import { solveLayerJob, type PendingJob } from './layer-jobs.js';
import { solveCost } from '../solve/cost.js';
import type { LayerGeometry } from '../model/chain-spec.js';
import { buildLayerSystem } from '../solve/system.js';
import { everyValue, type Knowledge } from '../ops/knowledge.js';
import { blockSystem } from './blocks.js';
import { consumersOf, findResidualBlocks } from '../model/blocks.js';

/**
 * The audit's what-if on any graph: the model owner knows the image, so every value the attacker
 * would have to recover (pre-activations, their gradients, ReLU and max-pool active sets) is the true
 * one. Each weighted node (conv2d, linear) gets its layer system; the rows its outputs give are those
 * the ops up to the next weighted node let through (each op's `layerwise` rule): weight rows for the
 * outputs known one by one, and sums of weight rows for the known sums of outputs. A node whose output
 * branches, or meets an op without a rule, is reported with the reason instead of a rank.
 */

/** A weighted node of the graph and the geometry of its system, or why it has none. */
export interface WeightLayer {
  node: GraphNode;
  geometry: LayerGeometry | { reason: string };
}

/** The weighted nodes in graph order (the layer-wise analysis's layers), with their geometries. */
export function weightLayers(g: Graph): WeightLayer[] {
  return g.nodes.filter((n) => n.op.system).map((node, index) => ({
    node, geometry: node.op.system!.geometry(node.attrs, node.inShapes[0], index),
  }));
}

/** The geometries of the layers that have one (for memory estimates). */
export function layerGeometries(g: Graph): LayerGeometry[] {
  return weightLayers(g).flatMap((l) => ('reason' in l.geometry ? [] : [l.geometry]));
}

/**
 * One layer of the what-if: its report when there is nothing to solve (no rule, the closed-form last
 * layer, a residual block's inner layer), else how to build its system (built when it is solved, so
 * that a worker can start on the costliest layer while the others are built).
 */
export type WhatIfLayer = { report: LayerReport } | PendingJob;

/** The what-if's reports, each layer solved in turn on this thread. */
export function whatIfReports(
  kernels: Kernels, payload: ServerPayload, image: Tensor, label: number, solve: SolveOptions,
): LayerReport[] {
  return whatIfLayers(kernels, payload, image, label)
    .map((l) => ('report' in l ? l.report : solveLayerJob({ node: l.node, system: l.build() }, solve)));
}

/** The what-if's layers: one forward and backward pass, then each weighted node's system. */
export function whatIfLayers(
  kernels: Kernels, payload: ServerPayload, image: Tensor, label: number,
): WhatIfLayer[] {
  const g = payload.model;
  checkBatch(g, image, [label]);
  if (image.shape[0] !== 1) fail(`the audit's what-if takes one image, got ${image.shape[0]}`);
  const layers = weightLayers(g);
  const e = new Engine(kernels);
  const vars = paramVars(e, g, payload.params, true);
  const values = forwardGraph({ e, bnMode: payload.bnMode }, g, vars, { x: e.constant(image) });
  const loss = crossEntropy(e, values[g.output], [label]);
  const weightOf = (n: GraphNode) => vars.get(`${n.name}.weight`)!;
  const grads = e.grad(
    loss, [...layers.map((l) => values[l.node.index]), ...layers.map((l) => weightOf(l.node))]);
  const L = layers.length;
  const consumers = consumersOf(g);
  const data = values.map((v) => v?.data);
  const blocks = findResidualBlocks(g, consumers, payload.bnMode);
  const layerOf = (n: GraphNode) => layers.findIndex((l) => l.node === n);
  return layers.map(({ node, geometry }, i): WhatIfLayer => {
    const k = node.index;
    const z = values[k].data;
    const unknowns = node.inShapes[0].reduce((a, b) => a * b, 1);
    const type = node.op.name === 'linear' ? 'linear' : 'conv';
    if ('reason' in geometry) return { report: noRuleReport(
      i, type, node.name, unknowns, `node "${node.name}": ${geometry.reason}`) };
    if (i === L - 1 && type === 'linear') {
      return { report: { ...closedFormReport(geometry), node: node.name } };
    }
    const inner = blocks.find((b) => b.conv2 === node || b.shortcut?.conv === node);
    if (inner) return {
      report: {
        ...noRuleReport(i, type, node.name, unknowns,
          `in the system of its residual block, reported at layer ${layerOf(inner.conv1)}`),
        partOf: layerOf(inner.conv1),
      },
    };
    const block = blocks.find((b) => b.conv1 === node);
    if (block) {
      const known = knownOutputs(kernels, payload, data, consumers, block.add);
      if ('reason' in known) return { report: noRuleReport(i, type, node.name, unknowns, known.reason) };
      const build = () => blockSystem(block, i, {
        params: payload.params, known, y: values[block.add.index].data,
        hActive: Uint8Array.from(values[block.relu.index].data, (v) => (v > 0 ? 1 : 0)),
        grads: (conv) => ({ dz: grads[layerOf(conv)]!.data, dW: grads[L + layerOf(conv)]!.data }),
      });
      const convs = [node, block.conv2, ...(block.shortcut ? [block.shortcut.conv] : [])];
      // the block's system is built from its convolutions' geometries: their costs stand in for its own
      const cost = convs.reduce((t, n) => {
        const lg = layers[layerOf(n)].geometry;
        return t + ('reason' in lg ? 0 : solveCost(lg));
      }, 0);
      return { build, cost, node: `${convs.map((n) => n.name).join(' + ')} (block)` };
    }
    const known = knownOutputs(kernels, payload, data, consumers, node);
    if ('reason' in known) return { report: noRuleReport(i, type, node.name, unknowns, known.reason) };
    const param = (suffix: string) => payload.params.get(`${node.name}.${suffix}`);
    const partial = known.values.some((v) => v === 0);
    const build = () => buildLayerSystem(geometry, {
      weight: param('weight')!, bias: param('bias') ?? null, z, dz: grads[i]!.data, dW: grads[L + i]!.data,
      ...(partial ? { known: known.values } : {}), ...(known.sums ? { sums: known.sums } : {}),
      deltaUpToScale: known.deltaUpToScale ?? false,
    });
    return { build, cost: solveCost(geometry), node: node.name };
  });
}

/**
 * What a weighted node's outputs are known as: walk forward along single consumers to the next
 * weighted node, the model's output or a value that feeds several nodes (each taken as known), then
 * back through each op's rule. An op that joins branches (add) stops the walk: its other input comes
 * from below, so only the block as a whole has a system (analysis/blocks.ts).
 */
function knownOutputs(
  kernels: Kernels, payload: ServerPayload, values: (Float64Array | undefined)[], consumers: GraphNode[][],
  from: GraphNode,
): Knowledge | { reason: string } {
  const g = payload.model;
  const path: GraphNode[] = [];
  let at = from;
  while (at.index !== g.output) {
    const next = consumers[at.index];
    // a value that feeds several nodes (a block's input) is what the block above recovers: as with the
    // next weighted node's input, the what-if takes it as known
    if (next.length !== 1) break;
    const op = next[0];
    if (op.op.system) break;
    if (op.inputs.length !== 1) {
      return {
        reason: `node "${op.name}" (${op.op.name}) joins branches: only residual blocks (conv → relu → `
          + 'conv beside an identity or convolution shortcut, eval batch norm) are solved as one system',
      };
    }
    if (!op.op.layerwise) return { reason: `node "${op.name}" (${op.op.name}) has no layer-wise rule` };
    path.push(op);
    at = op;
  }
  let known = everyValue(values[at.index]!.length);
  for (let p = path.length - 1; p >= 0; p--) {
    const op = path[p];
    const params: Record<string, Float64Array> = {};
    for (const { name, decl } of op.params) params[decl.suffix] = payload.params.get(name)!;
    const r = op.op.layerwise!.knownInputs(op.attrs, {
      kernels, bnMode: payload.bnMode, inShape: op.inShapes[0], input: values[op.inputs[0]]!, params,
    }, known);
    if ('reason' in r) return { reason: `node "${op.name}" (${op.op.name}): ${r.reason}` };
    known = { ...r, deltaUpToScale: (known.deltaUpToScale ?? false) || (r.deltaUpToScale ?? false) };
  }
  return known;
}
