import { convBiasGrad, convForward, convInputGrad, convWeightGrad } from './conv.js';
import { assertFinite, fail } from './errors.js';
import { Rng } from './rng.js';
import { type Model, type LayerGeometry, weightSize, weightShape } from './spec.js';

/** One layer's parameters, or their gradients: same names and shapes. */
export interface LayerTensors {
  weight: Float64Array;
  bias: Float64Array | null;
}

export type Params = LayerTensors[];

/** PyTorch's default initialisation: weight and bias uniform in ±1/sqrt(fan_in). Seeded. */
export function initParams(model: Model, seed: number): Params {
  const rng = new Rng(seed);
  return model.layers.map((g) => {
    const bound = 1 / Math.sqrt(g.inC * g.kh * g.kw);
    const weight = new Float64Array(weightSize(g));
    for (let i = 0; i < weight.length; i++) weight[i] = (2 * rng.uniform() - 1) * bound;
    let bias: Float64Array | null = null;
    if (g.bias) {
      bias = new Float64Array(g.outC);
      for (let i = 0; i < bias.length; i++) bias[i] = (2 * rng.uniform() - 1) * bound;
    }
    return { weight, bias };
  });
}

/** Checks that tensors fit the model (count, sizes, finiteness); `what` names them in errors. */
export function checkTensors(model: Model, tensors: Params, what: string): void {
  if (tensors.length !== model.layers.length) fail(`${what}: expected ${model.layers.length} layers, got ${tensors.length}`);
  model.layers.forEach((g, i) => {
    const t = tensors[i];
    if (t.weight.length !== weightSize(g)) {
      fail(`${what}: layers.${i}.weight has ${t.weight.length} values, the model needs shape [${weightShape(g).join(',')}]`);
    }
    if (g.bias && (!t.bias || t.bias.length !== g.outC)) fail(`${what}: layers.${i}.bias must have ${g.outC} values`);
    assertFinite(t.weight, `${what}: layers.${i}.weight`);
    if (t.bias) assertFinite(t.bias, `${what}: layers.${i}.bias`);
  });
}

/** What a forward pass keeps: each layer's input, pre-activation and output. */
export interface Trace {
  inputs: Float64Array[];
  pre: Float64Array[];
  logits: Float64Array;
}

export function forward(model: Model, params: Params, x: Float64Array): Trace {
  const inputs: Float64Array[] = [];
  const pre: Float64Array[] = [];
  let a = x;
  model.layers.forEach((g, i) => {
    inputs.push(a);
    const z = convForward(g, a, params[i].weight, params[i].bias);
    pre.push(z);
    a = z.map(g.activation.f);
  });
  return { inputs, pre, logits: a };
}

export function softmax(logits: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const e = logits.map((v) => Math.exp(v - max));
  const s = e.reduce((p, v) => p + v, 0);
  return e.map((v) => v / s);
}

/** Cross-entropy of the logits against a label, and its gradient with respect to the logits. */
export function crossEntropy(logits: Float64Array, label: number): { loss: number; dlogits: Float64Array } {
  const p = softmax(logits);
  const dlogits = p.slice();
  dlogits[label] -= 1;
  return { loss: -Math.log(p[label]), dlogits };
}

/** Pulls dL/d(output of layer i) back to dL/dz_i through the activation's derivative. */
export function throughActivation(g: LayerGeometry, da: Float64Array, z: Float64Array): Float64Array {
  const dz = new Float64Array(da.length);
  for (let k = 0; k < da.length; k++) dz[k] = da[k] * g.activation.df(z[k]);
  return dz;
}

export interface Backward {
  loss: number;
  grads: Params;
  /** dL/dz per layer: what the gradient constraints are built from. */
  dz: Float64Array[];
}

export function backward(model: Model, params: Params, trace: Trace, label: number): Backward {
  const { loss, dlogits } = crossEntropy(trace.logits, label);
  const L = model.layers.length;
  const grads: Params = new Array(L);
  const dzs: Float64Array[] = new Array(L);
  let da = dlogits;
  for (let i = L - 1; i >= 0; i--) {
    const g = model.layers[i];
    const dz = throughActivation(g, da, trace.pre[i]);
    dzs[i] = dz;
    grads[i] = { weight: convWeightGrad(g, trace.inputs[i], dz), bias: g.bias ? convBiasGrad(g, dz) : null };
    if (i > 0) da = convInputGrad(g, params[i].weight, dz);
  }
  return { loss, grads, dz: dzs };
}
