import type { Graph, ParamMap } from '../model/graph.js';

/** What a defence costs the model: how far the update the server reads is from the clean gradient. */
export interface Utility {
  /** ‖d − g‖ / ‖g‖ over all trainable tensors together. */
  relError: number;
  /** ⟨d, g⟩ / (‖d‖·‖g‖); 0 when either is all zeros. */
  cosine: number;
}

/**
 * The defended update `defended` (as gradients: a FedAvg delta read as −Δ/(E·η)) against the clean
 * gradient `clean`, over the model's trainable tensors in order.
 */
export function updateUtility(model: Graph, clean: ParamMap, defended: ParamMap): Utility {
  let dd = 0, gg = 0, dg = 0, diff = 0;
  for (const p of model.params) {
    if (!p.trainable) continue;
    const g = clean.get(p.name)!, d = defended.get(p.name)!;
    for (let i = 0; i < g.length; i++) {
      dd += d[i] * d[i];
      gg += g[i] * g[i];
      dg += d[i] * g[i];
      diff += (d[i] - g[i]) ** 2;
    }
  }
  return { relError: Math.sqrt(diff / gg), cosine: dd > 0 && gg > 0 ? dg / Math.sqrt(dd * gg) : 0 };
}
