import { PRESETS } from './chain-presets.js';
import { parseSpec } from './chain-spec.js';
import { SWEEPS } from './sweeps.js';
import { chainToGraph } from './chain.js';
import { buildGraph, parseGraphSpec, type Graph, type GraphSpec } from './graph.js';
import { GRAPH_PRESETS } from './zoo.js';

/**
 * Every model gradleak knows by name: the graph presets of the literature (zoo.ts), the 34 chain
 * architectures of the architecture study, and its one-factor sweep models; and spec files in
 * either format (a `nodes` graph or a `layers` chain).
 */
export type PresetKind = 'graph' | 'chain' | 'sweep';

export function presetNames(): { name: string; kind: PresetKind }[] {
  return [
    ...Object.keys(GRAPH_PRESETS).map((name) => ({ name, kind: 'graph' as const })),
    ...Object.keys(PRESETS).map((name) => ({ name, kind: 'chain' as const })),
    ...Object.keys(SWEEPS).map((name) => ({ name, kind: 'sweep' as const })),
  ];
}

/** A preset's graph spec, or null for an unknown name. */
export function presetSpec(name: string): GraphSpec | null {
  if (Object.hasOwn(GRAPH_PRESETS, name)) return GRAPH_PRESETS[name]();
  if (Object.hasOwn(PRESETS, name)) return chainToGraph(PRESETS[name]);
  if (Object.hasOwn(SWEEPS, name)) return chainToGraph(SWEEPS[name]);
  return null;
}

export function presetGraph(name: string): Graph | null {
  const spec = presetSpec(name);
  return spec ? buildGraph(spec, name) : null;
}

/** A parsed spec file: a graph (`nodes`) or a chain (`layers`), as a graph. */
export function graphFromJson(raw: unknown, source: string): Graph {
  const isChain = typeof raw === 'object' && raw !== null && !Array.isArray(raw)
    && 'layers' in raw && !('nodes' in raw);
  const spec = isChain ? chainToGraph(parseSpec(raw, source)) : parseGraphSpec(raw, source);
  return buildGraph(spec, source);
}
