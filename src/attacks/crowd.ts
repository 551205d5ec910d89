import type { Kernels } from '../kernels/kernels.js';
import type { GradientUpdate, ServerPayload } from '../threat/payload.js';
import { labelsOf, recoverLabels } from './labels.js';

/**
 * The labels of a secure-aggregation crowd (K clients of B images each), for an attacker that reads
 * the summed update as the crowd's. The sum of K mean gradients is K times the mean over all K·B
 * images, so the counts come from the update scaled by 1/K as a batch of K·B. Labels the server was
 * given are the target client's: they come first (the target's slice of the candidate), and the
 * crowd's counts less those make up the rest.
 */
export function crowdLabels(
  kernels: Kernels, payload: ServerPayload, update: GradientUpdate, crowd: number, seed: number,
): { labels: number[]; inferred: boolean; ambiguous: boolean; reason?: string } {
  const N = update.batch * crowd;
  const scaled = new Map([...update.gradients].map(([k, v]) => [k, v.map((x) => x / crowd)]));
  const pooled = { ...update, batch: N, gradients: scaled, labels: undefined };
  const r = recoverLabels(kernels, payload, pooled, seed);
  const why = r.reason ? { reason: r.reason } : {};
  if (!update.labels) return { labels: r.labels, inferred: true, ambiguous: r.ambiguous, ...why };
  const counts = [...r.counts];
  for (const l of update.labels) {
    // a known label the counts missed takes the place of the most frequent class
    const j = counts[l] > 0 ? l : counts.indexOf(Math.max(...counts));
    counts[j]--;
  }
  return { labels: [...update.labels, ...labelsOf(counts)], inferred: true, ambiguous: r.ambiguous, ...why };
}
