import type { LayerReport } from '../analysis/reports.js';
import type { MemoryPart } from '../core/memory.js';
import type { SolverCache } from '../solve/solver-cache.js';
import type { Kernels } from '../kernels/kernels.js';
import type { Graph } from '../model/graph.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ServerPayload, SharedUpdate } from '../threat/payload.js';

/**
 * One interface for every attack: what the server sent and what it received, never the images
 * (threat/payload.ts). The result is a batch of reconstructions in the model's input space.
 */
export interface Progress {
  step: number;
  total: number;
  message: string;
  /** Objective value (optimisation attacks). */
  loss?: number;
  /** The current reconstruction [B, C, H, W], for an evaluator that knows the targets (never the attack). */
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
  /** The compute kernels (default: the reference JavaScript ones). */
  kernels?: Kernels;
  /**
   * The kernels of gradient matching (dlg, ig, hybrid's refinement), which may be faster and float32;
   * default: `kernels`. Label recovery, the layer-wise solves and their ranks keep `kernels`.
   */
  matchingKernels?: Kernels;
  /** Why `matchingKernels` are not what was asked (no WebAssembly here): the attacks that use them warn. */
  matchingNote?: string;
  /** Optimisation attacks: iteration count (each attack has its own default). */
  iterations?: number;
  /** Optimisation attacks: stop after this many seconds and keep the best iterate. */
  budgetSeconds?: number;
  /** Optimisation attacks: independent starts (seeds seed, seed+1, ...); the best final match is kept. */
  restarts?: number;
  /**
   * Attack a defended update adaptively (gradient matching: simulate each declared defence on the
   * candidate, attacks/adaptive.ts; the layer-wise attacks: layerwise/adaptive.ts); default naive.
   */
  adaptive?: boolean;
  /** Weight of the total-variation prior. */
  tv?: number;
  /** Learning rate (Adam-based attacks). */
  lr?: number;
  onProgress?: (p: Progress) => void;
}

export interface AttackResult {
  method: string;
  /** The reconstructed batch [B, C, H, W] in the model's input space. */
  images: Tensor;
  /** The label used for each reconstructed image (given, or recovered and sorted). */
  labels: number[];
  labelsInferred: boolean;
  /** The labels were inferred and the gradients did not single them out (see warnings). */
  labelAmbiguous: boolean;
  /** Per-layer reports of the layer-wise attacks (their audit of the shared gradients). */
  layers: LayerReport[];
  /** Notes the user should see (an ambiguous label, clipped activations, a budget stop). */
  warnings: string[];
  /**
   * Optimisation attacks: iterations run (summed over restarts), why the best run stopped, its
   * objective after each step.
   */
  iterations?: number;
  stoppedBy?: 'iterations' | 'budget' | 'converged';
  msPerIteration?: number;
  trace?: number[];
}

export interface Attack {
  name: string;
  description: string;
  run(payload: ServerPayload, update: SharedUpdate, options: AttackOptions): AttackResult;
  /** What a run on this model and batch allocates beyond the inputs (see core/memory.ts). */
  memory(model: Graph, batch: number): MemoryPart[];
}
