import { convBiasGrad, convForward, convInputGrad, convWeightGrad } from './conv.js';
import { crossEntropy, type Params } from './network.js';
import type { Model } from './spec.js';

/**
 * Gradient matching: the distance between the gradients a candidate input produces and the shared
 * gradients, and its gradient with respect to the candidate, by reverse mode through both the
 * forward and the backward pass ("double backprop"). Works from any layer up (`from`), so the hybrid
 * and per-layer attacks can match a sub-network. Every piece is checked against finite differences.
 *
 * Notation (METHOD.md §7): x_i layer inputs, z_i pre-activations, u_i = ∂L/∂a_i, δ_i = u_i ⊙ σ'(z_i),
 * G_i = ∂L/∂W_i = corr(x_i, δ_i), gb_i = Σ δ_i.
 */
export type GradientDistance = 'l2' | 'cosine';

export interface MatchingProblem {
  model: Model;
  params: Params;
  /** The shared gradients. */
  target: Params;
  label: number;
  distance: GradientDistance;
  /** First layer of the sub-network whose input is the candidate (default 0: the image). */
  from?: number;
}

export interface MatchingValue {
  value: number;
  /** ∂value/∂(input of layer `from`). */
  grad: Float64Array;
}

export function matchingLoss(p: MatchingProblem, x: Float64Array): MatchingValue {
  const { model, params, target, label } = p;
  const from = p.from ?? 0;
  const layers = model.layers.slice(from);
  const W = params.slice(from), T = target.slice(from);
  const L = layers.length;

  // forward; σ'(z) and σ''(z) are kept, each is needed several times below
  const xs: Float64Array[] = [], zs: Float64Array[] = [], d1: Float64Array[] = [], d2: Float64Array[] = [];
  let a = x;
  for (let i = 0; i < L; i++) {
    xs.push(a);
    const z = convForward(layers[i], a, W[i].weight, W[i].bias);
    const act = layers[i].activation;
    zs.push(z);
    d1.push(map(z, act.df));
    d2.push(map(z, act.d2f));
    a = map(z, act.f);
  }
  const logits = a;
  const { dlogits } = crossEntropy(logits, label);
  const probs = dlogits.slice();
  probs[label] += 1;

  // backward: the gradients this candidate would share
  const us: Float64Array[] = new Array(L), deltas: Float64Array[] = new Array(L);
  const G: Float64Array[] = new Array(L), gb: (Float64Array | null)[] = new Array(L);
  us[L - 1] = dlogits;
  for (let i = L - 1; i >= 0; i--) {
    const g = layers[i];
    deltas[i] = mul(us[i], d1[i]);
    G[i] = convWeightGrad(g, xs[i], deltas[i]);
    gb[i] = g.bias ? convBiasGrad(g, deltas[i]) : null;
    if (i > 0) us[i - 1] = convInputGrad(g, W[i].weight, deltas[i]);
  }

  // distance and its adjoint with respect to every shared tensor
  let value = 0;
  const Gbar: Float64Array[] = [], gbBar: (Float64Array | null)[] = [];
  for (let i = 0; i < L; i++) {
    const [v, bar] = distance(p.distance, G[i], T[i].weight);
    value += v;
    Gbar.push(bar);
    if (gb[i] && T[i].bias) {
      const [vb, bb] = distance(p.distance, gb[i]!, T[i].bias!);
      value += vb;
      gbBar.push(bb);
    } else gbBar.push(null);
  }

  // adjoint of the backward pass, from layer 0 up
  const deltaBar = layers.map((g) => new Float64Array(g.outC * g.outH * g.outW));
  const xBar = layers.map((g) => new Float64Array(g.inC * g.inH * g.inW));
  const zBar = layers.map((g) => new Float64Array(g.outC * g.outH * g.outW));
  for (let i = 0; i < L; i++) {
    const g = layers[i];
    addTo(deltaBar[i], convForward(g, xs[i], Gbar[i], null));
    const bb = gbBar[i];
    if (bb) { const per = g.outH * g.outW; for (let o = 0; o < g.outC; o++) for (let q = 0; q < per; q++) deltaBar[i][o * per + q] += bb[o]; }
    addTo(xBar[i], convInputGrad(g, Gbar[i], deltas[i]));
    // δ_i = u_i ⊙ σ'(z_i)
    const uBar = new Float64Array(zs[i].length);
    const db = deltaBar[i], ui = us[i], d1i = d1[i], d2i = d2[i], zb = zBar[i];
    for (let k = 0; k < uBar.length; k++) {
      uBar[k] = db[k] * d1i[k];
      zb[k] += db[k] * ui[k] * d2i[k];
    }
    if (i < L - 1) {
      // u_i = W_{i+1}ᵀ δ_{i+1} is linear in δ_{i+1}
      addTo(deltaBar[i + 1], convForward(layers[i + 1], uBar, W[i + 1].weight, null));
    } else {
      // u_{L−1} = softmax(a) − onehot with a = σ(z_{L−1})
      let dot = 0;
      for (let k = 0; k < probs.length; k++) dot += probs[k] * uBar[k];
      for (let k = 0; k < probs.length; k++) zBar[i][k] += probs[k] * (uBar[k] - dot) * d1[i][k];
    }
  }
  // adjoint of the forward pass, from the top down
  for (let i = L - 1; i >= 0; i--) {
    const zt = zBar[i], d1i = d1[i];
    if (i < L - 1) { const xb = xBar[i + 1]; for (let k = 0; k < zt.length; k++) zt[k] += xb[k] * d1i[k]; }
    addTo(xBar[i], convInputGrad(layers[i], W[i].weight, zt));
  }
  return { value, grad: xBar[0] };
}

/** A distance between a candidate tensor and the shared one, and its gradient in the candidate. */
function distance(kind: GradientDistance, g: Float64Array, t: Float64Array): [number, Float64Array] {
  const bar = new Float64Array(g.length);
  if (kind === 'l2') {
    let v = 0;
    for (let k = 0; k < g.length; k++) { const d = g[k] - t[k]; v += d * d; bar[k] = 2 * d; }
    return [v, bar];
  }
  // 1 − cos(g, t) per tensor (Geiping et al.); a zero tensor contributes 1 and no gradient
  let gg = 0, tt = 0, gt = 0;
  for (let k = 0; k < g.length; k++) { gg += g[k] * g[k]; tt += t[k] * t[k]; gt += g[k] * t[k]; }
  if (gg === 0 || tt === 0) return [1, bar];
  const ng = Math.sqrt(gg), nt = Math.sqrt(tt), cos = gt / (ng * nt);
  for (let k = 0; k < g.length; k++) bar[k] = -(t[k] / (ng * nt) - (cos * g[k]) / gg);
  return [1 - cos, bar];
}

function map(v: Float64Array, f: (x: number) => number): Float64Array {
  const out = new Float64Array(v.length);
  for (let k = 0; k < v.length; k++) out[k] = f(v[k]);
  return out;
}

function mul(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let k = 0; k < a.length; k++) out[k] = a[k] * b[k];
  return out;
}

function addTo(acc: Float64Array, v: Float64Array): void {
  for (let k = 0; k < acc.length; k++) acc[k] += v[k];
}

