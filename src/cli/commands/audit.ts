import os from 'node:os';
import type { AuditSource } from '../../analysis/audit.js';
import { auditMemory, randomClientImage, runAuditJob } from '../../app/audit.js';
import { fail } from '../../core/errors.js';
import { DEFAULT_RANK_TOL } from '../../solve/layersolve.js';
import { concurrentSolves, estimate } from '../../core/memory.js';
import { formatBytes } from '../../core/limits.js';
import type { Graph } from '../../model/graph.js';
import { spawnLayerWorker } from '../layer-threads.js';
import { layerGeometries } from '../../analysis/whatif.js';
import type { DefenceRecord, ServerPayload } from '../../threat/payload.js';
import {
  checkCeiling, IMAGE_OPTIONS, JSON_OPTION, loadUpdate, loadImages, loadParams, MODEL_OPTIONS, payload,
  requireModel, TOL_OPTION,
} from '../args.js';
import type { Command } from '../command.js';
import { DEFENCE_OPTIONS } from '../defence-args.js';
import { parseDefence } from '../../defences/spec.js';
import { noiseRecord } from '../../analysis/noise-view.js';
import { auditTable, noiseTable } from '../../app/tables.js';
import type { Args } from '../options.js';

export const auditCommand: Command = {
  name: 'audit',
  usage: `gradleak audit --model <preset|spec.json|model.onnx> [--weights W.safetensors]
               [--image IMG --label N | --gradients G.safetensors [--label N]] [--threads N]
               [--defence noise:z=Z[,clip=C] [--probes N]]
  Per-layer unknowns, constraint counts, numerical and count-based rank, condition estimate and the
  security index. Without --image or --gradients a seeded random image stands in for the client's;
  its layer systems are then solved side by side on --threads worker threads (default: one per core).
  With --defence noise:…, also each layer's predicted rgap error under that noise (docs/METHOD.md §14).`,
  options: {
    ...MODEL_OPTIONS, ...IMAGE_OPTIONS,
    gradients: {
      kind: 'string', arg: 'G.safetensors',
      help: 'audit these shared gradients (the attacker\'s view) instead of an image',
    },
    threads: {
      kind: 'int', arg: 'N', min: 1, max: 256,
      help: 'worker threads for the what-if\'s layer systems (default: one per core; 1 solves them '
        + 'in turn on this thread); results do not change',
    },
    defence: { ...DEFENCE_OPTIONS.defence, repeatable: false,
      help: 'noise:z=Z[,clip=C]: predict rgap\'s error per layer under the client\'s Gaussian noise' },
    probes: {
      kind: 'int', arg: 'N', min: 2, max: 4096,
      help: 'random probes per layer for the noise view (default 16; the error falls as 1/√N)',
    },
    ...TOL_OPTION, ...JSON_OPTION,
  },
  run: runAudit,
};

function auditSource(a: Args, payload: ServerPayload, maxBytes: number): AuditSource {
  const images = a.strs('image'), gradients = a.str('gradients');
  if (images.length && gradients) fail('give --image or --gradients, not both');
  if (images.length > 1) fail('the audit takes one --image (the layer-wise systems are those of one image)');
  const label = a.ints('label');
  if (label && label.length !== 1) fail('--label takes one label here');
  const model = payload.model;
  if (gradients) return {
    kind: 'gradients',
    update: { ...loadUpdate(gradients, model, maxBytes, 1), ...(label ? { labels: label } : {}) },
  };
  const image = images.length
    ? loadImages(images, model, payload.normalisation) : randomClientImage(model, a.int('seed', 0));
  return { kind: 'image', image, label: label?.[0] ?? 0 };
}

async function runAudit(a: Args): Promise<void> {
  const model = requireModel(a);
  const needed = estimate(auditMemory(model));
  const maxBytes = checkCeiling(a, needed, `auditing ${model.name}`);
  const p = payload(a, model, loadParams(a, model));
  const record = noiseDefence(a);
  const source = auditSource(a, p, maxBytes);
  const threads = source.kind === 'image' ? layerThreads(a, model, needed.bytes, maxBytes) : 1;
  const t0 = performance.now();
  const report = await runAuditJob({
    payload: p, source, tol: a.num('tol', DEFAULT_RANK_TOL), maxBytes,
    threads: { spawn: spawnLayerWorker, threads },
    ...(record ? { noise: { record, probes: a.int('probes', 16), seed: a.int('seed', 0) } } : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  if (a.flag('json')) {
    console.log(JSON.stringify({ ...report, seconds }));
    return;
  }
  for (const w of report.warnings) console.error(`warning: ${w}`);
  console.log(`${model.name}: ${report.layers.length} layers, input ${model.input.join('×')}\n\n`
    + `${auditTable(report)}${report.noise ? `\n${noiseTable(report.noise)}` : ''}\n(${seconds.toFixed(3)} s)`);
}

/** The checked --defence, if any: the noise view needs the image's systems, so not with --gradients. */
function noiseDefence(a: Args): DefenceRecord | undefined {
  if (!a.has('defence')) {
    if (a.has('probes')) fail('--probes goes with --defence noise:…');
    return undefined;
  }
  if (a.has('gradients')) fail('the noise view needs the client\'s image (--image, or the default random one), '
    + 'not --gradients');
  return noiseRecord([parseDefence(a.str('defence')!)]);
}

/** --threads, or one per core, fewer when that many layer solves at once would pass the ceiling. */
function layerThreads(a: Args, model: Graph, base: number, ceiling: number): number {
  const wanted = a.int('threads', os.availableParallelism());
  const c = concurrentSolves({ layers: layerGeometries(model) }, wanted, base, ceiling);
  if (c.solves < c.limit) {
    console.error(`audit: ${c.limit} layer solves at once would need an estimated `
      + `${formatBytes(c.wantedBytes)}, above the ${formatBytes(ceiling)} memory ceiling; `
      + `solving ${c.solves} at a time`);
  }
  return c.solves;
}
