import os from 'node:os';
import path from 'node:path';
import { fail } from '../core/errors.js';
import { formatBytes } from '../core/limits.js';
import { threadRunner, workerCount, type CellRunner, type CellTask } from './cell-pool.js';
import type { Args, OptionTable } from './options.js';
import { queueAddress } from './queue/connection.js';
import { queueRunner } from './queue/coordinator.js';

export const QUEUE_OPTION: OptionTable = {
  queue: {
    kind: 'string', arg: 'redis://HOST:PORT[/DB]',
    help: 'run the cells as jobs of a Redis queue, taken by `gradleak worker` processes (docs/QUEUE.md)',
  },
};

/**
 * The runner a command's cells go to: the queue named by --queue, else worker threads of this process
 * (`threadsOption`, default one per core; fewer when the cells would not fit in memory). `outDir`
 * names the study in the queue, so a rerun into it finds its jobs again.
 */
export function cellRunner(
  v: Args, who: CellTask, threadsOption: string, cells: number, perCell: number, ceiling: number,
  outDir: string,
): CellRunner {
  const queue = v.str('queue');
  if (queue !== undefined) {
    if (v.has(threadsOption)) fail(`--${threadsOption} counts this machine's threads; with --queue the cells `
      + 'run on the `gradleak worker` processes (their --concurrency)');
    return queueRunner(queueAddress(queue), path.resolve(outDir));
  }
  const asked = v.int(threadsOption, os.availableParallelism?.() ?? os.cpus().length);
  return threadRunner(workerCount(who, asked, cells, perCell, ceiling, formatBytes), ceiling);
}

/**
 * The command line as a report quotes it, without --queue: where the cells ran changes no result, and
 * the URL may hold the Redis password.
 */
export function withoutQueue(argv: readonly string[]): string[] {
  return argv.filter((a, i) => !(a === '--queue' || a.startsWith('--queue=') || argv[i - 1] === '--queue'));
}
