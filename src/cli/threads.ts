import { Worker } from 'node:worker_threads';
import type { SpawnKernelThread } from '../kernels/wasm/index.js';

/** Node's way to start a kernel thread: a worker that does not keep the process alive. */
export const spawnKernelThread: SpawnKernelThread = (init) => {
  const worker = new Worker(new URL('./kernel-thread.js', import.meta.url), { workerData: init });
  worker.unref();
  return worker;
};
