import { InputError } from '../core/errors.js';
import type { Csr } from '../linalg/sparse.js';
import { solveLayer, type SolveOptions } from '../solve/layersolve.js';
import type { LayerSystem } from '../solve/system.js';
import { layerReport, type LayerReport } from './reports.js';

/**
 * The what-if's layer solves, in turn or side by side. The layers' systems are independent once the
 * forward and backward pass is done, so each may be solved on its own thread. The core cannot start
 * threads (it runs in Node and in browsers): the caller passes a `SpawnLayerWorker` (cli/layer-threads.ts
 * in Node; Web Workers in a browser), and a worker's body is `runLayerTask`.
 */

/** A layer system to solve for its rank, and the node name its report gives. Plain data. */
export interface LayerJob {
  node: string;
  system: LayerSystem;
}

/** A layer job before its system is built, with the estimated cost of its solve (solve/cost.ts). */
export interface PendingJob {
  node: string;
  cost: number;
  build(): LayerSystem;
}

export function solveLayerJob(job: LayerJob, solve: SolveOptions): LayerReport {
  const { system } = job;
  return { ...layerReport(system, solveLayer(system, { ...solve, rankOnly: true })), node: job.node };
}

/** The settings a worker's solve takes (no solver cache: it would stay behind in the worker). */
export interface WorkerSolve {
  tol: number;
  maxBytes?: number;
}

/** What a worker is sent. */
export interface LayerTask extends WorkerSolve {
  job: LayerJob;
}

/** What a worker sends back: the report, or the error for the calling thread to raise again. */
export type LayerOutcome =
  | { ok: true; report: LayerReport }
  | { ok: false; message: string; input: boolean };

/** A worker's body: one task; an error is sent back as data (exceptions do not cross threads). */
export function runLayerTask(task: LayerTask): LayerOutcome {
  try {
    return { ok: true, report: solveLayerJob(task.job, { tol: task.tol, maxBytes: task.maxBytes }) };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e), input: e instanceof InputError };
  }
}

/** A thread that solves one task at a time; `solve` rejects if the thread dies. */
export interface LayerWorker {
  solve(task: LayerTask): Promise<LayerOutcome>;
  terminate(): void;
}

export type SpawnLayerWorker = () => LayerWorker;

export interface LayerThreads {
  spawn: SpawnLayerWorker;
  /** Workers to start (at most one per layer system). */
  threads: number;
}

/**
 * Solves the jobs on the workers, the costliest first (longest processing time first, so the wall
 * time approaches the largest layer's); each system is built on this thread while the workers work,
 * one ahead of them. The reports keep the jobs' order. The first error is raised as the worker
 * raised it (an InputError stays one); the caller terminates the workers.
 */
export async function solveOnWorkers(
  jobs: PendingJob[], solve: WorkerSolve, workers: LayerWorker[],
): Promise<LayerReport[]> {
  const order = jobs.map((job, i) => ({ i, cost: job.cost })).sort((a, b) => b.cost - a.cost || a.i - b.i);
  const reports: LayerReport[] = new Array(jobs.length);
  const queue = { next: 0, failed: false };
  // The next job's system is built while the workers solve, so that a worker freed later finds it
  // ready instead of idling through its build; an error building it is raised when it is taken.
  const ready = new Map<number, { system: LayerSystem } | { error: unknown }>();
  const build = (i: number) => {
    try {
      return { system: ownBuffers(jobs[i].build()) };
    } catch (error) {
      return { error };
    }
  };
  const take = (i: number): LayerSystem => {
    const r = ready.get(i) ?? build(i);
    ready.delete(i);
    if ('error' in r) throw r.error;
    return r.system;
  };
  const serve = async (worker: LayerWorker) => {
    while (!queue.failed && queue.next < order.length) {
      const { i } = order[queue.next++];
      const solving = worker.solve({ ...solve, job: { node: jobs[i].node, system: take(i) } });
      const next = order[queue.next]?.i;
      if (next !== undefined && !ready.has(next)) ready.set(next, build(next));
      const out = await solving;
      if (!out.ok) {
        queue.failed = true;
        throw out.input ? new InputError(out.message) : new Error(out.message);
      }
      reports[i] = out.report;
    }
  };
  await Promise.all(workers.map(serve));
  return reports;
}

/**
 * The system with each array on a buffer of its own: a view into a larger buffer (a weight among all
 * the parameters) would copy the whole buffer to the worker.
 */
function ownBuffers(sys: LayerSystem): LayerSystem {
  const own = <T extends Float64Array | Int32Array | Uint8Array>(a: T): T =>
    (a.byteLength === a.buffer.byteLength ? a : (a.slice() as T));
  const csr = (c: Csr): Csr => ({ ...c, ptr: own(c.ptr), idx: own(c.idx), val: own(c.val) });
  return {
    ...sys, s: csr(sys.s), grad: csr(sys.grad), sRhs: own(sys.sRhs), sRowOutput: own(sys.sRowOutput),
    gradRhs: own(sys.gradRhs), weight: own(sys.weight), ...(sys.known ? { known: own(sys.known) } : {}),
  };
}
