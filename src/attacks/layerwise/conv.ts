import type { ConvGeometry, Kernels } from '../../kernels/kernels.js';
import type { LayerGeometry } from '../../model/chain-spec.js';

/**
 * A layer of the chain view as the kernels' convolution: a linear layer on a C×H×W input is an H×W
 * kernel with a 1×1 output (chain-spec.ts), so one kernel serves both.
 */
export function convGeometry(g: LayerGeometry): ConvGeometry {
  return {
    inC: g.inC, inH: g.inH, inW: g.inW, outC: g.outC, outH: g.outH, outW: g.outW, kh: g.kh, kw: g.kw,
    sh: g.stride, sw: g.stride, ph: g.pad, pw: g.pad,
  };
}

/** dL/dx = Wᵀ dz for one sample (the transposed convolution), with the run's kernels. */
export function layerInputGrad(
  kernels: Kernels, g: LayerGeometry, w: Float64Array, dz: Float64Array,
): Float64Array {
  return kernels.conv2dInputGrad(convGeometry(g), 1, dz, w);
}
