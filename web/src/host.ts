import type { FromWorker, Job, JobResult, ProgressMessage, ToWorker } from './protocol.js';

export class CancelledRun extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledRun';
  }
}

/** A worker's error; `input` when the user's input caused it (a bad file, an unsupported model). */
export class RunError extends Error {
  constructor(message: string, readonly input: boolean) {
    super(message);
  }
}

interface Pending {
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
  onProgress?: (p: ProgressMessage) => void;
}

/**
 * One long-lived Web Worker running jobs in turn. Cancelling ends the worker (a synchronous solve
 * cannot be interrupted otherwise) and starts a fresh one, so the next run starts at once.
 */
export class WorkerHost {
  private worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly make: () => Worker) {
    this.worker = this.start();
  }

  run(job: Job, onProgress?: (p: ProgressMessage) => void): Promise<JobResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      const message: ToWorker = { id, job };
      this.worker.postMessage(message);
    });
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  cancel(): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new CancelledRun());
    this.pending.clear();
    this.worker = this.start();
  }

  private start(): Worker {
    const w = this.make();
    w.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data, p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'progress') { p.onProgress?.(m.progress); return; }
      this.pending.delete(m.id);
      if (m.type === 'done') p.resolve(m.result);
      else p.reject(new RunError(m.message, m.input));
    };
    w.onerror = (e) => {
      e.preventDefault();
      for (const p of this.pending.values()) p.reject(new RunError(`the worker stopped: ${e.message}`, false));
      this.pending.clear();
    };
    return w;
  }
}

export const spawnAppWorker = (): Worker =>
  new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'gradleak' });
