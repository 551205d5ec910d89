import type { LayerReport } from '../analysis.js';
import type { Params } from '../network.js';
import type { Model } from '../spec.js';

/**
 * What an attacker has: the architecture, the weights, the shared gradients and, optionally, the
 * label. Never the image: attacks cannot reach it through this interface.
 */
export interface AttackInput {
  model: Model;
  params: Params;
  gradients: Params;
  label?: number;
}

export interface Progress {
  step: number;
  total: number;
  message: string;
}

export interface AttackOptions {
  seed: number;
  /** Relative pivot tolerance of the rank decisions. */
  tol: number;
  onProgress?: (p: Progress) => void;
}

export interface AttackResult {
  method: string;
  label: number;
  labelInferred: boolean;
  /** The reconstructed input in the model's normalised space, CHW. */
  image: Float64Array;
  layers: LayerReport[];
  /** Per-layer notes the user should see (e.g. clipped activations). */
  warnings: string[];
}

export interface Attack {
  name: string;
  description: string;
  run(input: AttackInput, options: AttackOptions): AttackResult;
}
