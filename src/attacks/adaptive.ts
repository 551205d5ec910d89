import type { AdaptiveRule } from '../defences/adaptive.js';
import { getDefence } from '../defences/registry.js';
import type { ParamMap } from '../model/graph.js';
import { updateTensors, type SharedUpdate } from '../threat/payload.js';

/**
 * How an attacker aware of the defences reads an update: one rule per declared defence, in the
 * client's order, built from the tensors as received (a weight delta as such: the FedAvg rule
 * simulates the local steps instead of reading the delta as a gradient). A defence without a rule is
 * read naively, and says so.
 */
export interface AdaptiveReading {
  rules: AdaptiveRule[];
  /** The declared defence each rule is of, in the same order. */
  sources: string[];
  /** What the simulated client's output is compared with: the update's tensors as received. */
  target: ParamMap;
  warnings: string[];
}

/** The adaptive reading of a defended update; null for an undefended one (adaptive = naive there). */
export function adaptiveReading(u: SharedUpdate): AdaptiveReading | null {
  if (!u.defences?.length) return null;
  const target = updateTensors(u);
  const rules: AdaptiveRule[] = [], sources: string[] = [], warnings: string[] = [];
  for (const r of u.defences) {
    const d = getDefence(r.name);
    const rule = d.adapt?.(r.params, { tensors: target, batch: u.batch });
    if (rule) { rules.push(rule); sources.push(r.name); }
    else warnings.push(`adaptive: ${r.name} has no adaptive rule; its effect is read naively`);
  }
  return { rules, sources, target, warnings };
}

export /** The product of the rules' masks, per tensor. */
function combinedMask(rules: readonly AdaptiveRule[]): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const r of rules) {
    for (const [k, m] of r.mask ?? []) {
      const prev = out.get(k);
      out.set(k, prev ? prev.map((v, i) => v * m[i]) : m);
    }
  }
  return out;
}
