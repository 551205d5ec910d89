import os from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { fail } from '../../core/errors.js';
import { onStopSignals, type CellTask } from '../cell-pool.js';
import { QUEUE_OPTION } from '../cell-runner.js';
import type { Command } from '../command.js';
import { MEMORY_OPTION, type Args } from '../options.js';
import { buildIdentity, refusal } from '../queue/build.js';
import { fromWire, toWire } from '../queue/codec.js';
import { checkReachable, connect, QUEUE_NAME, queueAddress } from '../queue/connection.js';
import { MAX_STALLS, type CellJob, type CellJobResult } from '../queue/jobs.js';
import { threadSlots } from '../queue/thread-slots.js';

export const workerCommand: Command = {
  name: 'worker',
  usage: `gradleak worker --queue redis://[:PASSWORD@]HOST:PORT[/DB] [--concurrency N] [--stall-seconds S]
               [--idle-exit S]
  Takes the cells that \`study --queue\` and \`defend --queue\` put on the queue, N at a time on worker
  threads (default: one per core), until stopped (Ctrl-C or SIGTERM: the cells in hand are finished
  first; a second signal stops at once) or idle for --idle-exit seconds. A job carries everything its
  cell needs (model, weights, image, options, seed), so a worker needs no files. A worker that dies
  mid-cell loses its lock after --stall-seconds (default 30) and another worker runs the cell again;
  a cell whose workers die ${MAX_STALLS + 1} times, or that fails on its input, is reported as failed.
  A worker refuses the jobs of a coordinator that runs another gradleak build (that coordinator then
  stops, naming this worker's build). Jobs hold images: keep the Redis on a private network, with a
  password (docs/QUEUE.md).`,
  options: {
    queue: {
      ...QUEUE_OPTION.queue,
      help: 'the Redis of the coordinators (password: in the URL or GRADLEAK_REDIS_PASSWORD)',
    },
    concurrency: { kind: 'int', arg: 'N', help: 'cells at a time (default: one per core)', min: 1, max: 256 },
    'stall-seconds': {
      kind: 'int', arg: 'S', min: 1, max: 3600,
      help: 'lock of a running cell, renewed every S/2 s; a dead worker\'s cells rerun after it (default 30)',
    },
    'idle-exit': { kind: 'int', arg: 'S', help: 'exit after S seconds without a cell', min: 1, max: 1e7 },
    ...MEMORY_OPTION,
  },
  run: runWorker,
};

async function runWorker(v: Args): Promise<void> {
  const url = v.str('queue');
  if (!url) fail('--queue redis://HOST:PORT is required: the coordinators\' Redis (study/defend --queue)');
  const address = queueAddress(url);
  const n = v.int('concurrency', os.availableParallelism?.() ?? os.cpus().length);
  const lockMs = v.int('stall-seconds', 30) * 1000;
  const idle = v.int('idle-exit');
  // each cell in hand may use its share of this machine's ceiling, whatever the coordinator's was
  const cellBytes = Math.floor(v.maxMemory() / n);
  const build = buildIdentity();
  await checkReachable(address);
  const outage = { since: 0 };
  const redis = connect(address, (e) => {
    if (outage.since) return;
    outage.since = Date.now();
    console.error(`worker: lost the Redis at ${address.shown} (${e.message.split('\n')[0]}); retrying`);
  }, true);
  redis.on('ready', () => {
    if (outage.since) console.error(`worker: the Redis at ${address.shown} is back`);
    outage.since = 0;
  });
  const slots = threadSlots(n);
  const busy = { cells: 0, since: Date.now() };
  const worker = new Worker<CellJob, CellJobResult>(QUEUE_NAME, cellProcessor(slots, cellBytes, busy, build), {
    connection: redis, concurrency: n, lockDuration: lockMs, stalledInterval: lockMs,
    maxStalledCount: MAX_STALLS,
  });
  worker.on('error', () => { /* connection errors: reported once per outage above */ });
  worker.on('failed', (job, e) => {
    if (job) console.error(`worker: cell ${job.data.key} failed: ${e.message}`);
  });
  console.error(`worker: build ${build}, taking cells from ${address.shown}, ${n} at a time`);
  const closed = await untilStopped(worker, busy, idle === undefined ? Infinity : idle * 1000);
  await slots.close();
  redis.disconnect();
  if (!closed) {
    console.error('worker: the queue did not confirm the close; the cells in hand were finished');
    process.exit(0);
  }
}

/** Cells in hand, and since when there have been none. */
interface Busy { cells: number; since: number }

/**
 * A job's cell, run on a free thread with this worker's memory ceiling; its result as the job's
 * answer. A cell that fails on its input fails the job for good: it would fail on any worker. So does
 * a job of another build than this worker's: computed here, its result would not be its coordinator's.
 */
function cellProcessor(slots: ReturnType<typeof threadSlots>, cellBytes: number, busy: Busy, build: string) {
  return async (job: Job<CellJob, CellJobResult>): Promise<CellJobResult> => {
    if (job.data.build !== build) throw new UnrecoverableError(refusal(job.data.build, build));
    if (job.name !== 'study' && job.name !== 'defend') {
      throw new UnrecoverableError(`unknown task ${JSON.stringify(job.name)} (a newer gradleak's job?)`);
    }
    busy.cells++;
    const t0 = performance.now();
    const again = job.attemptsStarted > 1 ? ` (run ${job.attemptsStarted})` : '';
    console.error(`worker: ${job.name} cell ${job.data.key}${again}`);
    try {
      const cell = { ...(fromWire(job.data.cell) as { key: string }), maxBytes: cellBytes };
      const reply = await slots.run(job.name as CellTask, cell);
      if (!reply.ok) throw new UnrecoverableError(reply.error);
      const { ok: _ok, ...result } = reply;
      console.error(`worker: done ${job.data.key} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return { result: toWire(result) };
    } finally {
      busy.cells--;
      busy.since = Date.now();
    }
  };
}

/**
 * Resolves once the worker has stopped: on a signal (the cells in hand are finished; a second signal
 * exits at once, and those cells run again elsewhere once their locks expire) or after `idleMs`
 * without a cell. Answers whether BullMQ confirmed the close: with the Redis away it waits for it, so
 * 5 s after the last cell in hand the worker gives up waiting.
 */
function untilStopped(worker: Worker<CellJob, CellJobResult>, busy: Busy, idleMs: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const stop = (why: string) => {
      clearInterval(idleCheck);
      console.error(`worker: ${why}; finishing the ${busy.cells} cell(s) in hand`);
      void worker.close().then(() => resolve(true), () => resolve(false));
      const giveUp = setInterval(() => {
        if (busy.cells > 0) return;
        clearInterval(giveUp);
        setTimeout(() => resolve(false), 5000).unref();
      }, 200);
      giveUp.unref();
    };
    const idleCheck = setInterval(() => {
      if (busy.cells === 0 && Date.now() - busy.since > idleMs) stop(`idle for ${idleMs / 1000} s`);
    }, 1000);
    const release = onStopSignals((signal) => {
      release();
      onStopSignals((_s, code) => process.exit(code));
      stop(`stopped by ${signal}`);
    });
  });
}
