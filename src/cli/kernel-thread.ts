import { workerData } from 'node:worker_threads';
import { serveKernelThread, type ThreadInit } from '../kernels/wasm/threads.js';

/** A kernel thread in Node (kernels/wasm/threads.ts): serves GEMM slices until it is stopped. */
serveKernelThread(workerData as ThreadInit);
