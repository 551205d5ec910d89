import { fail } from './errors.js';
import { MAX_ABS_GRADIENT, MAX_ABS_PARAMETER } from './limits.js';
import type { NamedTensor } from '../formats/safetensors.js';
import { checkTensors, type Params } from './network.js';
import { type Model, weightShape } from './spec.js';

/** Maps named tensors (`layers.{i}.weight`, `layers.{i}.bias`, PyTorch layouts) onto a model. */
export function paramsFromTensors(model: Model, tensors: Map<string, NamedTensor>, what: string): Params {
  const params: Params = model.layers.map((g, i) => {
    const w = tensors.get(`layers.${i}.weight`);
    if (!w) fail(`${what}: missing tensor layers.${i}.weight`);
    const want = weightShape(g);
    if (w.shape.length !== want.length || w.shape.some((d, k) => d !== want[k])) {
      fail(`${what}: layers.${i}.weight has shape [${w.shape.join(',')}], the model needs [${want.join(',')}]`);
    }
    const b = tensors.get(`layers.${i}.bias`);
    if (g.bias && !b) fail(`${what}: missing tensor layers.${i}.bias`);
    if (!g.bias && b) fail(`${what}: layers.${i}.bias is present but layer ${i} has no bias`);
    if (b && (b.shape.length !== 1 || b.shape[0] !== g.outC)) fail(`${what}: layers.${i}.bias has shape [${b.shape.join(',')}], the model needs [${g.outC}]`);
    return { weight: w.data, bias: b ? b.data : null };
  });
  checkTensors(model, params, what);
  return params;
}

export function tensorsFromParams(model: Model, params: Params): [string, NamedTensor][] {
  const out: [string, NamedTensor][] = [];
  model.layers.forEach((g, i) => {
    out.push([`layers.${i}.weight`, { shape: weightShape(g), data: params[i].weight }]);
    const b = params[i].bias;
    if (b) out.push([`layers.${i}.bias`, { shape: [g.outC], data: b }]);
  });
  return out;
}

/**
 * Refuses parameters or gradients whose magnitude makes the computation meaningless (limits.ts gives
 * the reasons): one line naming the tensor, the entry and the value.
 */
export function checkMagnitudes(model: Model, tensors: Params, what: string, kind: 'parameters' | 'gradients'): void {
  const limit = kind === 'parameters' ? MAX_ABS_PARAMETER : MAX_ABS_GRADIENT;
  const why = kind === 'parameters'
    ? `parameters of ${limit} or more saturate every smooth activation in float64 (a one-grey-level pixel `
      + `change moves a pre-activation by 39 or more), so nothing can be measured or reconstructed`
    : `a cross-entropy gradient of a model with parameters below ${MAX_ABS_PARAMETER} stays far below `
      + `${limit}: this is not a gradient of this model`;
  model.layers.forEach((_, i) => {
    for (const [name, values] of [['weight', tensors[i].weight], ['bias', tensors[i].bias]] as const) {
      if (!values) continue;
      for (let k = 0; k < values.length; k++) {
        if (Math.abs(values[k]) >= limit) fail(`${what}: layers.${i}.${name}[${k}] is ${values[k]}; ${why}`);
      }
    }
  });
}
