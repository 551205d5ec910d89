import type { Engine, Var } from '../autodiff/engine.js';
import { add, mul, scale } from '../autodiff/prims/arith.js';
import { gather } from '../autodiff/prims/pool.js';
import { broadcastTo, reshape, sumAll } from '../autodiff/prims/shape.js';
import { unary } from '../autodiff/prims/unary.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * What an attacker aware of the defences does about each one (docs/METHOD.md, "Adaptive attacks").
 * A defence's `adapt` returns a rule: a differentiable simulation of what the defence did on the
 * client, run on the candidate batch (it wraps the simulated step beneath it, in the client's order,
 * as `wrap` does), and how the candidate's shared tensors are then compared with the received ones:
 * which coordinates count (a mask) and by which distance. The gradient-matching objective
 * (attacks/matching/objective.ts) applies the chain; a defence without `adapt` is read naively.
 */

/** The candidate batch on the attacker's tape: images [N, C, H, W] (or a node's value) and labels. */
export interface CandidateBatch {
  images: Var;
  labels: readonly number[];
}

/**
 * The client's step replayed on the candidate: the tensors it would share, as Vars on the tape (so
 * the distance can be differentiated back to the candidate), at the weights `theta` (Vars too: a
 * FedAvg simulation moves them), for every trainable tensor the loss reaches.
 */
export type SimulatedStep = (theta: ReadonlyMap<string, Var>, batch: CandidateBatch) => Map<string, Var>;

/** What the attacker received: the update's tensors as they came, and the client's batch size. */
export interface ReceivedUpdate {
  tensors: ReadonlyMap<string, Float64Array>;
  batch: number;
}

/** The distance of one tensor: the candidate's shared tensor against the received one. */
export type TensorDistance = (e: Engine, candidate: Var, received: Tensor) => Var;

export interface AdaptiveRule {
  /** Replays the defence on the candidate, around the step beneath it. */
  simulate?(inner: SimulatedStep, e: Engine): SimulatedStep;
  /** Per tensor, 1 where the received coordinate is compared and 0 where it is not. */
  mask?: ReadonlyMap<string, Float64Array>;
  /** Replaces the attack's own distance (the outermost rule that sets one decides). */
  distance?: 'cosine' | TensorDistance;
  /**
   * For the layer-wise attacks, whose systems are homogeneous in the gradient's scale: the defence
   * multiplies a one-image update by one positive factor and does nothing else (clipping).
   */
  scalesOnly?: boolean;
  /** The std of the independent Gaussian noise the defence adds to every received coordinate. */
  noiseStd?: number;
  /**
   * The update is the sum of this many clients' (secure aggregation): the candidate batch holds them
   * all, the received batch size per client, and the reconstruction is the whole crowd.
   */
  crowd?: number;
}

/** 1 where the received tensor is non-zero: the coordinates that survived pruning or top-k. */
export function survivorMask(received: ReadonlyMap<string, Float64Array>): Map<string, Float64Array> {
  return new Map([...received].map(([k, v]) => [k, v.map((x) => (x === 0 ? 0 : 1))]));
}

/** Σ (candidate − received)², the L2 distance of one tensor, scaled by `weight`. */
export function squaredDistance(weight: number): TensorDistance {
  return (e, g, r) => {
    const d = add(e, g, e.constant({ shape: r.shape, data: r.data.map((x) => -x) }));
    return scale(e, sumAll(e, mul(e, d, d)), weight);
  };
}

/**
 * Σ relu(|candidate − received| − s/2)² / ‖received‖² per tensor, s = max|received| / levels: zero
 * inside the rounding cell of a symmetric quantiser with `levels` steps either side of zero, a
 * squared relative error outside — scale-free per tensor, like the cosine, so an attack's prior
 * weighs the same against it (in absolute units a TV weight tuned for the cosine drowns it).
 */
export function cellDistance(levels: number): TensorDistance {
  return (e, g, r) => {
    const half = r.data.reduce((m, x) => Math.max(m, Math.abs(x)), 0) / levels / 2;
    const norm2 = r.data.reduce((s, x) => s + x * x, 0);
    const d = add(e, g, e.constant({ shape: r.shape, data: r.data.map((x) => -x) }));
    const over = unary(e, add(e, unary(e, d, 'abs'), e.constant({
      shape: r.shape, data: new Float64Array(r.data.length).fill(-half),
    })), 'relu');
    return scale(e, sumAll(e, mul(e, over, over)), norm2 > 0 ? 1 / norm2 : 1);
  };
}

/** v · c for a [1] Var c, whatever v's shape. */
function timesScalar(e: Engine, v: Var, c: Var): Var {
  return mul(e, v, broadcastTo(e, reshape(e, c, v.shape.map(() => 1)), v.shape));
}

/**
 * clip_C of the tensors taken as one vector: unchanged when ‖v‖ ≤ C, else times C/‖v‖ — on the tape,
 * so the factor's dependence on the candidate is differentiated too (the branch is piecewise).
 */
export function clipVars(e: Engine, tensors: Map<string, Var>, C: number): Map<string, Var> {
  let sq: Var | null = null;
  for (const v of tensors.values()) {
    const s = sumAll(e, mul(e, v, v));
    sq = sq ? add(e, sq, s) : s;
  }
  if (!sq || Math.sqrt(sq.data[0]) <= C) return tensors;
  const factor = scale(e, unary(e, sq, 'rsqrt'), C);
  return new Map([...tensors].map(([k, v]) => [k, timesScalar(e, v, factor)]));
}

/** Σ of the maps, key by key (a key missing from one map counts as zero there). */
export function sumVars(e: Engine, maps: readonly Map<string, Var>[]): Map<string, Var> {
  const out = new Map<string, Var>();
  for (const m of maps) for (const [k, v] of m) out.set(k, out.has(k) ? add(e, out.get(k)!, v) : v);
  return out;
}

export function scaledVars(e: Engine, m: Map<string, Var>, c: number): Map<string, Var> {
  return new Map([...m].map(([k, v]) => [k, scale(e, v, c)]));
}

/** Samples [from, from + count) of the candidate batch, still on the tape. */
export function candidateSlice(e: Engine, b: CandidateBatch, from: number, count: number): CandidateBatch {
  const [n, ...rest] = b.images.shape;
  const size = rest.reduce((p, q) => p * q, 1);
  if (from === 0 && count === n) return b;
  const index = Int32Array.from({ length: count * size }, (_, i) => from * size + i);
  return { images: gather(e, b.images, index, [count, ...rest]), labels: b.labels.slice(from, from + count) };
}

/**
 * clip.ts's clipped sum replayed on the candidate: per example, each sample's step alone, clipped,
 * summed (`count` = the batch size); per batch, the batch's step clipped (`count` = 1).
 */
export function clippedSumVars(
  e: Engine, inner: SimulatedStep, theta: ReadonlyMap<string, Var>, batch: CandidateBatch, C: number,
  per: string,
): { tensors: Map<string, Var>; count: number } {
  if (per === 'batch') return { tensors: clipVars(e, inner(theta, batch), C), count: 1 };
  const n = batch.labels.length;
  const each = Array.from(
    { length: n }, (_, i) => clipVars(e, inner(theta, candidateSlice(e, batch, i, 1)), C));
  return { tensors: sumVars(e, each), count: n };
}
