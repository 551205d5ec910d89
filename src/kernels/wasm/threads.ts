import type { KernelExports } from './module.js';

/**
 * Kernel threads: helpers that share the arena's WebAssembly memory and each run a slice of a large
 * GEMM, so that one synchronous kernel call uses several cores. The caller's thread posts a job in a
 * control block at the start of the shared memory, runs its own slice and waits (Atomics.wait) for
 * the others. Slices are column ranges of C, so every element is summed in the same order whatever
 * the thread count: results do not depend on it (tested). The core cannot start threads itself (it
 * runs in Node and in browsers): the edges pass a `SpawnKernelThread` (cli/kernel-thread.ts in Node).
 * Atomics.wait is not allowed on a browser's main thread: there the core runs in a Web Worker.
 */
export interface KernelThread { terminate(): unknown }

/** What a kernel thread is started with (structured-cloneable: the module and the shared memory). */
export interface ThreadInit { module: WebAssembly.Module; memory: WebAssembly.Memory; index: number; threads: number }

export type SpawnKernelThread = (init: ThreadInit) => KernelThread;

/** Bytes at the start of the shared memory that hold the control block; the arena lays out after them. */
export const CONTROL_BYTES = 64;
const GENERATION = 0, DONE = 1, FN = 2, ARGS = 3;
/** Loads of the control block before sleeping on it (a few microseconds). */
const SPIN = 20000;
/** A stop signal: the generation becomes negative. */
const STOP = -1;
const GEMMS = ['gemm_f64', 'gemm_f32'] as const;
export type GemmName = (typeof GEMMS)[number];
/** Below this many multiply-adds a GEMM runs on the calling thread alone (waking others costs more). */
export const PARALLEL_MIN_MACS = 1 << 19;

/** Columns [n0, n1) of slice t of T, in whole blocks of 8 (the f32 kernel's width; f64's 4 divides it). */
function slice(n: number, t: number, threads: number): [number, number] {
  const blocks = Math.ceil(n / 8);
  const b0 = Math.floor((blocks * t) / threads), b1 = Math.floor((blocks * (t + 1)) / threads);
  return [Math.min(n, b0 * 8), Math.min(n, b1 * 8)];
}

/** C[:, n0:n1] += A · B[:, n0:n1]: one slice of the job in the control block. */
function runSlice(fn: KernelExports, control: Int32Array, t: number, threads: number): void {
  const name = GEMMS[control[FN]];
  const [a, b, c, m, n, k, lda, ldb, ldc] = control.subarray(ARGS, ARGS + 9);
  const [n0, n1] = slice(n, t, threads);
  if (n1 <= n0) return;
  const bytes = name === 'gemm_f64' ? 8 : 4;
  fn[name](a, b + n0 * bytes, c + n0 * bytes, m, n1 - n0, k, lda, ldb, ldc);
}

/** The body of a kernel thread: instantiate on the shared memory, then serve jobs until stopped. */
export function serveKernelThread(init: ThreadInit): void {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory, abort: () => {} } });
  const fn = instance.exports as unknown as KernelExports;
  // the control block lies in the first page, which every later buffer of the memory also holds
  const control = new Int32Array(init.memory.buffer, 0, CONTROL_BYTES / 4);
  let seen = 0;
  for (;;) {
    for (let spin = 0; spin < SPIN && Atomics.load(control, GENERATION) === seen; spin++);
    Atomics.wait(control, GENERATION, seen);
    seen = Atomics.load(control, GENERATION);
    if (seen === STOP) return;
    runSlice(fn, control, init.index, init.threads);
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
  }
}

/**
 * The calling thread's side: splits large GEMMs with `threads − 1` helpers, started at the first such
 * GEMM (a run that never has one, such as rgap's, starts none).
 */
export class KernelThreads {
  private readonly helpers: KernelThread[] = [];
  private readonly control: Int32Array;

  constructor(
    private readonly fn: KernelExports, private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory, readonly threads: number, private readonly spawn: SpawnKernelThread,
  ) {
    this.control = new Int32Array(memory.buffer, 0, CONTROL_BYTES / 4);
  }

  /** The GEMM `name` (arguments as the export takes them), split across the threads when large. */
  gemm(name: GemmName, ...args: [number, number, number, number, number, number, number, number, number]): void {
    const [, , , m, n, k] = args;
    if (this.threads === 1 || m * n * k < PARALLEL_MIN_MACS) { this.fn[name](...args); return; }
    const c = this.control;
    if (this.helpers.length === 0) {
      const { module, memory, threads } = this;
      for (let index = 1; index < threads; index++) this.helpers.push(this.spawn({ module, memory, index, threads }));
    }
    c[FN] = GEMMS.indexOf(name);
    c.set(args, ARGS);
    Atomics.store(c, DONE, 0);
    Atomics.add(c, GENERATION, 1);
    Atomics.notify(c, GENERATION);
    runSlice(this.fn, c, 0, this.threads);
    // the helpers usually finish about when the caller does: a short spin saves a sleep and a wake-up
    for (let spin = 0; spin < SPIN && Atomics.load(c, DONE) < this.threads - 1; spin++);
    for (let done = Atomics.load(c, DONE); done < this.threads - 1; done = Atomics.load(c, DONE)) {
      Atomics.wait(c, DONE, done);
    }
  }

  /** Stops and ends the helpers. */
  close(): void {
    Atomics.store(this.control, GENERATION, STOP);
    Atomics.notify(this.control, GENERATION);
    for (const h of this.helpers) h.terminate();
    this.helpers.length = 0;
  }
}
