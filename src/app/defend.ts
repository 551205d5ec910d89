import { fail } from '../core/errors.js';
import type { AttackMode, DefendCell } from '../defend/cell.js';
import { weakestFirst } from '../defend/summary.js';
import { getDefence } from '../defences/registry.js';
import { formatDefence, parseDefenceSweep } from '../defences/spec.js';
import {
  bitmapsToBatch, bitmapToTensor, fitBitmap, REFERENCE_NORMALISATION, type Bitmap,
} from '../formats/image.js';
import type { ClientBatch } from '../defences/types.js';
import type { Graph, GraphSpec, ParamMap } from '../model/graph.js';
import type { Precision } from '../kernels/select.js';
import type { BnMode } from '../ops/op.js';
import type { DefenceRecord } from '../threat/payload.js';

/**
 * A defence sweep's plan, shared by `gradleak defend` and the web app: the defences' strengths from
 * their specs, and every cell in a fixed order (the undefended baseline, then each defence as given,
 * strengths weakest first), each attack in each mode on each image.
 */

/** Each spec as its records, weakest first; a choice strength with no values sweeps them all. */
export function defenceSweeps(specs: readonly string[], delta?: number): DefenceRecord[][] {
  if (specs.length === 0) fail('--defence is required: a defence and its strengths, e.g. noise:0.5,1,2');
  const seen = new Set<string>();
  return specs.map((spec) => {
    const name = spec.split(':')[0];
    const d = getDefence(name);
    const option = d.options.find((o) => o.name === d.strength.option)!;
    const full = !spec.includes(':') && option.kind === 'choice'
      ? `${name}:${option.choices!.join(',')}` : spec;
    if (seen.has(name)) fail(`--defence ${name} is given twice: list its strengths in one spec`);
    seen.add(name);
    const records = parseDefenceSweep(full).map((r) => (name === 'noise' && delta !== undefined
      && !/(^|[:,])\s*delta\s*=/.test(spec) ? { ...r, params: { ...r.params, delta } } : r));
    const unique = new Map(records.map((r) => [formatDefence(r), r]));
    return weakestFirst([...unique.values()]);
  });
}

export interface DefendPlanInput {
  /** The model as cells name it (label), key it (key) and carry it (cell: a file's spec, weights). */
  model: { label: string; key: string; graph: Graph; cell: { spec?: GraphSpec; weights?: ParamMap } };
  sweeps: DefenceRecord[][];
  methods: string[];
  modes: AttackMode[];
  images: readonly PlanImage[];
  iterations?: number;
  seed: number;
  precision: Precision;
  /** Batch norm of the client's pass (default train). */
  bnMode?: BnMode;
  /** Secure aggregation's other clients: a named set of images, the target left out of its own sum. */
  population?: { name: string; images: readonly PlanImage[] };
}

export type PlanImage = { id: string; bitmap: Bitmap; label: number | null };

/**
 * Secure aggregation's crowd for a sweep, as `defend --population` and the web app's sweep (over the
 * bundled samples) take it: `load(n)` answers a set's first n images, and n is the largest K swept
 * (K − 1 others, plus one in case the target is among them); undefined when no secagg is swept.
 */
export function secaggPopulation(
  sweeps: DefenceRecord[][], name: string, load: (count: number) => readonly PlanImage[],
): DefendPlanInput['population'] {
  const ks = sweeps.flat().filter((r) => r.name === 'secagg').map((r) => r.params.clients as number);
  return ks.length === 0 ? undefined : { name, images: load(Math.max(...ks)) };
}

export interface DefendPlan {
  /** Each curve: an attack and its mode. */
  series: [string, AttackMode][];
  /** The (defence, attack, mode) points, baseline first. */
  points: [DefenceRecord | null, string, AttackMode][];
  /** Every cell's key in the plan's order; `cell(key)` builds it (its input tensor) on demand. */
  keys: string[];
  cell(key: string): DefendCell;
}

export function defendPlan(p: DefendPlanInput): DefendPlan {
  const { model: m } = p;
  const series = p.methods.flatMap((x) => p.modes.map((mode): [string, AttackMode] => [x, mode]));
  const points: DefendPlan['points'] = [
    ...p.methods.map((x): [null, string, AttackMode] => [null, x, 'naive']),
    ...p.sweeps.flat().flatMap((r) => series.map(
      ([x, mode]): [DefenceRecord, string, AttackMode] => [r, x, mode])),
  ];
  const shape = m.graph.input as [number, number, number];
  const makers = new Map<string, () => DefendCell>();
  for (const [record, method, mode] of points) {
    p.images.forEach((img, i) => {
      const secagg = record?.name === 'secagg';
      const crowd = secagg ? othersOf(p.population, img.id, record, m.graph.classes, shape) : undefined;
      // bn and population enter the key only when they apply, so earlier journals stay valid
      const key = [m.key, record ? formatDefence(record) : 'none', method, mode, img.id,
        p.iterations ?? 'default', p.seed, p.precision, ...(p.bnMode === 'eval' ? ['bn=eval'] : []),
        ...(secagg ? [`population=${p.population!.name}`] : [])].join('|');
      makers.set(key, () => ({
        key, model: m.label, ...m.cell, image: img.id,
        input: bitmapToTensor(fitBitmap(img.bitmap, shape), shape, REFERENCE_NORMALISATION),
        label: (img.label ?? i) % m.graph.classes, iterations: p.iterations, seed: p.seed,
        precision: p.precision, method, mode, ...(record ? { defence: record } : {}),
        ...(p.bnMode === 'eval' ? { bnMode: p.bnMode } : {}), ...(crowd ? { population: crowd() } : {}),
      }));
    });
  }
  return {
    series, points, keys: [...makers.keys()],
    cell: (key) => (makers.get(key) ?? fail(`no cell ${key} in this plan`))(),
  };
}

/**
 * The other K − 1 clients of a secagg record for one target: the first images of the population other
 * than the target itself (the sum must not count it twice), each with its set's label or its place
 * in the set. Checked when the plan is made, built (as model inputs) when the cell is.
 */
function othersOf(
  population: DefendPlanInput['population'], image: string, r: DefenceRecord, classes: number,
  shape: [number, number, number],
): () => ClientBatch {
  if (!population) fail(`${formatDefence(r)} needs the other clients' images (a population)`);
  const need = (r.params.clients as number) - 1;
  const chosen = population.images.map((s, i) => ({ s, i })).filter(({ s }) => s.id !== image).slice(0, need);
  if (chosen.length < need) fail(`${formatDefence(r)} needs ${need} image(s) besides ${image} for the other `
    + `clients; the population ${population.name} has ${chosen.length}`);
  return () => ({
    images: bitmapsToBatch(chosen.map(({ s }) => s), shape, REFERENCE_NORMALISATION),
    labels: chosen.map(({ s, i }) => (s.label ?? i) % classes),
  });
}
