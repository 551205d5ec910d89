import path from 'node:path';
import { fail } from '../core/errors.js';
import { contentHash, loadModel } from '../io/files.js';
import type { Graph, GraphSpec, ParamMap } from '../model/graph.js';
import { chainSpec, isModelFile } from '../model/sweeps.js';
import { chainArchitecture, graphArchitecture, type Architecture } from '../study/report.js';
import { loadParams } from './args.js';
import type { Args } from './options.js';

/** A model of the study, as its cells and its report need it. */
export interface StudyModel {
  /** How rows and the report name it: a preset's name, a file's base name. */
  label: string;
  /** Its part of a cell's journal key: the label, with hashes of a file's and of --weights' bytes. */
  key: string;
  graph: Graph;
  architecture: Architecture;
  /** What its cells carry to a worker beyond the label: a file's graph, weights not from the seed. */
  cell: { spec?: GraphSpec; weights?: ParamMap };
}

/**
 * The study's models: presets by name (a cell rebuilds them by name, and their keys stay what they
 * always were, so old journals resume), model files read once here (their cells carry the graph and
 * an ONNX file's initializers), and --weights for a single model, which replace the seeded or the
 * file's own weights.
 */
export function studyModels(v: Args, names: string[], ceiling: number): StudyModel[] {
  const weights = v.str('weights');
  if (weights && names.length !== 1) fail(`--weights goes with one model; --models gives ${names.length}`);
  const models = names.map((ref): StudyModel => {
    const file = isModelFile(ref);
    const graph = loadModel(ref, ceiling / 3);
    const label = file ? path.basename(ref) : ref;
    const kind = /\.onnx$/i.test(ref) ? 'onnx' : 'spec';
    let key = file ? `${label}@${contentHash(ref, 'model', kind, ceiling / 3)}` : ref;
    const cell: StudyModel['cell'] = file ? { spec: graph.spec } : {};
    // --weights, else an ONNX file's initializers (checked as everywhere); else each cell seeds its own
    if (weights || graph.weights) cell.weights = loadParams(v, graph);
    if (weights) key += `+weights@${contentHash(weights, 'weights', 'safetensors', ceiling)}`;
    // a chain's own spec says it as the study always did; any graph says it from its nodes
    const chain = file ? null : chainSpec(ref);
    return {
      label, key, graph, cell, architecture: chain ? chainArchitecture(chain) : graphArchitecture(graph),
    };
  });
  const labels = new Set<string>();
  for (const m of models) {
    if (labels.has(m.label)) fail(`two models of the study are called ${JSON.stringify(m.label)}; `
      + 'rename one of the files');
    labels.add(m.label);
  }
  return models;
}
