import { fail } from '../core/errors.js';
import { JS_KERNELS } from '../kernels/js/index.js';
import { batchGradients } from '../model/gradients.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DefenceRecord, ServerPayload } from '../threat/payload.js';
import { noiseGains, type LayerNoiseGain, type NoiseGainSettings } from './noise.js';

/**
 * What Gaussian noise on the shared gradients does to rgap, predicted from the layer systems (the
 * audit's `--defence noise:…`). The client clips its gradient g to norm C (a scale s = min(1, C/‖g‖))
 * and adds N(0, (z·C)²) per entry. rgap's solution does not change when every gradient is scaled by
 * the same factor (each layer's equations are homogeneous in the gradients), so the noise acts as if
 * its standard deviation were σ = z·C/s on the unclipped gradient; each layer's predicted error is its
 * gain per unit σ (noise.ts) times σ.
 */
export interface NoiseView {
  z: number;
  clip: number;
  /** ‖g‖ over every trainable tensor, before clipping. */
  gradientNorm: number;
  /** The clipping's scale s. */
  clipScale: number;
  /** The noise standard deviation as seen by the unclipped gradient: z·C/s. */
  sigma: number;
  layers: (LayerNoiseGain & { predictedError: number | null })[];
  /** rgap's predicted RMS error on the input (layer 0), in the model's input units; null when unknown. */
  inputError: number | null;
  /** The PSNR that error alone gives, against the pixel range in input units (the normalisation's scale). */
  predictedPsnr: number | null;
}

/** The noise record of an audit's --defence chain: one `noise` defence, nothing else. */
export function noiseRecord(chain: readonly DefenceRecord[]): DefenceRecord {
  const names = chain.map((r) => r.name);
  if (chain.length !== 1 || names[0] !== 'noise') fail(
    `the audit's defence view covers one noise:… defence (its clipping included); got ${names.join(', ')}. `
    + 'Other defences: gradleak attack --defence … or gradleak defend');
  return chain[0];
}

export function noiseView(
  payload: ServerPayload, image: Tensor, label: number, record: DefenceRecord, settings: NoiseGainSettings = {},
): NoiseView {
  const z = record.params.z as number, clip = record.params.clip as number;
  const { gradients } = batchGradients(
    settings.kernels ?? JS_KERNELS, payload.model, payload.params, image, [label], payload.bnMode);
  let sum = 0;
  for (const g of gradients.values()) for (const v of g) sum += v * v;
  const gradientNorm = Math.sqrt(sum);
  if (!(gradientNorm > 0)) fail('the noise view needs a non-zero gradient (this image and label give none)');
  const clipScale = Math.min(1, clip / gradientNorm);
  const sigma = (z * clip) / clipScale;
  const layers = noiseGains(payload, image, label, { ...settings, gradients })
    .map((l) => ({ ...l, predictedError: l.predicted === null ? null : l.predicted * sigma }));
  const inputError = layers[0]?.predictedError ?? null;
  const range = payload.normalisation.scale;
  return {
    z, clip, gradientNorm, clipScale, sigma, layers, inputError,
    predictedPsnr: inputError === null || !(inputError > 0) ? null : 20 * Math.log10(range / inputError),
  };
}
