import type { LayerReport } from '../analysis.js';
import type { Params } from '../network.js';
import type { MemoryPart } from '../memory.js';
import type { SolverCache } from '../solver-cache.js';
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
  /** Objective value (optimisation attacks). */
  loss?: number;
  /** The current reconstruction, for an evaluator that knows the target (never the attack). */
  current?: Float64Array;
}

/** What every analysis that solves layer systems takes. */
export interface SolveSettings {
  /** Relative pivot tolerance of the rank decisions. */
  tol: number;
  /** Factors and solutions to reuse across runs on the same model (a fresh one per run without it). */
  solver?: SolverCache;
  /** Memory ceiling in bytes for the solver's data-dependent dense work. */
  maxBytes?: number;
}

export interface AttackOptions extends SolveSettings {
  seed: number;
  /** Optimisation attacks: iteration count (each attack has its own default). */
  iterations?: number;
  /** Optimisation attacks: stop after this many seconds and keep the best iterate. */
  budgetSeconds?: number;
  /** Weight of the total-variation prior. */
  tv?: number;
  /** Learning rate (Adam-based attacks). */
  lr?: number;
  /** The valid range of input values, known from the public data normalisation. */
  box?: readonly [number, number];
  onProgress?: (p: Progress) => void;
}

export interface AttackResult {
  method: string;
  label: number;
  labelInferred: boolean;
  /** True when the label was inferred and the gradients did not single out one class (see warnings). */
  labelAmbiguous: boolean;
  /** The reconstructed input in the model's normalised space, CHW. */
  image: Float64Array;
  layers: LayerReport[];
  /** Per-layer notes the user should see (e.g. clipped activations). */
  warnings: string[];
  /** Optimisation attacks: iterations run, why they stopped, and the objective after each. */
  iterations?: number;
  stoppedBy?: 'iterations' | 'budget' | 'converged';
  msPerIteration?: number;
  trace?: number[];
}

export interface Attack {
  name: string;
  description: string;
  run(input: AttackInput, options: AttackOptions): AttackResult;
  /** What a run on this model allocates beyond the inputs (see memory.ts), checked before it starts. */
  memory(model: Model): MemoryPart[];
}
