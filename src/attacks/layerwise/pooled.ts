import type { PoolGeometry } from '../../kernels/kernels.js';
import type { PooledGeometry } from '../../model/chain-spec.js';
import type { LayerTensors } from '../../model/chain-tensors.js';
import { throughActivation } from '../../model/chain-tensors.js';
import { solveLayer, type LayerSolution, type SolveOptions } from '../../solve/layersolve.js';
import { buildLayerSystem, withRidge, type LayerSystem } from '../../solve/system.js';
import { sumsOf } from '../../ops/knowledge.js';

/**
 * A layer followed by pooling, as the attacker solves it. The layer above gives the pooled outputs
 * and dL/d(pooled), not the layer's own outputs.
 *  - Max pooling: which position of each window won is not seen, and both the weight rows (the
 *    winner's pre-activation is the pooled value) and the gradient rows (dL/dz sits at the winner)
 *    need it. With the true winners (`winners`, as a test or the what-if knows them) the rows are
 *    exact.
 *  - Mean pooling: dL/d(output) is the window's share at every position, exactly; the outputs are
 *    known only through their mean. With no activation between, each mean is a known sum of the
 *    layer's outputs — exact rows (mean pooling's rule in the what-if); through an activation, not.
 * Without winners, the estimate spreads each window: every position takes the pooled value (its
 * weight row where the activation lets it through) and, for max pooling, an equal share of its
 * gradient — the least-squares image of an upsampled layer, exact only where a window is constant,
 * and smooth. (Fixed points that re-take winners from that image were measured worse or no better:
 * docs/METHOD.md §2.)
 */
export interface PooledLayer {
  g: PooledGeometry;
  tensors: LayerTensors;
  dW: Float64Array;
  /** The pooled outputs and dL/d(pooled), from the layer above. */
  pooled: Float64Array;
  dPooled: Float64Array;
  /** The activation's inverse on the layer's output: pre-activation and which rows are known. */
  invert: (a: Float64Array) => { z: Float64Array; known: Uint8Array | null };
  solve: SolveOptions;
  /** Max pooling: each window's winner (a flat index into the layer's output); absent: spread. */
  winners?: Int32Array;
  /** Which entries of dW are equations (an adaptive reading of pruning); absent: all. */
  gradientMask?: Uint8Array;
}

/** The positions of each window (flat indices into the layer's output), window by window. */
export function poolWindows(p: PoolGeometry): Int32Array[] {
  const out: Int32Array[] = [];
  for (let c = 0; c < p.c; c++) for (let a = 0; a < p.outH; a++) for (let b = 0; b < p.outW; b++) {
    const at: number[] = [];
    for (let i = 0; i < p.kh; i++) for (let j = 0; j < p.kw; j++) {
      at.push((c * p.inH + a * p.sh + i) * p.inW + b * p.sw + j);
    }
    out.push(Int32Array.from(at));
  }
  return out;
}

/**
 * The layer's outputs and their gradient as the pooling's input: at the winners when given, else
 * spread over each window (every position the pooled value, an equal share of its gradient). A mean
 * pool passes 1/k² of its gradient to every position exactly; overlapping windows add up.
 */
export function unpool(
  windows: Int32Array[], size: number, pooled: Float64Array, dPooled: Float64Array, winners?: Int32Array,
): { a: Float64Array; da: Float64Array } {
  const a = new Float64Array(size), da = new Float64Array(size), set = new Uint8Array(size);
  windows.forEach((at, w) => {
    const to = winners ? [winners[w]] : at;
    for (const k of to) {
      // a position in several windows is at most each one's value: the smallest
      a[k] = set[k] ? Math.min(a[k], pooled[w]) : pooled[w];
      set[k] = 1;
      da[k] += dPooled[w] / to.length;
    }
  });
  return { a, da };
}

export function solvePooledLayer(
  L: PooledLayer,
): { system: LayerSystem; solution: LayerSolution; dz: Float64Array; estimated: boolean } {
  const { g } = L;
  const size = g.outC * g.outH * g.outW;
  const rows = new Uint8Array(size);
  const windows = poolWindows(g.pool);
  const winners = g.pool.kind === 'max' ? L.winners : undefined;
  const { a, da } = unpool(windows, size, L.pooled, L.dPooled, winners);
  const { z, known } = L.invert(a);
  const dz = throughActivation(g, da, z);
  const mask = L.gradientMask ? { gradientMask: L.gradientMask } : {};
  if (linearMean(g)) {
    // mean pooling of the layer's own outputs: each window's mean is a known sum, exactly
    const means = windows.map((at) => Array.from(at, (q): [number, number] => [q, 1 / at.length]));
    const sums = sumsOf(means, size);
    const system = buildLayerSystem(g, {
      weight: L.tensors.weight, bias: L.tensors.bias, z, dz, dW: L.dW, known: rows, ...mask,
      ...(sums ? { sums } : {}),
    });
    return { system, solution: solveLayer(system, L.solve), dz, estimated: false };
  }
  for (const [w, at] of windows.entries()) {
    for (const k of winners ? [winners[w]] : at) if (!known || known[k]) rows[k] = 1;
  }
  const system = buildLayerSystem(g, {
    weight: L.tensors.weight, bias: L.tensors.bias, z, dz, dW: L.dW, known: rows, ...mask,
  });
  if (winners) return { system, solution: solveLayer(system, L.solve), dz, estimated: false };
  // Spread, the k² rows of a window disagree (one position holds the maximum; the values are not all
  // the mean) and some inputs may be under no active window: a small ridge makes SᵀS definite, so the
  // banded column path solves it (without, the dependent rows go dense: minutes on convnet_bn). Its
  // rank is then not a measurement.
  // (not through the run's cache: it keys factors on geometry, weights and kept rows, which the
  // ridged system shares with the plain one)
  const ridged = withRelativeRidge(system, RIDGE);
  return { system, solution: solveLayer(ridged, { ...L.solve, cache: undefined }), dz, estimated: true };
}

/**
 * Mean pooling right after the layer (no activation between), windows apart: each mean is a sum of
 * the layer's outputs with the pooled value as its right-hand side. (Overlapping windows would need
 * their own right-hand sides; they take the spread estimate.)
 */
const linearMean = ({ pool, activation }: PooledLayer['g']) => pool.kind === 'avg'
  && activation.name === 'identity' && pool.sh >= pool.kh && pool.sw >= pool.kw;

// The ridge's weight per unknown, relative to the mean squared norm of S's rows.
const RIDGE = 1e-6;

function withRelativeRidge(sys: LayerSystem, rel: number): LayerSystem {
  const mean = sys.s.val.reduce((a, v) => a + v * v, 0) / Math.max(1, sys.s.rows);
  return withRidge(sys, Math.sqrt(rel * mean));
}
