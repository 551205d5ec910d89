/// <reference lib="webworker" />
import { runAttackJob, attackFiles, type AttackProgress } from '../../src/app/attack.js';
import { runAuditJob } from '../../src/app/audit.js';
import { runCompareJob } from '../../src/app/compare.js';
import { openSession, type Session } from '../../src/app/session.js';
import { auditTable } from '../../src/app/tables.js';
import type { AttackOptions } from '../../src/attacks/types.js';
import { ATTACKS, getAttack } from '../../src/attacks/registry.js';
import { presetNames } from '../../src/model/presets.js';
import { InputError } from '../../src/core/errors.js';
import { runDefendCell } from '../../src/defend/cell.js';
import { unitTensorToBitmap } from '../../src/formats/image.js';
import { JS_KERNELS } from '../../src/kernels/js/index.js';
import { matchingKernels } from '../../src/kernels/select.js';
import { DEFAULT_RANK_TOL } from '../../src/solve/layersolve.js';
import { SolverCache } from '../../src/solve/solver-cache.js';
import { sweepCells, sweepReport } from './sweep.js';
import type { FromWorker, Inputs, JobResult, ProgressMessage, ToWorker } from './protocol.js';

/**
 * A long-lived worker: it runs one job at a time through the application layer (src/app), exactly as
 * the CLI does, single-threaded, and posts progress (at most every PREVIEW_MS, with the current
 * reconstruction) and the result. The page cancels a job by ending this worker.
 */
const PREVIEW_MS = 100;
/** The memory ceiling of one job: a tab's heap is smaller than a machine's. */
const MAX_BYTES = 2 ** 31;

const post = (m: FromWorker) => (self as DedicatedWorkerGlobalScope).postMessage(m);

function session(inputs: Inputs): Session {
  return openSession({ ...inputs, maxBytes: MAX_BYTES });
}

function attackOptions(
  seed: number, iterations: number | undefined, adaptive: boolean,
): Omit<AttackOptions, 'onProgress'> {
  const matching = matchingKernels('f32');
  return {
    seed, tol: DEFAULT_RANK_TOL, iterations, adaptive, maxBytes: MAX_BYTES, kernels: JS_KERNELS,
    matchingKernels: matching.kernels, matchingNote: matching.note, solver: new SolverCache(),
  };
}

function progressPoster(id: number, s: Session): AttackProgress {
  const shape = s.payload.model.input as [number, number, number];
  const n = shape[0] * shape[1] * shape[2];
  const norm = s.payload.normalisation;
  let last = -Infinity;
  return (p, psnr) => {
    const now = performance.now();
    if (now - last < PREVIEW_MS && p.step < p.total) return;
    last = now;
    const progress: ProgressMessage = { step: p.step, total: p.total, message: p.message, psnr };
    if (p.current) progress.preview = unitTensorToBitmap(
      Float64Array.from(p.current.subarray(0, n), (v) => (v - norm.offset) / norm.scale), shape);
    post({ id, type: 'progress', progress });
  };
}

function run(id: number, msg: ToWorker['job']): JobResult {
  if (msg.kind === 'cell') return { kind: 'cell', result: runDefendCell(msg.cell) };
  if (msg.kind === 'catalogue') return {
    kind: 'catalogue', presets: presetNames(),
    attacks: ATTACKS.map((a) => ({ name: a.name, description: a.description })),
  };
  if (msg.kind === 'sweep-plan') return { kind: 'sweep-plan', cells: sweepCells(msg.sweep) };
  if (msg.kind === 'sweep-report') return { kind: 'sweep-report', ...sweepReport(msg.sweep, msg.done) };
  if (msg.kind === 'audit') throw new Error('audit is asynchronous');
  const s = session(msg.inputs);
  const base = {
    payload: s.payload, update: s.update, targets: s.targets, onProgress: progressPoster(id, s),
    options: attackOptions(msg.inputs.seed, msg.iterations, msg.adaptive),
  };
  if (msg.kind === 'attack') {
    const o = runAttackJob({ ...base, attack: getAttack(msg.method) });
    return {
      kind: 'attack', attack: {
        result: o.result, seconds: o.timing.seconds, bitmaps: o.bitmaps, target: s.target,
        files: attackFiles(o),
      },
    };
  }
  const c = runCompareJob(msg.methods.map(getAttack), base, {
    onStart: (a) => post({ id, type: 'progress', progress: { step: 0, total: 1, message: `${a.name}…` } }),
  });
  return { kind: 'compare', rows: c.rows, shown: c.shown, target: s.target, files: c.files };
}

async function audit(inputs: Inputs): Promise<JobResult> {
  const s = session(inputs);
  const t0 = performance.now();
  const report = await runAuditJob({ payload: s.payload, source: s.audit, maxBytes: MAX_BYTES });
  const seconds = (performance.now() - t0) / 1000;
  const md = `# ${report.model}\n\n\`\`\`\n${auditTable(report)}\n\`\`\`\n`;
  return {
    kind: 'audit', report, seconds,
    files: [{ name: 'audit.json', data: JSON.stringify(report, null, 1) + '\n' }, { name: 'audit.md', data: md }],
  };
}

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const { id, job } = e.data;
  try {
    const result = job.kind === 'audit' ? await audit(job.inputs) : run(id, job);
    post({ id, type: 'done', result });
  } catch (err) {
    const input = err instanceof InputError;
    post({ id, type: 'error', message: err instanceof Error ? err.message : String(err), input });
  }
};
