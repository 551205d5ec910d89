import { Worker } from 'node:worker_threads';
import type { SpawnKernelThread } from '../kernels/wasm/index.js';

/**
 * Node's way to start a kernel thread: a worker that does not keep the process alive. One that fails
 * claims no more slices (the caller throws if it left one half done): its error is a warning, not an
 * uncaught 'error' event that would end the process.
 */
export const spawnKernelThread: SpawnKernelThread = (init) => {
  const worker = new Worker(new URL('./kernel-thread.js', import.meta.url), { workerData: init });
  worker.on('error', (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    console.error(`warning: a kernel thread stopped: ${message.split('\n')[0]}`);
  });
  worker.unref();
  return worker;
};
