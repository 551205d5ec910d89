import type { AuditSource } from '../analysis/audit.js';
import { fail } from '../core/errors.js';
import { fitBitmap, REFERENCE_NORMALISATION, type Bitmap } from '../formats/image.js';
import type { Graph } from '../model/graph.js';
import type { ServerPayload, SharedUpdate } from '../threat/payload.js';
import { randomClientImage } from './audit.js';
import { playClient } from './attack.js';
import { imageBatch, imageTargets, modelFromBytes, presetModel, resolveParams, unknownModelMessage,
  updateFromBytes } from './inputs.js';

/**
 * One image, one model, as a page chooses them: the model (a preset or a file's bytes), optional
 * weights and shared gradients (safetensors bytes), and the client's image, fitted to the model's
 * input. Reference normalisation and batch statistics (the CLI's defaults).
 */
export interface SessionInputs {
  model: { preset: string } | { file: { name: string; bytes: Uint8Array } };
  weights?: { name: string; bytes: Uint8Array };
  gradients?: { name: string; bytes: Uint8Array };
  image?: { source: string; bitmap: Bitmap };
  label: number;
  seed: number;
  maxBytes: number;
}

export interface Session {
  payload: ServerPayload;
  /** The update the attacker sees: the file's, or the client's gradients of the image. */
  update: SharedUpdate;
  /** The image on [0, 1] when known (evaluation only), and as a bitmap at the model's size. */
  targets: Float64Array | null;
  target: Bitmap | null;
  audit: AuditSource;
}

export function modelOf(m: SessionInputs['model'], maxBytes: number): Graph {
  if ('preset' in m) return presetModel(m.preset) ?? fail(unknownModelMessage(m.preset));
  return modelFromBytes(m.file.name, m.file.bytes, maxBytes / 3);
}

export function openSession(s: SessionInputs): Session {
  const model = modelOf(s.model, s.maxBytes);
  const weights = s.weights ? { bytes: s.weights.bytes, source: s.weights.name } : null;
  const params = resolveParams(model, weights, s.seed);
  const payload: ServerPayload = { model, params, normalisation: REFERENCE_NORMALISATION, bnMode: 'train' };
  const shape = model.input as [number, number, number];
  const fitted = s.image ? { source: s.image.source, bitmap: fitBitmap(s.image.bitmap, shape) } : null;
  const image = fitted ? imageBatch([fitted], model, payload.normalisation) : null;
  const targets = fitted ? imageTargets([fitted], model, payload.normalisation) : null;
  if (s.gradients) {
    const update = updateFromBytes(s.gradients.bytes, s.gradients.name, model, 1);
    return { payload, update, targets, target: fitted?.bitmap ?? null, audit: { kind: 'gradients', update } };
  }
  const client = image ?? randomClientImage(model, s.seed);
  const update = playClient({
    payload, images: client, labels: [s.label], defences: [], seed: s.seed, revealLabels: false,
  });
  return {
    payload, update, targets, target: fitted?.bitmap ?? null,
    audit: { kind: 'image', image: client, label: s.label },
  };
}
