import { fail } from '../core/errors.js';
import { updateFromMetadata } from '../defences/declaration.js';
import { bitmapToTensor, toUnitRange, type Bitmap, type Normalisation } from '../formats/image.js';
import { parseSafetensorsFile } from '../formats/safetensors.js';
import type { Graph, ParamMap } from '../model/graph.js';
import { importOnnx } from '../model/onnx-import.js';
import { checkMagnitudes, initParams, paramsFromTensors } from '../model/params.js';
import { graphFromJson, presetGraph, presetNames } from '../model/presets.js';
import type { Tensor } from '../tensor/tensor.js';
import type { SharedUpdate } from '../threat/payload.js';

/**
 * What the CLI reads from files and the web app from the File API, as bytes in and checked objects
 * out: models, weights, shared updates and images. The callers only fetch the bytes.
 */

/** A preset by name, or null. */
export function presetModel(name: string): Graph | null {
  return presetGraph(name);
}

/** A model file's bytes: an ONNX model (by its .onnx name) or a graph/chain spec in JSON. */
export function modelFromBytes(fileName: string, bytes: Uint8Array, maxBytes = Infinity): Graph {
  if (fileName.toLowerCase().endsWith('.onnx')) {
    const name = fileName.replace(/^.*[\\/]/, '').replace(/\.onnx$/i, '');
    return importOnnx(bytes, name, `model ${fileName}`, 2 * maxBytes);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    fail(`model spec ${fileName} is not valid JSON: ${(e as Error).message}`);
  }
  return graphFromJson(raw, fileName);
}

/** The message for a model reference that is none of the presets. */
export function unknownModelMessage(ref: string): string {
  const some = presetNames().slice(0, 7).map((p) => p.name).join(', ');
  return `unknown model "${ref.slice(0, 60)}": not a preset (${some}, ...; see 'gradleak models') `
    + 'nor a spec or .onnx file';
}

/**
 * The weights: a safetensors file's (bytes), else the model's own (an ONNX file's initializers), else
 * seeded PyTorch-style initialisation.
 */
export function resolveParams(
  model: Graph, weights: { bytes: Uint8Array; source: string } | null, seed: number,
): ParamMap {
  if (!weights && model.weights) {
    checkMagnitudes(model.weights, `model ${model.name}`, 'parameters', model);
    return model.weights;
  }
  if (!weights) return initParams(model, seed);
  const what = `weights ${weights.source}`;
  const params = paramsFromTensors(model, parseSafetensorsFile(weights.bytes, what).tensors, what, 'weights');
  checkMagnitudes(params, what, 'parameters', model);
  return params;
}

/**
 * A shared update from a safetensors file's bytes: its tensors by parameter name, read as its metadata
 * declares (gradients, or a weight delta; the defences in force: defences/declaration.ts).
 */
export function updateFromBytes(bytes: Uint8Array, source: string, model: Graph, batch: number): SharedUpdate {
  const what = `gradients ${source}`;
  const { tensors, metadata } = parseSafetensorsFile(bytes, what);
  const g = paramsFromTensors(model, tensors, what, 'gradients');
  checkMagnitudes(g, what, 'gradients', model);
  return updateFromMetadata(g, metadata, batch, what);
}

/** Decoded images as one batch [N, C, H, W] in the model's input space. */
export function imageBatch(
  images: readonly { bitmap: Bitmap; source: string }[], model: Graph, norm: Normalisation,
): Tensor {
  const [c, h, w] = model.input;
  const data = new Float64Array(images.length * c * h * w);
  images.forEach((img, i) => data.set(
    bitmapToTensor(img.bitmap, [c, h, w], norm, `image ${img.source}`), i * c * h * w));
  return { shape: [images.length, c, h, w], data };
}

/** The same images on the [0, 1] scale, for evaluation. */
export function imageTargets(
  images: readonly { bitmap: Bitmap; source: string }[], model: Graph, norm: Normalisation,
): Float64Array {
  return toUnitRange(imageBatch(images, model, norm).data, norm);
}
