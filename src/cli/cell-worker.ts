import { parentPort, type MessagePort } from 'node:worker_threads';
import { InputError } from '../core/errors.js';
import { runDefendCell, type DefendCell } from '../defend/cell.js';
import { matchingKernels, type MatchingKernels, type Precision } from '../kernels/select.js';
import { SolverCache } from '../solve/solver-cache.js';
import { runCell, type StudyCell } from '../study/cell.js';
import type { CellTask } from './cell-pool.js';

type Message = { task: 'study'; cell: StudyCell } | { task: 'defend'; cell: DefendCell };

/**
 * A cell worker of `study` or `defend` (cell-pool.ts): runs the cells it is sent, one at a time, and
 * posts each result (or its error) back. It owns one solver cache for all its cells (consecutive cells
 * are mostly on the same model) and one set of matching kernels per precision (each holds a
 * WebAssembly instance and its memory).
 */
function serve(port: MessagePort): void {
  const solver = new SolverCache();
  const kernels = new Map<Precision, MatchingKernels>();
  const kernelsFor = (p: Precision) => kernels.get(p) ?? kernels.set(p, matchingKernels(p)).get(p)!;
  port.on('message', (m: Message) => {
    try {
      const result = m.task === 'study'
        ? runCell(m.cell, solver, kernelsFor)
        : runDefendCell(m.cell, solver, kernelsFor);
      port.postMessage({ ok: true, ...result });
    } catch (e) {
      port.postMessage({
        ok: false, key: m.cell.key,
        error: e instanceof InputError ? e.message : String((e as Error).stack ?? e),
      });
    }
  });
}

serve(parentPort!);
