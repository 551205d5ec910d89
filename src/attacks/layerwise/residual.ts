import { addMulTransVec, mulVec } from '../../linalg/sparse.js';
import type { LayerSystem } from '../../solve/system.js';

/**
 * ‖S x̄ − s‖² (weight and padding rows) and ‖G x̄ − g‖² (gradient rows),
 * with gradients in the unpadded x.
 */
export interface ResidualBlocks {
  weight: { value: number; grad: Float64Array };
  gradient: { value: number; grad: Float64Array };
}

export function residualBlocks(sys: LayerSystem, x: Float64Array): ResidualBlocks {
  const { inC, inH, inW, pad } = sys.g;
  const at = (c: number, h: number, w: number) => c * sys.padH * sys.padW + (h + pad) * sys.padW + (w + pad);
  const xp = new Float64Array(sys.n);
  for (let c = 0; c < inC; c++) for (let h = 0; h < inH; h++)
    for (let w = 0; w < inW; w++) xp[at(c, h, w)] = x[(c * inH + h) * inW + w];
  const block = (m: typeof sys.s, rhs: Float64Array) => {
    const r = mulVec(m, xp);
    let value = 0;
    for (let k = 0; k < r.length; k++) { r[k] -= rhs[k]; value += r[k] * r[k]; r[k] *= 2; }
    const gp = new Float64Array(sys.n);
    addMulTransVec(m, r, gp);
    const grad = new Float64Array(x.length);
    for (let c = 0; c < inC; c++) for (let h = 0; h < inH; h++)
      for (let w = 0; w < inW; w++) grad[(c * inH + h) * inW + w] = gp[at(c, h, w)];
    return { value, grad };
  };
  return { weight: block(sys.s, sys.sRhs), gradient: block(sys.grad, sys.gradRhs) };
}
