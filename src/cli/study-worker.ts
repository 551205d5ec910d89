import { parentPort } from 'node:worker_threads';
import { InputError } from '../core/errors.js';
import { runCell, type StudyCell } from '../study/cell.js';

/** A study worker: runs the cells it is sent, one at a time, and posts each row (or its error) back. */
parentPort!.on('message', (cell: StudyCell) => {
  try {
    const { row, reconstructions } = runCell(cell);
    parentPort!.postMessage({ ok: true, row, reconstructions });
  } catch (e) {
    parentPort!.postMessage({ ok: false, key: cell.key, error: e instanceof InputError ? e.message : String((e as Error).stack ?? e) });
  }
});
