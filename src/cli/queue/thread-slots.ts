import { Worker } from 'node:worker_threads';
import type { CellTask } from '../cell-pool.js';

/** A cell worker's answer (cell-worker.ts): the cell's result, or the error it stopped with. */
export type CellReply = ({ ok: true } & Record<string, unknown>) | { ok: false; key: string; error: string };

/**
 * `n` cell worker threads (cell-worker.ts, as the local pool's) for a queue worker: `run` gives a cell
 * to a free thread and resolves with its reply. A thread that dies mid-cell (out of memory, say)
 * rejects that cell, so the queue retries it, and is replaced. Callers keep at most `n` cells in hand.
 */
export function threadSlots(n: number) {
  const spawn = () => new Worker(new URL('../cell-worker.js', import.meta.url));
  const idle: Worker[] = Array.from({ length: n }, spawn);
  const run = (task: CellTask, cell: { key: string }): Promise<CellReply> => {
    const thread = idle.pop();
    if (!thread) return Promise.reject(new Error('no free worker thread (more cells in hand than threads)'));
    return new Promise<CellReply>((resolve, reject) => {
      const done = () => { thread.off('message', onMessage); thread.off('error', onError); };
      const onMessage = (m: CellReply) => { done(); idle.push(thread); resolve(m); };
      const onError = (e: Error) => {
        done();
        void thread.terminate();
        idle.push(spawn());
        reject(new Error(`the worker thread stopped: ${e.message.split('\n')[0]}`));
      };
      thread.on('message', onMessage);
      thread.on('error', onError);
      thread.postMessage({ task, cell });
    });
  };
  const close = () => Promise.all(idle.map((t) => t.terminate()));
  return { run, close };
}
