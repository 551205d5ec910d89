import type { Progress } from '../core/attacks/types.js';

/**
 * A one-line progress display on stderr, only when stderr is a terminal and output is not JSON.
 * `evaluate` (the CLI's, which may know the target) adds e.g. the current PSNR.
 */
export function progressReporter(json: boolean, evaluate?: (current: Float64Array) => string): ((p: Progress) => void) | undefined {
  if (json || !process.stderr.isTTY) return undefined;
  return (p) => {
    const width = 24;
    const done = Math.round((p.step / Math.max(1, p.total)) * width);
    const extra = p.current && evaluate ? ` ${evaluate(p.current)}` : '';
    process.stderr.write(`\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${p.step}/${p.total} ${p.message}${extra}   `);
    if (p.step >= p.total) process.stderr.write('\n');
  };
}
