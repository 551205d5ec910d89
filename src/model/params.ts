import { fail } from '../core/errors.js';
import { MAX_ABS_GRADIENT, MAX_ABS_PARAMETER } from '../core/limits.js';
import { Rng } from '../core/rng.js';
import type { NamedTensor } from '../formats/safetensors.js';
import { formatShape, sameShape, sizeOf } from '../tensor/tensor.js';
import type { Graph, ParamInfo, ParamMap } from './graph.js';

/**
 * Parameter values by name, to and from named tensors (safetensors), and PyTorch's default
 * initialisation from a seed.
 */

/** PyTorch-style initialisation, seeded: every tensor in node order, each value from its declared rule. */
export function initParams(g: Graph, seed: number): Map<string, Float64Array> {
  const rng = new Rng(seed);
  const uniform = () => 2 * rng.uniform() - 1;
  const out = new Map<string, Float64Array>();
  for (const p of g.params) {
    const v = new Float64Array(sizeOf(p.shape));
    for (let i = 0; i < v.length; i++) v[i] = p.decl.init(uniform);
    out.set(p.name, v);
  }
  return out;
}

/** Tensors PyTorch's state_dict holds beside a model's own, which carry nothing gradleak uses. */
const IGNORED = /\.num_batches_tracked$/;

/**
 * Maps named tensors onto the model: every tensor it needs (all of them for weights, the trainable
 * ones for gradients) with its exact shape; a tensor the model does not have is refused, so that a
 * file for another model (or another naming) does not load half-way.
 */
export function paramsFromTensors(
  g: Graph, tensors: ReadonlyMap<string, NamedTensor>, what: string, kind: 'weights' | 'gradients',
): Map<string, Float64Array> {
  const wanted = g.params.filter((p) => kind === 'weights' || p.trainable);
  const out = new Map<string, Float64Array>();
  for (const p of wanted) {
    const t = tensors.get(fileName(p));
    if (!t) fail(`${what}: missing tensor ${fileName(p)}`
      + `${kind === 'weights' && !p.trainable ? ' (a buffer: batch-norm running statistics)' : ''}`);
    if (!sameShape(t.shape, fileShape(p))) fail(`${what}: ${fileName(p)} has shape `
      + `${formatShape(t.shape)}, the model needs ${formatShape(fileShape(p))}`
      + `${p.transposed ? ' (transposed, as the ONNX MatMul factor)' : ''}`);
    out.set(p.name, p.transposed ? transpose(t.data, t.shape[0], t.shape[1]) : t.data);
  }
  const known = new Set(wanted.map(fileName));
  const extra = [...tensors.keys()].find((n) => !known.has(n) && !IGNORED.test(n));
  if (extra !== undefined) {
    const buffer = g.params.some((p) => fileName(p) === extra);
    fail(`${what}: tensor ${JSON.stringify(extra.slice(0, 80))} is `
      + `${buffer ? 'a buffer, which has no gradient' : 'not a tensor of this model'}`);
  }
  return out;
}

/** Named tensors in node order: every tensor, or the trainable ones (gradients). */
export function tensorsFromParams(
  g: Graph, values: ParamMap, kind: 'weights' | 'gradients',
): [string, NamedTensor][] {
  return g.params.filter((p) => kind === 'weights' || p.trainable).map((p) => {
    const data = values.get(p.name)!;
    return [fileName(p), {
      shape: [...fileShape(p)], data: p.transposed ? transpose(data, p.shape[0], p.shape[1]) : data,
    }];
  });
}

/** A tensor's name in files: its own, or the one its model gave it (an ONNX initializer's). */
export function fileName(p: ParamInfo): string {
  return p.file ?? p.name;
}

/** A tensor's shape in files: its own, reversed for one that files hold transposed. */
export function fileShape(p: ParamInfo): readonly number[] {
  return p.transposed ? [...p.shape].reverse() : p.shape;
}

/** The transpose of a row-major [rows, cols] matrix. */
export function transpose(m: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}

/**
 * Refuses parameters or gradients whose magnitude makes the computation meaningless (core/limits.ts
 * gives the reasons): one line naming the tensor, the entry and the value.
 */
export function checkMagnitudes(
  values: ParamMap, what: string, kind: 'parameters' | 'gradients', g?: Graph,
): void {
  // errors name tensors and entries as files do (an ONNX initializer's name and layout)
  const files = new Map(g?.params.map((p): [string, ParamInfo] => [p.name, p]));
  const limit = kind === 'parameters' ? MAX_ABS_PARAMETER : MAX_ABS_GRADIENT;
  const why = kind === 'parameters'
    ? `parameters of ${limit} or more saturate every smooth activation in float64 `
      + '(a one-grey-level pixel change moves a pre-activation by 39 or more), '
      + 'so nothing can be measured or reconstructed'
    : `a cross-entropy gradient of a model with parameters below ${MAX_ABS_PARAMETER} `
      + `stays far below ${limit}: this is not a gradient of this model`;
  for (const [key, v] of values) {
    const p = files.get(key);
    const name = p ? fileName(p) : key;
    // entry k of [out, in] is entry (k mod in)·out + ⌊k / in⌋ of the file's [in, out]
    const at = (k: number) => (p?.transposed
      ? (k % p.shape[1]) * p.shape[0] + Math.floor(k / p.shape[1]) : k);
    for (let k = 0; k < v.length; k++) {
      if (!Number.isFinite(v[k])) fail(
        `${what}: ${name} contains a non-finite value (${v[k]}) at index ${at(k)}`);
      if (Math.abs(v[k]) >= limit) fail(`${what}: ${name}[${at(k)}] is ${v[k]}; ${why}`);
    }
  }
}
