import type { Progress } from '../attacks/types.js';

/** `[####......]`: `done` of `total` as a bar of `width` characters. */
export function bar(done: number, total: number, width: number): string {
  const filled = Math.round((done / Math.max(1, total)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/**
 * A one-line progress display on stderr, only when stderr is a terminal and output is not JSON.
 * `evaluate` (the CLI's, which may know the target) adds e.g. the current PSNR.
 */
export function progressReporter(
  json: boolean, evaluate?: (current: Float64Array) => string,
): ((p: Progress) => void) | undefined {
  if (json || !process.stderr.isTTY) return undefined;
  return (p) => {
    const extra = p.current && evaluate ? ` ${evaluate(p.current)}` : '';
    process.stderr.write(`\r${bar(p.step, p.total, 24)} ${p.step}/${p.total} ${p.message}${extra}   `);
    if (p.step >= p.total) process.stderr.write('\n');
  };
}

/** Seconds as a clock: 0:07, 12:34, 1:02:03. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const mmss = `${Math.floor((s % 3600) / 60)}:${String(s % 60).padStart(2, '0')}`;
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mmss.padStart(5, '0')}` : mmss;
}
