import { spearman, spearmanDifference, type Difference, type Spearman } from './stats.js';
import type { StudyRow } from './cell.js';

/** PSNR above this counts as exact recovery: such cells tie at the top instead of ranking by noise. */
export const EXACT_DB = 100;

export interface IndexCorrelations {
  copaIndex: Spearman;
  normalisedIndex: Spearman;
  structuralIndex: Spearman;
  /** Each variant's rho minus the authors' index's rho, bootstrapped over architectures. */
  versusAuthors: { normalisedIndex: Difference; structuralIndex: Difference };
}

export interface StudySummary {
  cells: number;
  /**
   * Per method: Spearman's rho between each index variant and that method's PSNR;
   * 'best' = max over methods.
   */
  spearman: Record<string, IndexCorrelations>;
}

/** A cell's PSNR by `method`, or the best over `methods` for 'best'; NaN if missing. */
export function psnrOf(r: StudyRow, method: string, methods: string[]): number {
  if (method === 'best') return Math.max(...methods.map((m) => r.methods[m]?.psnr ?? -Infinity));
  return r.methods[method]?.psnr ?? NaN;
}

/**
 * The methods a study reports on: each one, and 'best' (the larger PSNR per cell) when there are
 * several.
 */
export const reportedMethods = (methods: string[]): string[] =>
  (methods.length > 1 ? [...methods, 'best'] : methods);

export function summarise(rows: StudyRow[], methods: string[]): StudySummary {
  const out: StudySummary['spearman'] = {};
  for (const m of reportedMethods(methods)) {
    const ok = rows.filter((r) => Number.isFinite(psnrOf(r, m, methods)));
    const y = ok.map((r) => Math.min(psnrOf(r, m, methods), EXACT_DB));
    out[m] = {
      copaIndex: spearman(ok.map((r) => r.copaIndex), y),
      normalisedIndex: spearman(ok.map((r) => r.normalisedIndex), y),
      structuralIndex: spearman(ok.map((r) => r.structuralIndex), y),
      versusAuthors: {
        normalisedIndex: spearmanDifference(
          ok.map((r) => r.model), ok.map((r) => r.copaIndex), ok.map((r) => r.normalisedIndex), y),
        structuralIndex: spearmanDifference(
          ok.map((r) => r.model), ok.map((r) => r.copaIndex), ok.map((r) => r.structuralIndex), y),
      },
    };
  }
  return { cells: rows.length, spearman: out };
}

export function toCsv(rows: StudyRow[], methods: string[]): string {
  const head = [
    'model', 'image', 'label', 'layers', 'copaIndex', 'normalisedIndex', 'structuralIndex',
    'rankDeficiency', 'structuralDeficiency', 'condition', 'flaggedLayers', 'auditSeconds',
    ...methods.flatMap((m) => [`${m}_psnr`, `${m}_ssim`, `${m}_mse`, `${m}_seconds`])];
  const lines = rows.map((r) => [
    r.model, r.image, r.label, r.layers, r.copaIndex, r.normalisedIndex, r.structuralIndex,
    r.rankDeficiency.join(';'), r.structuralDeficiency.join(';'),
    r.condition.map((c) => c.toPrecision(4)).join(';'), r.flaggedLayers.join(';'), r.auditSeconds,
    ...methods.flatMap((m): (number | string)[] => {
      const x = r.methods[m];
      return x ? [x.psnr, x.ssim, x.mse, x.seconds] : ['', '', '', ''];
    }),
  ].map(csvField).join(','));
  return [head.join(','), ...lines].join('\n') + '\n';
}

/** A CSV field: quoted when it holds a quote, comma or line break. */
export function csvField(c: string | number): string {
  const s = String(c);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
