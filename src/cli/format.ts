import type { AuditResult } from '../core/audit.js';

/** The per-layer table a person reads. */
export function auditTable(a: AuditResult): string {
  const head = ['layer', 'type', 'unknowns', 'weight', 'gradient', 'padding', 'rank', 'deficiency', 'structural', 'condition', 'solver'];
  const rows = a.layers.map((l) => [
    String(l.index), l.type, String(l.unknowns), String(l.weightConstraints), String(l.gradientConstraints), String(l.paddingConstraints),
    String(l.rank), String(l.rankDeficiency), String(l.structuralRank) + (l.rankDiffersFromStructural ? ' (!)' : ''),
    Number.isFinite(l.condition) ? l.condition.toExponential(1) : 'inf', l.solver,
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => cell.padStart(widths[c])).join('  ');
  const out = [line(head), ...rows.map(line), ''];
  out.push(`security index (authors'): ${a.copaIndex}`);
  out.push(`normalised index: ${a.normalisedIndex.toFixed(4)}   structural index: ${a.structuralIndex}`);
  if (a.flaggedLayers.length) out.push(`(!) numerical rank differs from the count-based rank in layer(s) ${a.flaggedLayers.join(', ')}`);
  return out.join('\n');
}
