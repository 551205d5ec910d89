import { Queue, type Job } from 'bullmq';
import { fail } from '../../core/errors.js';
import { onStopSignals, type CellError, type CellRunner, type CellTask } from '../cell-pool.js';
import { fromWire, toWire } from './codec.js';
import { checkReachable, connect, QUEUE_NAME, type QueueAddress } from './connection.js';
import { JOB_ATTEMPTS, jobId, KEEP_SECONDS, type CellJob, type CellJobResult } from './jobs.js';

/** How often the coordinator looks for finished jobs: it adds at most this to a study's wall time. */
const POLL_MS = 250;
/** After this long without a successful command, the Redis counts as lost. */
const LOST_AFTER_MS = 20_000;
/** Jobs added per round trip. */
const ADD_BATCH = 100;

/**
 * The cells of a study (or a defence sweep) as jobs of a BullMQ queue, taken by `gradleak worker`
 * processes anywhere. The coordinator adds every unfinished cell as a job whose id derives from the
 * output folder and the cell's key, collects finished jobs into `onResult` (the same journal and
 * outputs as a local run), and removes each job only once its result is journalled. So a restarted
 * coordinator finds its jobs again (adding one twice is a no-op), and a result is never lost or kept
 * twice: a job either is in the queue or its cell is in the journal, and a job of a cell that is not
 * pending (collected already) is dropped.
 */
export function queueRunner(address: QueueAddress, outDir: string): CellRunner {
  return {
    where: `the queue at ${address.shown}`,
    cellBytes: undefined,
    run: (task, cells, onResult, onStop) => coordinate(address, outDir, task, cells, onResult, onStop),
  };
}

async function coordinate<C extends { key: string }, R>(
  address: QueueAddress, scope: string, task: CellTask, cells: C[], onResult: (r: R) => void,
  onStop: (signal: string) => void,
): Promise<CellError[]> {
  if (cells.length === 0) return [];
  await checkReachable(address);
  const health = { error: '' };
  const note = (e: Error) => { health.error = e.message.split('\n')[0]; };
  const redis = connect(address, note, false);
  const queue = new Queue<CellJob, CellJobResult>(QUEUE_NAME, { connection: redis });
  queue.on('error', note);
  const release = onStopSignals((signal, code) => {
    onStop(signal);
    console.error(`${task}: the queued cells go on on the workers; the same command collects them`);
    redis.disconnect();
    process.exit(code);
  });
  const lost = (e: unknown) => fail(`lost the Redis at ${address.shown} (${health.error
    || (e as Error).message.split('\n')[0]}); the finished cells are in the journal: run the same `
    + 'command again to resume');
  try {
    const pending = new Map(cells.map((c) => [jobId(task, scope, c.key), c.key]));
    try {
      await enqueue(queue, task, scope, cells, pending);
    } catch (e) {
      lost(e);
    }
    return await collect(queue, task, scope, pending, onResult, lost);
  } finally {
    release();
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
}

/**
 * Adds the cells in their order. A job that failed in an earlier run of this study is removed first,
 * so that it runs again (as a rerun retries a local study's failed cells); a job still waiting,
 * running or finished is kept and collected.
 */
async function enqueue<C extends { key: string }>(
  queue: Queue<CellJob, CellJobResult>, task: CellTask, scope: string, cells: C[], pending: Map<string, string>,
): Promise<void> {
  for (const job of await queue.getJobs(['failed'])) if (job.id && pending.has(job.id)) await job.remove();
  const opts = (key: string) => ({
    jobId: jobId(task, scope, key), attempts: JOB_ATTEMPTS,
    removeOnComplete: { age: KEEP_SECONDS }, removeOnFail: { age: KEEP_SECONDS },
  });
  for (let i = 0; i < cells.length; i += ADD_BATCH) {
    await queue.addBulk(cells.slice(i, i + ADD_BATCH).map((c) => ({
      name: task, data: { scope, key: c.key, cell: toWire(c) }, opts: opts(c.key),
    })));
  }
}

/** Collects finished jobs until none is pending; answers the cells that failed, with their errors. */
async function collect<R>(
  queue: Queue<CellJob, CellJobResult>, task: CellTask, scope: string, pending: Map<string, string>,
  onResult: (r: R) => void, lost: (e: unknown) => never,
): Promise<CellError[]> {
  const errors: CellError[] = [];
  const tally = { again: 0, dropped: 0 };
  let lastOk = performance.now();
  while (pending.size > 0) {
    let finished: Job<CellJob, CellJobResult>[];
    try {
      finished = await queue.getJobs(['completed', 'failed']);
      lastOk = performance.now();
    } catch (e) {
      if (performance.now() - lastOk > LOST_AFTER_MS) lost(e);
      finished = [];
    }
    for (const job of finished) {
      if (job.name !== task || job.data?.scope !== scope) continue;
      const key = job.id ? pending.get(job.id) : undefined;
      if (key === undefined) {
        // journalled by an earlier coordinator that stopped before removing the job, or a cell
        // this run no longer asks for: kept once, so dropped here
        tally.dropped++;
        await job.remove().catch(() => undefined);
        continue;
      }
      if (job.stalledCounter > 0 || job.attemptsStarted > 1) tally.again++;
      if (job.failedReason) errors.push({ key, error: job.failedReason });
      else onResult(fromWire(job.returnvalue.result) as R);
      pending.delete(job.id!);
      // after the journal line: a coordinator stopped in between finds the job and drops it
      await job.remove().catch(() => undefined);
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, POLL_MS));
  }
  if (tally.again) {
    console.error(`${task}: ${tally.again} cell(s) ran more than once (a worker lost or a retried error); `
      + 'each is kept once');
  }
  if (tally.dropped) console.error(`${task}: dropped ${tally.dropped} finished job(s) not pending here`);
  return errors;
}
