import type { KernelExports } from './module.js';

/**
 * Kernel threads: helpers that share the arena's WebAssembly memory and each run slices of a large
 * GEMM, so that one synchronous kernel call uses several cores. The caller's thread posts a job in a
 * control block at the start of the shared memory and wakes the helpers; every thread, the caller
 * included, then claims slices (an atomic counter) until none is left, and the caller waits until
 * every slice is done. A helper that has not started yet, or never does, claims nothing, so the
 * caller never waits on it. Slices are fixed column ranges of C, so every element is summed in the
 * same order whatever the thread count or whichever thread runs it: results do not depend on them
 * (tested). The core cannot start threads itself (it runs in Node and in browsers): the edges pass a
 * `SpawnKernelThread` (cli/kernel-thread.ts in Node). Atomics.wait is not allowed on a browser's main
 * thread: there the core runs in a Web Worker.
 */
export interface KernelThread { terminate(): unknown }

/** What a kernel thread is started with (structured-cloneable: the module and the shared memory). */
export interface ThreadInit { module: WebAssembly.Module; memory: WebAssembly.Memory; index: number; threads: number }

export type SpawnKernelThread = (init: ThreadInit) => KernelThread;

/** Bytes at the start of the shared memory that hold the control block; the arena lays out after them. */
export const CONTROL_BYTES = 64;
/** Control words: job counter (wakes the helpers), slices done, GEMM, its 9 arguments, next slice, stop. */
const GENERATION = 0, DONE = 1, FN = 2, ARGS = 3, NEXT = 12, STOPPED = 13;
/** Set in DONE by a helper that failed during a slice: the caller throws instead of waiting forever. */
const FAILED = 1 << 30;
const FAILURE = 'a kernel thread failed during a GEMM (its worker reports the error)';
/** Loads of the control block before sleeping on it (a few microseconds). */
const SPIN = 20000;
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

/**
 * Runs slices of the posted job until none is left. The job is read after each claim: a claim that
 * gets a slice was made after the job was posted (a late helper may claim slices of the next job).
 */
function claimSlices(fn: KernelExports, control: Int32Array, threads: number): void {
  for (let t = Atomics.add(control, NEXT, 1); t < threads; t = Atomics.add(control, NEXT, 1)) {
    runSlice(fn, control, t, threads);
    Atomics.add(control, DONE, 1);
  }
}

/** The body of a kernel thread: instantiate on the shared memory, then serve jobs until stopped. */
export function serveKernelThread(init: ThreadInit): void {
  // the control block lies in the first page, which every later buffer of the memory also holds
  const control = new Int32Array(init.memory.buffer, 0, CONTROL_BYTES / 4);
  // a helper that cannot start claims nothing: the caller runs every slice itself
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory, abort: () => {} } });
  const fn = instance.exports as unknown as KernelExports;
  for (let seen = 0; ; seen = Atomics.load(control, GENERATION)) {
    for (let spin = 0; spin < SPIN && Atomics.load(control, GENERATION) === seen; spin++);
    Atomics.wait(control, GENERATION, seen);
    if (Atomics.load(control, STOPPED)) return;
    try {
      claimSlices(fn, control, init.threads);
    } catch (e) {
      // its slice may be half done: the caller must neither wait for it nor use the product
      Atomics.or(control, DONE, FAILED);
      Atomics.notify(control, DONE);
      throw e;
    }
    Atomics.notify(control, DONE);
  }
}

/**
 * The calling thread's side: splits large GEMMs with `threads − 1` helpers, started at the first such
 * GEMM (a run that never has one, such as rgap's, starts none). After `close`, GEMMs run on the
 * calling thread alone.
 */
export class KernelThreads {
  private readonly helpers: KernelThread[] = [];
  private readonly control: Int32Array;
  private closed = false;

  constructor(
    private readonly fn: KernelExports, private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory, readonly threads: number, private readonly spawn: SpawnKernelThread,
  ) {
    this.control = new Int32Array(memory.buffer, 0, CONTROL_BYTES / 4);
  }

  /** The GEMM `name` (arguments as the export takes them), split across the threads when large. */
  gemm(name: GemmName, ...args: [number, number, number, number, number, number, number, number, number]): void {
    const [, , , m, n, k] = args;
    if (this.threads === 1 || this.closed || m * n * k < PARALLEL_MIN_MACS) {
      this.fn[name](...args);
      return;
    }
    const c = this.control, threads = this.threads;
    if (this.helpers.length === 0) {
      const { module, memory } = this;
      for (let index = 1; index < threads; index++) this.helpers.push(this.spawn({ module, memory, index, threads }));
    }
    // the job first, then the counters: a claim that sees the reset counter also sees the job
    c[FN] = GEMMS.indexOf(name);
    c.set(args, ARGS);
    Atomics.store(c, DONE, 0);
    Atomics.store(c, NEXT, 0);
    Atomics.add(c, GENERATION, 1);
    Atomics.notify(c, GENERATION);
    claimSlices(this.fn, c, threads);
    // the helpers usually finish about when the caller does: a short spin saves a sleep and a wake-up
    for (let spin = 0; spin < SPIN && Atomics.load(c, DONE) < threads; spin++);
    for (let done = Atomics.load(c, DONE); done !== threads; done = Atomics.load(c, DONE)) {
      if (done & FAILED) throw new Error(FAILURE);
      Atomics.wait(c, DONE, done);
    }
  }

  /** Stops and ends the helpers. */
  close(): void {
    this.closed = true;
    Atomics.store(this.control, STOPPED, 1);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
    for (const h of this.helpers) h.terminate();
    this.helpers.length = 0;
  }
}
