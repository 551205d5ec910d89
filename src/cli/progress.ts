import type { AttackProgress } from '../app/attack.js';

/** `[####......]`: `done` of `total` as a bar of `width` characters. */
export function bar(done: number, total: number, width: number): string {
  const filled = Math.round((done / Math.max(1, total)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/**
 * A one-line progress display on stderr, only when stderr is a terminal and output is not JSON, with
 * the current reconstruction's PSNR when the application layer knows the target.
 */
export function progressReporter(json: boolean): AttackProgress | undefined {
  if (json || !process.stderr.isTTY) return undefined;
  return (p, psnr) => {
    const extra = psnr !== undefined ? ` PSNR ${psnr.toFixed(2)} dB` : '';
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
