import { createHash } from 'node:crypto';
import type { CellTask } from '../cell-pool.js';

/**
 * One job of the queue: a cell of `study` or `defend` (the job's name is the task), with everything a
 * worker needs (model name or graph, weights, the image as the model's input, options, seed) in
 * `cell`, encoded by codec.ts. `scope` and `key` say whose cell it is: the coordinator's output folder
 * and the cell's journal key. `build` is the coordinator's build (build.ts): a worker of another
 * build refuses the job, since it would compute the cell with other code.
 */
export interface CellJob {
  scope: string;
  key: string;
  build: string;
  cell: unknown;
}

/** What a worker answers: the cell's result, encoded by codec.ts. */
export interface CellJobResult {
  result: unknown;
}

/**
 * A job's id from its task, scope, key and build: the same cell of the same study always has the same
 * id, so a restarted coordinator adding it again finds the job it added before (BullMQ ignores an add
 * with an id it holds) instead of queueing a second copy. A coordinator of another build makes other
 * ids, so it never collects a result computed for an earlier build; it drops those jobs as not its own.
 */
export function jobId({ task, scope, build }: JobOwner, key: string): string {
  return createHash('sha256').update(`${task}\n${scope}\n${key}\n${build}`).digest('hex').slice(0, 32);
}

/** Whose jobs: the coordinator's task, output folder (absolute) and build. */
export interface JobOwner {
  task: CellTask;
  scope: string;
  build: string;
}

/** Tries of a job whose cell threw something other than bad input (a worker thread that died). */
export const JOB_ATTEMPTS = 3;
/** Times a job may be taken back from a worker that stopped renewing its lock (killed, cut off). */
export const MAX_STALLS = 2;
/** Finished jobs nobody collects (a study abandoned) leave Redis after a week. */
export const KEEP_SECONDS = 7 * 24 * 3600;
