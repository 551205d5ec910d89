/**
 * Image priors for the optimisation attacks, each as value and gradient on a CHW tensor.
 * Total variation as Geiping et al. use it: mean |horizontal differences| + mean |vertical
 * differences| (anisotropic; the gradient uses sign(0) = 0).
 */
export function totalVariation(
  x: Float64Array, shape: readonly [number, number, number],
): { value: number; grad: Float64Array } {
  const [C, H, W] = shape;
  const grad = new Float64Array(x.length);
  const nh = C * H * (W - 1), nv = C * (H - 1) * W;
  let sh = 0, sv = 0;
  for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    const k = (c * H + h) * W + w;
    if (w + 1 < W && nh > 0) {
      const d = x[k] - x[k + 1];
      sh += Math.abs(d);
      const g = Math.sign(d) / nh;
      grad[k] += g;
      grad[k + 1] -= g;
    }
    if (h + 1 < H && nv > 0) {
      const d = x[k] - x[k + W];
      sv += Math.abs(d);
      const g = Math.sign(d) / nv;
      grad[k] += g;
      grad[k + W] -= g;
    }
  }
  return { value: (nh ? sh / nh : 0) + (nv ? sv / nv : 0), grad };
}
