import { fail } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Kernels } from '../kernels/kernels.js';
import { JS_KERNELS } from '../kernels/js/index.js';
import { DEFAULT_RANK_TOL, solveLayerMany, type LayerRhs } from '../solve/layersolve.js';
import { SolverCache } from '../solve/solver-cache.js';
import { cropPadding, type LayerSystem } from '../solve/system.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ServerPayload } from '../threat/payload.js';
import { whatIfLayers } from './whatif.js';
import { chainView } from '../model/chain.js';
import type { Activation } from '../model/chain-activations.js';
import { batchGradients } from '../model/gradients.js';

/**
 * The analytic view of gradient noise (docs/METHOD.md, "Noise and the least-squares layers"). A layer's
 * least-squares solution is linear in its right-hand side, and its gradient rows' right-hand side is
 * the layer's weight gradient, entry for entry: noise e of standard deviation σ on that gradient moves
 * the solution by U⁺[0; e]. Its expected size, σ·‖U⁺P‖_F (P: the gradient rows' columns), depends only
 * on the system, i.e. on the weights, the image's activations and the layer's conditioning. It is
 * estimated with random ±1 probes (Hutchinson's estimator of a squared Frobenius norm), each one more
 * solve from factors the rank decision has already made.
 */
export interface LayerNoiseGain {
  /** The layer's index among the weighted layers, and its node. */
  layer: number;
  node: string;
  /**
   * Root-mean-square change of the layer's input values per unit of noise standard deviation on
   * its own weight-gradient entries (everything else exact); null when the layer has no such map.
   */
  gain: number | null;
  /** Relative standard error of `gain` (from the spread of the probes). */
  relativeError: number;
  /**
   * RMS change of the layer's input per unit RMS error in its output (the next layer's input), passed
   * through the inverse activation to the weight rows; null where the layer is not a plain chain link.
   */
  transfer: number | null;
  /**
   * The first-order prediction of rgap's RMS error in this layer's input per unit σ, noise on every
   * gradient: √(gain² + transfer²·(prediction above)²), from the closed-form last layer down.
   */
  predicted: number | null;
  probes: number;
  /** Why there is no gain (no system, or gradient rows that are not the weight gradient one to one). */
  reason?: string;
}

export interface NoiseGainSettings {
  tol?: number;
  solver?: SolverCache;
  maxBytes?: number;
  kernels?: Kernels;
  /** Random probes per layer (default 16). */
  probes?: number;
  seed?: number;
  /** The image's gradients, when the caller has them already (computed here otherwise). */
  gradients?: ReadonlyMap<string, Float64Array>;
}

export const DEFAULT_NOISE_PROBES = 16;

/** Each weighted layer's noise gain on the audit's what-if systems (the true image's). */
export function noiseGains(
  payload: ServerPayload, image: Tensor, label: number, settings: NoiseGainSettings = {},
): LayerNoiseGain[] {
  const probes = settings.probes ?? DEFAULT_NOISE_PROBES;
  if (!Number.isInteger(probes) || probes < 2) fail(`noise probes must be a whole number ≥ 2, got ${probes}`);
  const solve = {
    tol: settings.tol ?? DEFAULT_RANK_TOL, cache: settings.solver ?? new SolverCache(),
    maxBytes: settings.maxBytes,
  };
  const layers = whatIfLayers(settings.kernels ?? JS_KERNELS, payload, image, label);
  const chain = chainView(payload.model, payload.bnMode);
  const view = 'reason' in chain ? null : chain;
  const gains = layers.map((l, layer): LayerNoiseGain => {
    const none = (reason: string) => ({
      layer, node: 'report' in l ? l.report.node ?? '' : l.node, reason,
      gain: null, relativeError: 0, probes: 0, transfer: null, predicted: null,
    });
    if ('report' in l) return none(l.report.noRule ?? 'solved in closed form (no least-squares system)');
    const sys = l.build();
    // a block's rows, or train batch norm's scale-free rows, mix the weight gradient's entries
    if (l.node.endsWith('(block)') || sys.grad.rows !== sys.weight.length) {
      return none('its gradient rows are combinations of the weight gradient, not its entries');
    }
    const rng = new Rng((settings.seed ?? 0) + layer);
    const act = view?.model.layers[layer];
    const plain = act && !act.pool && !act.block && !view!.norms[layer];
    // both probe sets from one factorisation
    const own = gradientProbes(sys, probes, rng);
    const above = plain ? outputProbes(sys, payload, l.node, act.activation, probes, rng) : [];
    const { extra } = solveLayerMany(sys, solve, [...own, ...above]);
    const { mean, relativeError } = meanSquareOf(sys, extra.slice(0, probes));
    const transfer = plain ? Math.sqrt(meanSquareOf(sys, extra.slice(probes)).mean) : null;
    return { layer, node: l.node, gain: Math.sqrt(mean), relativeError, probes, transfer, predicted: null };
  });
  // down from the closed-form last layer, whose input x = Σ_j db_j dW_j / ‖db‖² moves, to first order,
  // by (Σ_j db_j ΔdW_j − x Σ_j db_j Δdb_j) / ‖db‖²: RMS σ·√(1 + mean(x²)) / ‖db‖
  const gradients = settings.gradients ?? batchGradients(
    settings.kernels ?? JS_KERNELS, payload.model, payload.params, image, [label], payload.bnMode).gradients;
  const top = lastLayerGain(payload, gradients);
  let above = top;
  for (let i = gains.length - 1; i >= 0; i--) {
    const g = gains[i];
    const l = layers[i];
    if ('report' in l && l.report.solver === 'closed-form') {
      gains[i] = { ...g, gain: top, predicted: top, reason: undefined };
      continue;
    }
    if (above === null || g.gain === null || g.transfer === null) { above = null; continue; }
    above = Math.sqrt(g.gain ** 2 + (g.transfer * above) ** 2);
    gains[i] = { ...g, predicted: above };
  }
  return gains;
}

/** The closed-form last layer's RMS input change per unit σ (see noiseGains), or null. */
function lastLayerGain(payload: ServerPayload, gradients: ReadonlyMap<string, Float64Array>): number | null {
  const last = [...payload.model.nodes].reverse().find((n) => n.op.system);
  if (!last || last.op.name !== 'linear') return null;
  const db = gradients.get(`${last.name}.bias`), dW = gradients.get(`${last.name}.weight`);
  if (!db || !dW) return null;
  const norm2 = db.reduce((a, v) => a + v * v, 0);
  if (!(norm2 > 0)) return null;
  const inDim = dW.length / db.length;
  let meanSquare = 0;
  for (let k = 0; k < inDim; k++) {
    let x = 0;
    for (let j = 0; j < db.length; j++) x += (db[j] * dW[j * inDim + k]) / norm2;
    meanSquare += (x * x) / inDim;
  }
  return Math.sqrt((1 + meanSquare) / norm2);
}

/**
 * Probes of the layer's outputs (the next layer's input) moving by ±1: a weight row's right-hand side
 * z − b moves by the probe over f'(z); padding and sum rows do not move. The change of the gradient
 * rows' coefficients (dL/dz) is left out: a first-order model of the recursion.
 */
function outputProbes(
  sys: LayerSystem, payload: ServerPayload, node: string, act: Activation, probes: number, rng: Rng,
): LayerRhs[] {
  const bias = payload.params.get(`${node}.bias`);
  const plane = sys.g.outH * sys.g.outW;
  const outputs = sys.g.outC * plane;
  const slope = new Float64Array(sys.s.rows);
  for (let t = 0; t < sys.s.rows; t++) {
    const sub = sys.sRowOutput[t];
    if (sub < 0) continue;
    const z = sys.sRhs[t] + (bias ? bias[Math.floor(sub / plane)] : 0);
    const d = act.df(z);
    slope[t] = d !== 0 ? 1 / d : 0;
  }
  const zeros = new Float64Array(sys.grad.rows);
  return Array.from({ length: probes }, () => {
    const e = Float64Array.from({ length: outputs }, () => (rng.uniform() < 0.5 ? -1 : 1));
    return { sRhs: Float64Array.from(slope, (v, t) => (sys.sRowOutput[t] >= 0 ? v * e[sys.sRowOutput[t]] : 0)),
      gradRhs: zeros };
  });
}

/** ±1 probes e on the gradient rows (everything else exact). */
function gradientProbes(sys: LayerSystem, probes: number, rng: Rng): LayerRhs[] {
  const zeros = new Float64Array(sys.s.rows);
  return Array.from({ length: probes }, () => ({
    sRhs: zeros,
    gradRhs: Float64Array.from({ length: sys.grad.rows }, () => (rng.uniform() < 0.5 ? -1 : 1)),
  }));
}

/**
 * E‖crop(U⁺[0; e])‖² / (input values) over ±1 probes e on the gradient rows, and the relative standard
 * error of its square root.
 */
export function gainOfSystem(
  sys: LayerSystem, solve: { tol: number; cache?: SolverCache; maxBytes?: number }, probes: number,
  rng: Rng,
): { mean: number; relativeError: number } {
  return meanSquareOf(sys, solveLayerMany(sys, solve, gradientProbes(sys, probes, rng)).extra);
}

/** The mean over solutions of their mean square on the unpadded input, and its relative standard error. */
function meanSquareOf(sys: LayerSystem, solutions: Float64Array[]): { mean: number; relativeError: number } {
  const probes = solutions.length;
  const samples = solutions.map((x) => {
    const v = cropPadding(sys, x);
    let s = 0;
    for (const t of v) s += t * t;
    return s / v.length;
  });
  const mean = samples.reduce((a, b) => a + b, 0) / probes;
  const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (probes - 1);
  // the standard error of the mean, halved for the square root (delta method)
  const relativeError = mean > 0 ? Math.sqrt(variance / probes) / mean / 2 : 0;
  return { mean, relativeError };
}
