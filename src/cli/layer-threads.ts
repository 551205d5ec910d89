import { Worker } from 'node:worker_threads';
import type { LayerOutcome, LayerTask, SpawnLayerWorker } from '../analysis/layer-jobs.js';

/**
 * Node's way to start a layer worker. It runs one task at a time, so each answer is the last task's;
 * a worker that dies (out of memory, terminated) rejects the task it had.
 */
export const spawnLayerWorker: SpawnLayerWorker = () => {
  const worker = new Worker(new URL('./layer-worker.js', import.meta.url));
  const pending: { resolve?: (o: LayerOutcome) => void; reject?: (e: Error) => void } = {};
  const settle = (f: () => void) => { f(); pending.resolve = pending.reject = undefined; };
  worker.on('message', (o: LayerOutcome) => settle(() => pending.resolve?.(o)));
  worker.on('error', (e) => settle(() => pending.reject?.(e)));
  worker.on('exit', (code) => settle(() => pending.reject?.(new Error(`a layer worker exited (${code})`))));
  return {
    solve: (task: LayerTask) => new Promise<LayerOutcome>((resolve, reject) => {
      Object.assign(pending, { resolve, reject });
      worker.postMessage(task);
    }),
    terminate: () => { void worker.terminate(); },
  };
};
