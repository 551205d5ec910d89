import type { AuditResult } from '../analysis/audit.js';
import type { NoiseView } from '../analysis/noise-view.js';

/**
 * Rows of cells in columns two spaces apart, each column as wide as its widest cell: numbers read
 * right-aligned, the columns `leftAligned` picks left-aligned; no trailing spaces.
 */
export function textTable(
  head: readonly string[], rows: readonly string[][], leftAligned: (column: number) => boolean,
): string[] {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  return [head, ...rows].map((r) => r
    .map((cell, c) => (leftAligned(c) ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
    .join('  ').trimEnd());
}

/** The per-layer table a person reads. */
export function auditTable(a: AuditResult): string {
  // sums of weight rows (mean pooling, train batch norm) get a column when some layer has them
  const sums = a.layers.some((l) => l.sumConstraints !== undefined);
  const named = a.layers.some((l) => l.node !== undefined && l.node !== `layers.${l.index}`);
  const head = [
    'layer', 'type', 'unknowns', 'weight', 'gradient', 'padding', ...(sums ? ['sums'] : []), 'rank',
    'deficiency', 'structural', 'condition', 'solver', ...(named ? ['node'] : []),
  ];
  const measured = sums ? 8 : 7;
  const rows = a.layers.map((l) => [
    String(l.index), l.type, String(l.unknowns),
    ...(l.noRule ? Array<string>(measured).fill('-') : [
      String(l.weightConstraints), String(l.gradientConstraints), String(l.paddingConstraints),
      ...(sums ? [String(l.sumConstraints ?? 0)] : []),
      ...(l.estimated ? ['-', '-', '-', '-'] : [
        String(l.rank), String(l.rankDeficiency),
        String(l.structuralRank) + (l.rankDiffersFromStructural ? ' (!)' : ''),
        Number.isFinite(l.condition) ? l.condition.toExponential(1) : 'inf',
      ]),
    ]),
    l.estimated ? 'estimate' : l.solver, ...(named ? [l.node ?? ''] : []),
  ]);
  // the node name, when there is one, is the last column and reads left-aligned
  const out = [...textTable(head, rows, (c) => named && c === head.length - 1), ''];
  const inner = a.layers.filter((l) => l.partOf !== undefined).length;
  if (inner) out.push(`(${inner} layer(s) inside residual blocks are counted in their block's system)`);
  const without = a.layers.filter((l) => l.noRule && l.partOf === undefined).length;
  if (without) out.push(`(${without} layer(s) without a layer system are left out of the indices below)`);
  const guessed = a.layers.filter((l) => l.estimated).length;
  if (guessed) out.push(`(${guessed} layer(s) solved from an estimate are left out of the indices below)`);
  out.push(`security index (authors'): ${a.copaIndex}`);
  out.push(`normalised index: ${a.normalisedIndex.toFixed(4)}   structural index: ${a.structuralIndex}`);
  if (a.flaggedLayers.length) out.push(
    `(!) numerical rank differs from the count-based rank in layer(s) ${a.flaggedLayers.join(', ')}`);
  return out.join('\n');
}

/** The audit's noise view (`--defence noise:…`): per layer gain, transfer, prediction and error. */
export function noiseTable(v: NoiseView): string {
  const f = (x: number | null) => (x === null ? '-' : x.toExponential(2));
  const head = ['layer', 'gain', '±', 'transfer', 'predicted', 'error', 'node'];
  const rows = v.layers.map((l) => [String(l.layer), f(l.gain), l.gain === null ? '-'
    : `${(100 * l.relativeError).toFixed(0)}%`, f(l.transfer), f(l.predicted), f(l.predictedError),
  l.reason ? `${l.node} (${l.reason})` : l.node]);
  return [
    `noise z=${v.z}, clip ${v.clip}: gradient norm ${v.gradientNorm.toExponential(3)}, clip scale `
      + `${v.clipScale.toPrecision(3)}, σ on the unclipped gradient ${v.sigma.toExponential(3)}`,
    'gain, transfer, predicted: RMS input error per unit σ (own gradient; per unit output error; all '
      + 'layers). error = predicted·σ',
    ...textTable(head, rows, (c) => c === head.length - 1),
    v.inputError === null ? 'predicted input error: unknown (a layer has no first-order model)'
      : `predicted rgap input error ${v.inputError.toExponential(3)} (RMS, input units): about `
        + `${v.predictedPsnr!.toFixed(1)} dB from the noise alone, to first order`,
    '',
  ].join('\n');
}
