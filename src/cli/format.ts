import type { AuditResult } from '../analysis/audit.js';

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
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  // the node name, when there is one, is the last column and reads left-aligned
  const line = (r: string[]) =>
    r.map((cell, c) => (named && c === head.length - 1 ? cell : cell.padStart(widths[c])))
      .join('  ').trimEnd();
  const out = [line(head), ...rows.map(line), ''];
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
