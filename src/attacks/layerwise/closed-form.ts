import type { LayerGeometry } from '../../model/chain-spec.js';
import type { LayerKept } from './adaptive.js';

/**
 * The last linear layer's input from dL/dW = db ⊗ x: x_k = Σ_j db_j·dW_jk / Σ_j db_j². With some
 * received entries dropped (pruning), only the pairs (db_j, dW_jk) that both survived are equations:
 * x_k = Σ_{j∈S_k} db_j·dW_jk / Σ_{j∈S_k} db_j², S_k = { j : db_j and dW_jk survived }. An input with
 * no such pair is not determined here (NaN, `unknown` counts them): the layer below then drops the
 * equation of that output (recursion.ts), as it does an inactive ReLU's, and solves for it instead.
 */
export function lastLayerInput(
  db: Float64Array, dW: Float64Array, outC: number, kept: LayerKept | null,
): { x: Float64Array; unknown: number } {
  const inDim = dW.length / outC;
  const x = new Float64Array(inDim);
  if (!kept) {
    let norm2 = 0;
    for (const v of db) norm2 += v * v;
    for (let j = 0; j < outC; j++)
      for (let k = 0; k < inDim; k++) x[k] += (db[j] * dW[j * inDim + k]) / norm2;
    return { x, unknown: 0 };
  }
  const den = new Float64Array(inDim);
  for (let j = 0; j < outC; j++) {
    if (kept.bias && !kept.bias[j]) continue;
    for (let k = 0; k < inDim; k++) {
      if (!kept.weight[j * inDim + k]) continue;
      x[k] += db[j] * dW[j * inDim + k];
      den[k] += db[j] * db[j];
    }
  }
  let unknown = 0;
  for (let k = 0; k < inDim; k++) {
    if (den[k] > 0) x[k] /= den[k];
    else { x[k] = NaN; unknown++; }
  }
  return { x, unknown };
}

/**
 * dL/dz of the last layer with its pruned entries filled in: with cross-entropy it is
 * c·f′(z)·(softmax(f(z)) − onehot(label)) at z = W x + b, and the kept entries fix the one scale c a
 * clipping may have applied (least squares over them). Kept entries stay as received; inputs the
 * closed form left undetermined (NaN) count as 0 here.
 */
export function filledLastDelta(
  g: LayerGeometry, weight: Float64Array, bias: Float64Array, x: Float64Array, label: number,
  db: Float64Array, kept: Uint8Array,
): Float64Array {
  const n = x.length;
  const z = bias.map((b, j) => {
    let s = b;
    for (let k = 0; k < n; k++) if (!Number.isNaN(x[k])) s += weight[j * n + k] * x[k];
    return s;
  });
  const a = z.map((v) => g.activation.f(v));
  const top = a.reduce((m, v) => Math.max(m, v), -Infinity);
  const e = a.map((v) => Math.exp(v - top));
  const sum = e.reduce((s, v) => s + v, 0);
  const model = e.map((v, j) => g.activation.df(z[j]) * (v / sum - (j === label ? 1 : 0)));
  let num = 0, den = 0;
  for (let j = 0; j < db.length; j++) if (kept[j]) { num += db[j] * model[j]; den += model[j] * model[j]; }
  const c = den > 0 ? num / den : 1;
  return db.map((v, j) => (kept[j] ? v : c * model[j]));
}
