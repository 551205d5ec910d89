import { assertFinite, fail } from '../core/errors.js';
import { type Model, type LayerGeometry, weightSize, weightShape } from './chain-spec.js';

/**
 * Per-layer tensors of a chain model (model/chain.ts makes them from parameters by name): what the
 * layer-wise analysis works on. Forward and backward passes are the graph engine's (model/).
 */
export interface LayerTensors {
  weight: Float64Array;
  bias: Float64Array | null;
}

export type Params = LayerTensors[];

/** Checks that tensors fit the model (count, sizes, finiteness); `what` names them in errors. */
export function checkTensors(model: Model, tensors: Params, what: string): void {
  if (tensors.length !== model.layers.length) fail(
    `${what}: expected ${model.layers.length} layers, got ${tensors.length}`);
  model.layers.forEach((g, i) => {
    // a residual block's tensors are its convolutions', checked against the graph (threat/)
    if (g.block) return;
    const t = tensors[i];
    if (t.weight.length !== weightSize(g)) {
      fail(`${what}: layers.${i}.weight has ${t.weight.length} values, `
        + `the model needs shape [${weightShape(g).join(',')}]`);
    }
    if (g.bias && (!t.bias || t.bias.length !== g.outC)) fail(
      `${what}: layers.${i}.bias must have ${g.outC} values`);
    assertFinite(t.weight, `${what}: layers.${i}.weight`);
    if (t.bias) assertFinite(t.bias, `${what}: layers.${i}.bias`);
  });
}

/** Pulls dL/d(output of layer i) back to dL/dz_i through the activation's derivative. */
export function throughActivation(g: LayerGeometry, da: Float64Array, z: Float64Array): Float64Array {
  const dz = new Float64Array(da.length);
  for (let k = 0; k < da.length; k++) dz[k] = da[k] * g.activation.df(z[k]);
  return dz;
}
