import { Queue, type Job } from 'bullmq';
import { fail } from '../../core/errors.js';
import { onStopSignals, type CellError, type CellRunner, type CellTask } from '../cell-pool.js';
import { fromWire, toWire } from './codec.js';
import { buildIdentity, refusingBuild } from './build.js';
import { checkReachable, connect, QUEUE_NAME, type QueueAddress } from './connection.js';
import { JOB_ATTEMPTS, jobId, KEEP_SECONDS, type CellJob, type CellJobResult, type JobOwner } from './jobs.js';

/** How often the coordinator looks for finished jobs: it adds at most this to a study's wall time. */
const POLL_MS = 250;
/** After this long without a successful command, the Redis counts as lost. */
const LOST_AFTER_MS = 20_000;
/** Jobs added per round trip. */
const ADD_BATCH = 100;
/** Job data queued and not yet collected, at most (a 3×32×32 cell is 33 kB, a 3×224×224 one 1.6 MB)… */
const QUEUED_BYTES = 256 * 2 ** 20;
/** …unless fewer jobs than this are queued. */
const MIN_QUEUED = 64;

/**
 * The cells of a study (or a defence sweep) as jobs of a BullMQ queue, taken by `gradleak worker`
 * processes anywhere. The coordinator adds every unfinished cell as a job whose id derives from the
 * output folder and the cell's key, collects finished jobs into `onResult` (the same journal and
 * outputs as a local run), and removes each job only once its result is journalled. So a restarted
 * coordinator finds its jobs again (adding one twice is a no-op), and a result is never lost or kept
 * twice: a job either is in the queue or its cell is in the journal, and a job of a cell that is not
 * pending (collected already) is dropped. Every job carries this process's build; a worker of another
 * build refuses it, and the coordinator then stops (exit 2) naming that worker's build.
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
  const owner: JobOwner = { task, scope, build: buildIdentity() };
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
    const pending = new Map(cells.map((c) => [jobId(owner, c.key), c.key]));
    const feed = jobFeed(queue, owner, cells, pending);
    try {
      await dropFailed(queue, pending);
      await feed.topUp();
    } catch (e) {
      lost(e);
    }
    return await collect(queue, owner, pending, feed, onResult, lost);
  } finally {
    release();
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
}

/**
 * Removes the jobs of these cells that failed in an earlier run of this study, so that they run again
 * (as a rerun retries a local study's failed cells); a job still waiting, running or finished is kept
 * and collected.
 */
async function dropFailed(queue: Queue<CellJob, CellJobResult>, pending: Map<string, string>): Promise<void> {
  for (const job of await queue.getJobs(['failed'])) if (job.id && pending.has(job.id)) await job.remove();
}

/** A cell's job as BullMQ adds it: its id, everything its worker needs, retries and expiry. */
function cellJob(owner: JobOwner, cell: { key: string }) {
  const data: CellJob = { scope: owner.scope, key: cell.key, build: owner.build, cell: toWire(cell) };
  return {
    name: owner.task, data, bytes: JSON.stringify(data).length,
    opts: {
      jobId: jobId(owner, cell.key), attempts: JOB_ATTEMPTS,
      removeOnComplete: { age: KEEP_SECONDS }, removeOnFail: { age: KEEP_SECONDS },
    },
  };
}

/**
 * Adds the cells in their order, keeping at most QUEUED_BYTES of them queued and not yet collected
 * (at least MIN_QUEUED jobs): a study over thousands of images would otherwise hold every image in
 * Redis at once. `topUp` adds what fits; `collected` frees a job's share.
 */
export function jobFeed<C extends { key: string }>(
  queue: Pick<Queue<CellJob, CellJobResult>, 'addBulk'>, owner: JobOwner, cells: C[],
  pending: Map<string, string>, limits = { bytes: QUEUED_BYTES, jobs: MIN_QUEUED },
) {
  const open = new Map<string, number>();
  const at = { next: 0, bytes: 0 };
  const topUp = async (): Promise<void> => {
    for (;;) {
      const part: ReturnType<typeof cellJob>[] = [];
      let i = at.next, bytes = at.bytes;
      while (i < cells.length && part.length < ADD_BATCH
        && (bytes < limits.bytes || open.size + part.length < limits.jobs)) {
        const job = cellJob(owner, cells[i++]);
        if (!pending.has(job.opts.jobId)) continue; // collected already (left by an earlier coordinator)
        part.push(job);
        bytes += job.bytes;
      }
      if (part.length > 0) await queue.addBulk(part.map(({ name, data, opts }) => ({ name, data, opts })));
      // only once they are in: a failed add is tried again on the next round
      at.next = i;
      at.bytes = bytes;
      for (const job of part) open.set(job.opts.jobId, job.bytes);
      if (part.length < ADD_BATCH) return;
    }
  };
  const collected = (id: string) => {
    at.bytes -= open.get(id) ?? 0;
    open.delete(id);
  };
  return { topUp, collected };
}

/** A finished job, and whether it failed. */
type Finished = [job: Job<CellJob, CellJobResult>, failed: boolean];

/**
 * Collects finished jobs until none is pending; answers the cells that failed, with their errors.
 * Stops with one line (exit 2) at the first cell a worker of another build refused.
 */
async function collect<R>(
  queue: Queue<CellJob, CellJobResult>, owner: JobOwner, pending: Map<string, string>,
  feed: ReturnType<typeof jobFeed>, onResult: (r: R) => void, lost: (e: unknown) => never,
): Promise<CellError[]> {
  const errors: CellError[] = [];
  const tally = { again: 0, dropped: 0 };
  let lastOk = performance.now();
  while (pending.size > 0) {
    // by state, not by failedReason: a job that failed an attempt and then completed keeps its reason
    let finished: Finished[];
    try {
      await feed.topUp();
      const [done, failed] = await Promise.all([queue.getJobs(['completed']), queue.getJobs(['failed'])]);
      const tag = (failedState: boolean) => (j: Finished[0]): Finished => [j, failedState];
      finished = [...done.map(tag(false)), ...failed.map(tag(true))];
      lastOk = performance.now();
    } catch (e) {
      if (performance.now() - lastOk > LOST_AFTER_MS) lost(e);
      finished = [];
    }
    for (const [job, failed] of finished) {
      if (job.name !== owner.task || job.data?.scope !== owner.scope) continue;
      const key = job.id ? pending.get(job.id) : undefined;
      if (key === undefined) {
        // journalled by an earlier coordinator that stopped before removing the job, or a cell
        // this run no longer asks for: kept once, so dropped here
        tally.dropped++;
        await job.remove().catch(() => undefined);
        continue;
      }
      const other = failed ? refusingBuild(job.failedReason) : undefined;
      if (other !== undefined) {
        // left failed: a rerun queues it again, as it does any failed cell
        fail(`a worker runs gradleak build ${other}, not this coordinator's ${owner.build}, and refused cell `
          + `${key}: run one build everywhere, then the same command again (the finished cells are in the `
          + 'journal)');
      }
      if (job.stalledCounter > 0 || job.attemptsStarted > 1) tally.again++;
      if (failed) errors.push({ key, error: job.failedReason });
      else onResult(fromWire(job.returnvalue.result) as R);
      pending.delete(job.id!);
      feed.collected(job.id!);
      // after the journal line: a coordinator stopped in between finds the job and drops it
      await job.remove().catch(() => undefined);
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, POLL_MS));
  }
  if (tally.again) {
    console.error(`${owner.task}: ${tally.again} cell(s) ran more than once (a worker lost or a retried `
      + 'error); each is kept once');
  }
  if (tally.dropped) console.error(`${owner.task}: dropped ${tally.dropped} finished job(s) not pending here`);
  return errors;
}
