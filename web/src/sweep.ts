import { defendPlan, defenceSweeps, secaggPopulation } from '../../src/app/defend.js';
import { modelOf } from '../../src/app/session.js';
import type { DefendCell, DefendRow } from '../../src/defend/cell.js';
import { defendReport } from '../../src/defend/report.js';
import { summariseDefend } from '../../src/defend/summary.js';
import { formatDefence } from '../../src/defences/spec.js';
import { fitBitmap, unitTensorToBitmap } from '../../src/formats/image.js';
import type { PlanImage } from '../../src/app/defend.js';
import type { Inputs, NamedFile } from './protocol.js';

/**
 * The defence sweep's two ends, run in a worker: its plan (src/app/defend.ts, as `gradleak defend`
 * makes it) and, once the page's workers have run the cells, its summary, curve and report. Secure
 * aggregation's other clients are the bundled samples (as `defend --population samples`), decoded by
 * the page (samples.ts' sampleSet), which keeps the PNG decoder out of the worker.
 */
export interface SweepRequest {
  inputs: Inputs;
  specs: string[];
  methods: string[];
  /** Each defended cell also with the attack that knows the defence (`defend --adaptive`). */
  adaptive: boolean;
  /** The set secure aggregation's other clients come from: the bundled samples. */
  population: PlanImage[];
  iterations?: number;
  threshold: number;
  maxBytes: number;
}

export function sweepCells(r: SweepRequest): DefendCell[] {
  const { plan } = planOf(r);
  return plan.keys.map(plan.cell);
}

export function sweepReport(
  r: SweepRequest, done: { row: DefendRow; reconstruction: Float64Array }[],
): { files: NamedFile[]; breakPoints: string } {
  const { plan, sweeps, graph, label, image } = planOf(r);
  const byKey = new Map(done.map((d) => [d.row.key, d]));
  const rows = plan.keys.flatMap((k) => byKey.get(k)?.row ?? []);
  const summary = summariseDefend(rows, sweeps, plan.series, r.threshold);
  const shape = graph.input as [number, number, number];
  const report = defendReport({
    summary, sweeps, series: plan.series, model: label, images: [image.source],
    command: `gradleak web: defend --model ${label} ${r.specs.map((s) => `--defence ${s}`).join(' ')} `
      + `--methods ${r.methods.join(',')}${r.adaptive ? ' --adaptive' : ''} --seed ${r.inputs.seed}`,
    target: fitBitmap(image.bitmap, shape),
    reconstruction: (record, method, mode) => {
      const spec = record ? formatDefence(record) : 'none';
      const key = plan.keys.find((k) => {
        const p = k.split('|');
        return p[1] === spec && p[2] === method && p[3] === mode;
      });
      const x = key ? byKey.get(key)?.reconstruction : undefined;
      return x ? unitTensorToBitmap(x, shape) : null;
    },
  });
  const results = JSON.stringify({
    model: label, threshold: r.threshold, summary, rows: rows.map(({ seconds: _s, ...row }) => row),
  }, null, 1) + '\n';
  const breakPoints = summary.breakPoints.map((b) => `${b.defence}: ${b.strength === null
    ? `no break point (the best attack stays at or above ${r.threshold} dB)`
    : `break point ${b.strength}`}`).join(' · ');
  const files = [...report.map((f) => ({ name: f.file, data: f.data })), { name: 'results.json', data: results }];
  return { files, breakPoints };
}

function planOf(r: SweepRequest) {
  const image = r.inputs.image;
  if (!image) throw new Error('choose an image first');
  const sweeps = defenceSweeps(r.specs);
  const graph = modelOf(r.inputs.model, r.maxBytes);
  const label = 'preset' in r.inputs.model ? r.inputs.model.preset : r.inputs.model.file.name;
  const plan = defendPlan({
    model: { label, key: label, graph, cell: 'preset' in r.inputs.model ? {} : { spec: graph.spec } },
    sweeps, methods: r.methods, modes: r.adaptive ? ['naive', 'adaptive'] : ['naive'],
    images: [{ id: image.source, bitmap: image.bitmap, label: r.inputs.label }],
    iterations: r.iterations, seed: r.inputs.seed, precision: 'f32',
    population: secaggPopulation(sweeps, 'samples', (n) => r.population.slice(0, n)),
  });
  return { plan, sweeps, graph, label, image };
}
