import { fail } from './errors.js';
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
