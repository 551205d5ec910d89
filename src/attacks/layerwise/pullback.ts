import { layerInputGrad } from './conv.js';
import type { Kernels } from '../../kernels/kernels.js';
import { solveLayer, type SolveOptions } from '../../solve/layersolve.js';
import { mulVec } from '../../linalg/sparse.js';
import { cholesky, choleskySolve } from '../../linalg/dense.js';
import type { Params } from '../../model/chain-tensors.js';
import type { LayerGeometry, Model } from '../../model/chain-spec.js';
import type { Activation } from '../../model/chain-activations.js';
import { buildLayerSystem, type LayerSystem } from '../../solve/system.js';

/**
 * The pull-back constraint of layer i on its candidate input x (the output of layer i−1):
 * x fixes layer i−1's pre-activation z = σ⁻¹(x) and, through σ'(z), its dL/dz
 * δ = (W_iᵀ δ_i) ⊙ σ'(z). Layer i−1's system (weight rows = z − b, gradient rows built from δ =
 * its shared dL/dW) is then consistent only for the right x. The term is that system's
 * least-squares residual P(x) = min_y ‖A(x)y − b(x)‖²; by the envelope theorem its gradient is
 * ∂/∂x ‖A(x)y* − b(x)‖² at the minimiser y*.
 *
 * Where layer i−1 is under-determined, its only row dependencies are the C_out² identities between
 * weight and gradient rows (analysis/reports.ts), and P has a closed form over them (METHOD.md §8):
 * that path costs O(C_out²·positions) per evaluation instead of a solve of the whole system. Which
 * path applies is decided on the first evaluation, from the solver's numerical rank there.
 */
export interface PullBack {
  (x: Float64Array): { value: number; grad: Float64Array };
}

/** What a pull-back evaluation needs of layer i−1 at a candidate x. */
export interface Below {
  g: LayerGeometry;
  act: Activation;
  params: Params[number];
  dW: Float64Array;
  /** u = W_iᵀ δ_i: δ_{i−1} before the activation's derivative; fixed while x varies. */
  u: Float64Array;
}

/** z = σ⁻¹(x), σ'(z), σ''(z) and δ = u ⊙ σ'(z) at a candidate x. */
function atCandidate(b: Below, x: Float64Array) {
  const n = x.length;
  const z = new Float64Array(n), d1 = new Float64Array(n), d2 = new Float64Array(n),
    dz = new Float64Array(n);
  for (let e = 0; e < n; e++) {
    z[e] = b.act.inverse(x[e]);
    d1[e] = b.act.df(z[e]);
    d2[e] = b.act.d2f(z[e]);
    dz[e] = b.u[e] * d1[e];
  }
  return { z, d1, d2, dz };
}

const systemAt = (b: Below, z: Float64Array, dz: Float64Array): LayerSystem => buildLayerSystem(b.g, {
  weight: b.params.weight, bias: b.params.bias, z, dz, dW: b.dW,
});

/** Layer i−1 as the pull-back of layer i sees it, with dzLayer = δ_i. */
export function layerBelow(
  kernels: Kernels, model: Model, params: Params, gradients: Params, layer: number, dzLayer: Float64Array,
): Below {
  const g = model.layers[layer - 1];
  return {
    g, act: g.activation, params: params[layer - 1], dW: gradients[layer - 1].weight,
    u: layerInputGrad(kernels, model.layers[layer], params[layer].weight, dzLayer),
  };
}

export function pullBack(
  kernels: Kernels, model: Model, params: Params, gradients: Params,
  layer: number, dzLayer: Float64Array, solve: SolveOptions,
): PullBack {
  const below = layerBelow(kernels, model, params, gradients, layer, dzLayer);
  const g = below.g;
  let path: PullBack | null = null;
  return (x) => {
    if (!path) {
      // closed form only where the numerical rank leaves exactly the C_out² identities dependent
      const at = atCandidate(below, x);
      const sys = systemAt(below, at.z, at.dz);
      const rank = solveLayer(sys, { ...solve, rankOnly: true }).rank;
      const identities = rank === sys.s.rows + sys.grad.rows - g.outC * g.outC;
      path = identities ? identityPullBack(below) : solvedPullBack(below, solve);
    }
    return path(x);
  };
}

/**
 * P(x) through a solve of layer i−1's whole system: the reference, and the path wherever the system
 * has dependencies beyond the identities (an over-determined layer below, rank-deficient W or δ).
 */
export function solvedPullBack(below: Below, solve: SolveOptions): PullBack {
  const { g, u } = below;
  const P = g.outH * g.outW;
  return (x) => {
    const n = x.length;
    const { z, d1, d2, dz } = atCandidate(below, x);
    const sys = systemAt(below, z, dz);
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
    const gr = sys.grad;
    for (let j = 0; j < gr.rows; j++) {
      const o = Math.floor(j / (g.inC * g.kh * g.kw));
      const r = rg[j];
      if (r === 0) continue;
      const at = o * P - gr.ptr[j];
      for (let k = gr.ptr[j]; k < gr.ptr[j + 1]; k++) gδ[at + k] += 2 * r * y[gr.idx[k]];
    }
    // δ_e = u_e σ'(z_e): ∂δ_e/∂x_e = u_e σ''(z_e) / σ'(z_e)
    for (let e = 0; e < n; e++) grad[e] += (gδ[e] * u[e] * d2[e]) / d1[e];
    return { value, grad };
  };
}

/**
 * P(x) over the identities alone. For each pair (o, o') of output channels the row combination
 * n_oo' = Σ_p δ[o,p]·(weight row (o',p)) − Σ_k W[o',k]·(gradient row (o,k)) is zero, so with the
 * rank at rows − C_out² these C_out² vectors span the left null space of A and
 * P = cᵀ M⁻¹ c,  c_oo' = n_oo'ᵀ b = Σ_p δ[o,p](z[o',p] − b_o') − Σ_k W[o',k] dW[o,k],
 *                M = NᵀN = D ⊗ I + I ⊗ K,  D = δδᵀ (C_out×C_out over positions), K = WWᵀ.
 * With w = M⁻¹c and Ω = Σ_o' w_·o' w_·o'ᵀ: ∂P/∂δ[o,p] = 2Σ_o' w_oo' s[o',p] − 2Σ_q Ω_oq δ[q,p],
 * ∂P/∂z[o',p] = 2Σ_o w_oo' δ[o,p], then through z and δ to x as on the solved path.
 */
export function identityPullBack(below: Below): PullBack {
  const { g, u } = below;
  const C = g.outC, P = g.outH * g.outW, k2 = g.inC * g.kh * g.kw;
  const W = below.params.weight, bias = below.params.bias, dW = below.dW;
  // fixed while x varies: K = WWᵀ and Σ_k W[o',k] dW[o,k]
  const K = new Float64Array(C * C), wdw = new Float64Array(C * C);
  for (let a = 0; a < C; a++) for (let c = 0; c < C; c++) {
    let kk = 0, wd = 0;
    for (let k = 0; k < k2; k++) {
      kk += W[a * k2 + k] * W[c * k2 + k];
      wd += W[c * k2 + k] * dW[a * k2 + k];
    }
    K[a * C + c] = kk;
    wdw[a * C + c] = wd; // pair (o = a, o' = c)
  }
  const C2 = C * C;
  return (x) => {
    const n = x.length;
    const { z, d1, d2, dz: δ } = atCandidate(below, x);
    const s = new Float64Array(n);
    for (let o = 0; o < C; o++) {
      for (let p = 0; p < P; p++) s[o * P + p] = z[o * P + p] - (bias ? bias[o] : 0);
    }
    // c (pairs (o, o') at o·C + o') and D
    const c = new Float64Array(C2), D = new Float64Array(C2);
    for (let o = 0; o < C; o++) for (let q = 0; q < C; q++) {
      let sd = 0, dd = 0;
      for (let p = 0; p < P; p++) {
        sd += δ[o * P + p] * s[q * P + p];
        dd += δ[o * P + p] * δ[q * P + p];
      }
      c[o * C + q] = sd - wdw[o * C + q];
      D[o * C + q] = dd;
    }
    // M[(o,o'),(q,q')] = [o' = q'] D[o,q] + [o = q] K[o',q']
    const M = new Float64Array(C2 * C2);
    for (let o = 0; o < C; o++) for (let a = 0; a < C; a++) {
      const r = o * C + a;
      for (let q = 0; q < C; q++) M[r * C2 + q * C + a] += D[o * C + q];
      for (let b = 0; b < C; b++) M[r * C2 + o * C + b] += K[a * C + b];
    }
    cholesky(M, C2);
    const w = c.slice();
    choleskySolve(M, C2, w);
    let value = 0;
    for (let t = 0; t < C2; t++) value += c[t] * w[t];
    const Ω = new Float64Array(C2);
    for (let o = 0; o < C; o++) for (let q = 0; q < C; q++) {
      let v = 0;
      for (let a = 0; a < C; a++) v += w[o * C + a] * w[q * C + a];
      Ω[o * C + q] = v;
    }
    const grad = new Float64Array(n);
    for (let o = 0; o < C; o++) for (let p = 0; p < P; p++) {
      let gδ = 0, gz = 0;
      for (let a = 0; a < C; a++) {
        gδ += w[o * C + a] * s[a * P + p] - Ω[o * C + a] * δ[a * P + p];
        gz += w[a * C + o] * δ[a * P + p];
      }
      const e = o * P + p;
      // ∂z_e/∂x_e = 1/σ'(z_e); ∂δ_e/∂x_e = u_e σ''(z_e)/σ'(z_e)
      grad[e] = (2 * gz) / d1[e] + (2 * gδ * u[e] * d2[e]) / d1[e];
    }
    return { value, grad };
  };
}
