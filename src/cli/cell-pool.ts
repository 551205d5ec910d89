import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { readBytes, writeFilesAtomically } from '../io/files.js';
import { bar } from './progress.js';

/**
 * What `study` and `defend` share: a journal of finished cells (results.jsonl, one JSON row a line),
 * a pool of worker threads that run one cell each at a time (cell-worker.ts), and a progress line
 * with the time left. Each command brings its own cells, rows and outputs.
 */

/** The tasks the cell worker knows: which function runs a cell. */
export type CellTask = 'study' | 'defend';

/**
 * The finished cells of earlier runs, by key. A line that cannot be read (cut by a kill while it was
 * being appended, or edited by hand) is moved to results.torn.jsonl and the journal rewritten without
 * it, so that its cell runs again once and later lines are appended after a clean line end.
 */
export function readJournal<R extends { key: string }>(
  journal: string, parse: (line: string) => R | null, who: string,
): Map<string, R> {
  const done = new Map<string, R>();
  if (!fs.existsSync(journal)) return done;
  const text = new TextDecoder().decode(readBytes(journal, `${who} journal`, 'dataset'));
  const lines = text.split('\n');
  const last = lines.pop()!; // '' when the file ends with a newline, as every complete journal does
  const good: string[] = [], torn: string[] = [];
  for (const line of lines) {
    if (!line.trim()) continue;
    const row = parse(line);
    if (row) { done.set(row.key, row); good.push(line); } else torn.push(line);
  }
  if (last.trim()) torn.push(last);
  if (torn.length === 0) return done;
  const aside = path.join(path.dirname(journal), 'results.torn.jsonl');
  fs.appendFileSync(aside, torn.map((l) => l + '\n').join(''));
  writeFilesAtomically([{ file: journal, data: good.map((l) => l + '\n').join('') }]);
  console.error(
    `${who}: set aside ${torn.length} unreadable journal line(s) in ${aside}; their cells run again`);
  return done;
}

/** JSON.parse that answers null instead of throwing (a torn journal line). */
export function parseJson(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return null;
  }
}

/**
 * On a terminal, a bar with an estimate of the time left (from this run's cells); otherwise `line`,
 * one per finished cell, so a log shows what each cell gave.
 */
export function cellProgress(
  who: string, doneCount: number, total: number, toRun: number, t0: number, line: string,
): void {
  const secs = (performance.now() - t0) / 1000;
  const ranThisRun = doneCount - (total - toRun);
  const left = (secs / ranThisRun) * (total - doneCount);
  if (!process.stderr.isTTY) {
    console.error(`${who}: ${doneCount}/${total} ${line} (${secs.toFixed(0)} s, ~${fmtTime(left)} left)`);
    return;
  }
  process.stderr.write(`\r${who} ${bar(doneCount, total, 30)} ${doneCount}/${total} cells, `
    + `${fmtTime(secs)} elapsed, ~${fmtTime(left)} left   `);
}

export const fmtTime = (s: number): string => (s >= 3600
  ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`
  : s >= 60 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${Math.round(s)} s`);

export interface CellError { key: string; error: string }

/**
 * Where the cells of a command run: this machine's worker threads (`threadRunner`) or the workers of
 * a job queue (queue/coordinator.ts). Either way `run` hands each finished cell to `onResult` once, in
 * this process, so the journal, the outputs and the summary are one code path.
 */
export interface CellRunner {
  /** For the command's opening line: "2 worker(s)", "the queue at redis://host:6379". */
  where: string;
  /** Each cell's memory ceiling, or undefined where the worker that takes it sets its own. */
  cellBytes: number | undefined;
  run<C extends { key: string }, R>(
    task: CellTask, cells: C[], onResult: (r: R) => void, onStop: (signal: string) => void,
  ): Promise<CellError[]>;
}

/** `n` worker threads of this process, sharing the memory ceiling. */
export function threadRunner(n: number, ceiling: number): CellRunner {
  return {
    where: `${n} worker(s)`,
    cellBytes: Math.floor(ceiling / n),
    run: (task, cells, onResult, onStop) => runPool(task, cells, n, onResult, onStop),
  };
}

/**
 * Runs the cells of `task` on `n` worker threads; resolves with the cells that failed. SIGINT,
 * SIGTERM and SIGHUP stop the workers and end the process (the journal holds every finished cell;
 * writes are synchronous, so a signal never lands half-way through one).
 */
export function runPool<C extends { key: string }, R>(
  task: CellTask, cells: C[], n: number, onResult: (r: R) => void, onStop: (signal: string) => void,
): Promise<CellError[]> {
  if (cells.length === 0) return Promise.resolve([]);
  const errors: CellError[] = [];
  const pool: Worker[] = [];
  const stop = (signal: NodeJS.Signals, code: number) => {
    for (const w of pool) void w.terminate();
    onStop(signal);
    process.exit(code);
  };
  const release = onStopSignals(stop);
  let next = 0, live = n;
  return new Promise<CellError[]>((resolve, reject) => {
    for (let w = 0; w < n; w++) {
      const worker = new Worker(new URL('./cell-worker.js', import.meta.url));
      pool.push(worker);
      // a worker asks for the next cell only when its last one is finished, so the pool is done
      // when every worker has been retired
      const feed = () => {
        if (next < cells.length) { worker.postMessage({ task, cell: cells[next++] }); return; }
        void worker.terminate();
        if (--live === 0) resolve(errors);
      };
      worker.on('message', (m: ({ ok: true } & R) | { ok: false; key: string; error: string }) => {
        if (m.ok) onResult(m);
        else errors.push({ key: m.key, error: m.error });
        feed();
      });
      worker.on('error', reject);
      feed();
    }
  }).finally(release);
}

/**
 * Calls `stop` with the signal and the shell's exit status for it on SIGINT, SIGTERM and SIGHUP;
 * answers the function that removes the handlers again.
 */
export function onStopSignals(stop: (signal: NodeJS.Signals, code: number) => void): () => void {
  const handlers = ([['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const).map(([signal, code]) => {
    const h = () => stop(signal, code);
    process.on(signal, h);
    return [signal, h] as const;
  });
  return () => { for (const [signal, h] of handlers) process.off(signal, h); };
}

/** How many workers to run: asked for (default: one per core), no more than cells, within memory. */
export function workerCount(
  who: string, asked: number, cells: number, perCell: number, ceiling: number, fmtBytes: (b: number) => string,
): number {
  const workers = Math.min(asked, cells || 1);
  const fits = Math.max(1, Math.floor(ceiling / perCell));
  if (workers <= fits) return workers;
  console.error(`${who}: ${workers} workers would need ${fmtBytes(workers * perCell)}, `
    + `above the ${fmtBytes(ceiling)} memory ceiling; running ${fits}`);
  return fits;
}
