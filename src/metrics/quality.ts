/**
 * Image quality on the [0,1] scale. PSNR uses peak 1, the range of the data. (The authors' code
 * uses peak 255 on [0,1] data, which adds 20·log10(255) ≈ 48.13 dB; see docs/METHOD.md.)
 */
export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

export function psnr(a: ArrayLike<number>, b: ArrayLike<number>, peak = 1): number {
  return 10 * Math.log10((peak * peak) / mse(a, b));
}

export const PSNR_PEAK_255_OFFSET_DB = 20 * Math.log10(255);

/**
 * SSIM (Wang et al. 2004): Gaussian window 11×11, σ = 1.5, K1 = 0.01, K2 = 0.03, data range 1;
 * computed over the positions where the window fits, per channel, then averaged. Images are CHW.
 */
export function ssim(
  a: ArrayLike<number>, b: ArrayLike<number>, shape: readonly [number, number, number],
): number {
  const [C, H, W] = shape;
  const size = Math.min(11, H, W), sigma = 1.5;
  const win = new Float64Array(size);
  const half = (size - 1) / 2;
  for (let i = 0; i < size; i++) win[i] = Math.exp(-((i - half) ** 2) / (2 * sigma * sigma));
  const wsum = win.reduce((s, v) => s + v, 0);
  for (let i = 0; i < size; i++) win[i] /= wsum;
  const c1 = 0.01 ** 2, c2 = 0.03 ** 2;
  let total = 0, count = 0;
  for (let c = 0; c < C; c++) {
    const off = c * H * W;
    for (let y = 0; y + size <= H; y++) for (let x = 0; x + size <= W; x++) {
      let ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
      for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) {
        const wt = win[i] * win[j];
        const va = a[off + (y + i) * W + x + j], vb = b[off + (y + i) * W + x + j];
        ma += wt * va; mb += wt * vb; saa += wt * va * va; sbb += wt * vb * vb; sab += wt * va * vb;
      }
      const va = saa - ma * ma, vb = sbb - mb * mb, cov = sab - ma * mb;
      total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      count++;
    }
  }
  return total / count;
}

export interface Quality { mse: number; psnr: number; psnrClipped: number; ssim: number }

/** Quality of a reconstruction against a target, both on [0,1] in CHW. */
export function quality(
  recon: ArrayLike<number>, target: ArrayLike<number>, shape: readonly [number, number, number],
): Quality {
  const clipped = Float64Array.from(recon, (v) => Math.min(1, Math.max(0, v)));
  return {
    mse: mse(recon, target), psnr: psnr(recon, target), psnrClipped: psnr(clipped, target),
    ssim: ssim(clipped, target, shape),
  };
}

export interface BatchQuality {
  /** The mean over the batch's pairs. */
  mean: Quality;
  /**
   * For each reconstruction, in order: the target it was paired with and the quality of the pair.
   * With more reconstructions than targets (a secure-aggregation crowd), only the paired ones, each
   * naming its `reconstruction`.
   */
  pairs: (Quality & { target: number; reconstruction?: number })[];
}

/**
 * Quality of a batch of reconstructions against a batch of targets (both [B, C, H, W] on [0,1]).
 * A batch attack does not know which image is which (labels come sorted), so each reconstruction is
 * paired with a target first: greedily, the pair with the highest PSNR among those left. An attack
 * on a crowd's sum returns `reconCount` ≥ B images, of which the B paired are scored.
 */
export function batchQuality(
  recon: Float64Array, targets: Float64Array, batch: number, shape: readonly [number, number, number],
  reconCount = batch,
): BatchQuality {
  const n = shape[0] * shape[1] * shape[2];
  const at = (a: Float64Array, i: number) => a.subarray(i * n, (i + 1) * n);
  const scores: [number, number, number][] = [];
  for (let r = 0; r < reconCount; r++)
    for (let t = 0; t < batch; t++) scores.push([psnr(at(recon, r), at(targets, t)), r, t]);
  scores.sort((a, b) => b[0] - a[0] || a[1] - b[1] || a[2] - b[2]);
  const targetOf = new Array<number>(reconCount).fill(-1), taken = new Uint8Array(batch);
  for (const [, r, t] of scores) if (targetOf[r] < 0 && !taken[t]) { targetOf[r] = t; taken[t] = 1; }
  const crowd = reconCount > batch;
  const pairs = targetOf.flatMap((t, r) => (t < 0 ? [] : [{
    target: t, ...(crowd ? { reconstruction: r } : {}), ...quality(at(recon, r), at(targets, t), shape),
  }]));
  const avg = (k: keyof Quality) => pairs.reduce((s, p) => s + p[k], 0) / batch;
  return {
    mean: { mse: avg('mse'), psnr: avg('psnr'), psnrClipped: avg('psnrClipped'), ssim: avg('ssim') }, pairs,
  };
}
