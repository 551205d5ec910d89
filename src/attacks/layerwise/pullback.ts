import { layerInputGrad } from './conv.js';
import type { Kernels } from '../../kernels/kernels.js';
import { solveLayer, type SolveOptions } from '../../solve/layersolve.js';
import { mulVec } from '../../linalg/sparse.js';
import type { Params } from '../../model/chain-tensors.js';
import type { Model } from '../../model/chain-spec.js';
import { buildLayerSystem } from '../../solve/system.js';

/**
 * The pull-back constraint of layer i on its candidate input x (the output of layer i−1):
 * x fixes layer i−1's pre-activation z = σ⁻¹(x) and, through σ'(z), its dL/dz
 * δ = (W_iᵀ δ_i) ⊙ σ'(z). Layer i−1's system (weight rows = z − b, gradient rows built from δ =
 * its shared dL/dW) is then consistent only for the right x. The term is that system's
 * least-squares residual P(x) = min_y ‖A(x)y − b(x)‖²; by the envelope theorem its gradient is
 * ∂/∂x ‖A(x)y* − b(x)‖² at the minimiser y*.
 */
export interface PullBack {
  (x: Float64Array): { value: number; grad: Float64Array };
}

export function pullBack(
  kernels: Kernels, model: Model, params: Params, gradients: Params,
  layer: number, dzLayer: Float64Array, solve: SolveOptions,
): PullBack {
  const below = model.layers[layer - 1];
  const act = below.activation;
  // u = W_iᵀ δ_i: what δ_{i−1} is before the activation's derivative; fixed while x varies
  const u = layerInputGrad(kernels, model.layers[layer], params[layer].weight, dzLayer);
  const P = below.outH * below.outW;
  return (x) => {
    const n = x.length;
    const z = new Float64Array(n), d1 = new Float64Array(n), d2 = new Float64Array(n),
      dz = new Float64Array(n);
    for (let e = 0; e < n; e++) {
      z[e] = act.inverse(x[e]);
      d1[e] = act.df(z[e]);
      d2[e] = act.d2f(z[e]);
      dz[e] = u[e] * d1[e];
    }
    const sys = buildLayerSystem(below, {
      weight: params[layer - 1].weight, bias: params[layer - 1].bias, z, dz, dW: gradients[layer - 1].weight,
    });
    const y = solveLayer(sys, solve).x;
    const rs = mulVec(sys.s, y), rg = mulVec(sys.grad, y);
    let value = 0;
    for (let t = 0; t < rs.length; t++) { rs[t] -= sys.sRhs[t]; value += rs[t] * rs[t]; }
    for (let j = 0; j < rg.length; j++) { rg[j] -= sys.gradRhs[j]; value += rg[j] * rg[j]; }
    const grad = new Float64Array(n);
    // weight rows: right-hand side z_e − b, ∂z_e/∂x_e = 1/σ'(z_e)
    for (let t = 0; t < rs.length; t++) {
      const e = sys.sRowOutput[t];
      if (e >= 0) grad[e] -= (2 * rs[t]) / d1[e];
    }
    // gradient rows: entry k of row (o, ·) holds δ[o, p] with p its position in the row
    const gδ = new Float64Array(n);
    const g = sys.grad;
    for (let j = 0; j < g.rows; j++) {
      const o = Math.floor(j / (below.inC * below.kh * below.kw));
      const r = rg[j];
      if (r === 0) continue;
      for (let k = g.ptr[j]; k < g.ptr[j + 1]; k++) gδ[o * P + (k - g.ptr[j])] += 2 * r * y[g.idx[k]];
    }
    // δ_e = u_e σ'(z_e): ∂δ_e/∂x_e = u_e σ''(z_e) / σ'(z_e)
    for (let e = 0; e < n; e++) grad[e] += (gδ[e] * u[e] * d2[e]) / d1[e];
    return { value, grad };
  };
}
