import { adaptiveReading, combinedMask } from '../adaptive.js';
import { chainGradients, type ChainView } from '../../model/chain.js';
import type { ParamMap } from '../../model/graph.js';
import type { SharedUpdate } from '../../threat/payload.js';

/** Which received entries of one layer's tensors are equations (1) and which were dropped (0). */
export interface LayerKept {
  weight: Uint8Array;
  bias: Uint8Array | null;
}

/**
 * What the layer-wise recursion takes from the declared defences' adaptive rules (docs/METHOD.md §15):
 * per chain layer, the received entries that survived (a mask: pruning, top-k), and the std of the
 * noise on every received coordinate. Rules that only simulate the defence on a candidate (FedAvg's
 * local steps, quantisation's cells) give the recursion nothing to use: those are read naively.
 */
export interface LayerwiseReading {
  /** Per chain layer; null where every entry survived. */
  kept: (LayerKept | null)[];
  /** The noise's std on the received coordinates (0 without noise). */
  noiseStd: number;
  /** The same masks by parameter name, for refinements that match gradients (hybrid); empty: none. */
  masks: Map<string, Float64Array>;
  warnings: string[];
}

export function layerwiseReading(
  method: string, u: SharedUpdate, view: ChainView, params: ParamMap,
): LayerwiseReading | null {
  const reading = adaptiveReading(u);
  if (!reading) return null;
  const warnings = [...reading.warnings];
  let noiseStd = 0;
  reading.rules.forEach((r, i) => {
    if (r.noiseStd !== undefined) noiseStd = Math.hypot(noiseStd, r.noiseStd);
    else if (!r.mask && !r.scalesOnly) warnings.push(`adaptive: ${method} has no use for the rule of `
      + `${reading.sources[i]} (it simulates the defence on a candidate); its effect is read naively`);
  });
  const masks = combinedMask(reading.rules);
  if (masks.size === 0) return { kept: view.nodes.map(() => null), noiseStd, masks, warnings };
  // the masks in the chain's layout, as the gradients are (a folded batch norm rescales a weight
  // gradient's entries by non-zero factors, which leaves a mask's zeros where they were)
  const full = new Map([...reading.target].map(([k, v]) => [k, masks.get(k) ?? v.map(() => 1)]));
  const kept = chainGradients(view, full, params).map((t): LayerKept | null => {
    const weight = flags(t.weight), bias = t.bias ? flags(t.bias) : null;
    return weight.every((v) => v === 1) && (!bias || bias.every((v) => v === 1)) ? null : { weight, bias };
  });
  return { kept, noiseStd, masks, warnings };
}

function flags(m: Float64Array): Uint8Array {
  return Uint8Array.from(m, (v) => (v === 0 ? 0 : 1));
}
