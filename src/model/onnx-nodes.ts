import { fail } from '../core/errors.js';
import { clip, type OnnxAttribute, type OnnxNode } from '../formats/onnx/model.js';
import { sizeOf } from '../tensor/tensor.js';
import {
  bypass, computed, constant, emit, onlyFirstOutput, type Conversion, type GivenTensor, type NodeValue,
} from './onnx-emit.js';
import { transpose } from './params.js';

/**
 * ONNX operators → gradleak ops, one mapper each. A mapper accepts exactly the attribute values
 * under which the ONNX operator and the gradleak op compute the same thing (ONNX operator docs,
 * opset 13), and refuses any other value with what is supported.
 */

type At = (s: string) => string;
type Mapper = (c: Conversion, n: OnnxNode, at: At) => void;

/** Refuses attributes the mapper does not know: each could change what the node computes. */
function known(n: OnnxNode, at: At, names: readonly string[]): void {
  const extra = [...n.attributes.keys()].find((k) => !names.includes(k));
  if (extra !== undefined) fail(at(`attribute ${clip(extra)} is not supported`
    + `${names.length ? ` (supported: ${names.join(', ')})` : ''}`));
}

/** A list of integers from the file for an error message: at most 8 shown. */
function list(xs: readonly number[]): string {
  return `[${xs.slice(0, 8).join(', ')}${xs.length > 8 ? `, … (${xs.length} in all)` : ''}]`;
}

const KINDS = { i: 'an integer', f: 'a float', s: 'a string' } as const;

/**
 * A single-valued attribute, or undefined when absent. Given as another type (a list for an integer,
 * say), it is refused rather than read as its default: the file means something we would ignore.
 */
function single<K extends keyof typeof KINDS>(n: OnnxNode, name: string, kind: K, at: At): OnnxAttribute[K] {
  const a = n.attributes.get(name);
  if (a && a[kind] === undefined) fail(at(`attribute ${clip(name)} must be ${KINDS[kind]}`));
  return a?.[kind];
}

function intAttr(n: OnnxNode, at: At, name: string, fallback: number): number {
  return single(n, name, 'i', at) ?? fallback;
}

function intsAttr(n: OnnxNode, at: At, name: string, fallback: number[]): number[] {
  const a = n.attributes.get(name);
  if (a && a.ints.length === 0) fail(at(`attribute ${clip(name)} must be a list of integers`));
  return a ? a.ints : fallback;
}

/**
 * A float attribute. ONNX stores them in float32, so PyTorch's eps 1e-5 arrives as 9.99999975e-6;
 * the shortest decimal with the same float32 is the value the exporter was given, and using it
 * keeps the computation identical to PyTorch's and to an equivalent gradleak spec.
 */
function floatAttr(n: OnnxNode, at: At, name: string, fallback: number): number {
  const f = single(n, name, 'f', at);
  if (f === undefined) return fallback;
  for (let digits = 1; digits < 10; digits++) {
    const d = Number(f.toPrecision(digits));
    if (Math.fround(d) === f) return d;
  }
  return f;
}

/** Requires an integer attribute to have one value, saying what is supported. */
function requireInt(n: OnnxNode, at: At, name: string, fallback: number, want: number, why = ''): void {
  const v = intAttr(n, at, name, fallback);
  if (v !== want) fail(at(`${name}=${v} is not supported (only ${name}=${want}${why})`));
}

/** kernel, stride, padding of a 2-D window: explicit symmetric pads, no dilation, no auto_pad. */
function window(n: OnnxNode, at: At, kernel: number[]) {
  const autoPad = single(n, 'auto_pad', 's', at) ?? 'NOTSET';
  if (autoPad !== 'NOTSET') fail(at(`auto_pad=${clip(autoPad)} is not supported (only NOTSET with `
    + 'explicit pads)'));
  if (kernel.length !== 2) fail(at(`a ${kernel.length}-D window is not supported (only 2-D)`));
  const dilations = intsAttr(n, at, 'dilations', [1, 1]);
  if (dilations.some((d) => d !== 1)) fail(at(`dilations ${list(dilations)} are not supported (only 1)`));
  const strides = intsAttr(n, at, 'strides', [1, 1]);
  const pads = intsAttr(n, at, 'pads', [0, 0, 0, 0]);
  if (strides.length !== 2 || pads.length !== 4) fail(at('strides and pads must be given for 2 axes'));
  if (pads[0] !== pads[2] || pads[1] !== pads[3]) fail(at(`asymmetric pads ${list(pads)} are not `
    + 'supported (only begin = end on each axis)'));
  return { kernel: [kernel[0], kernel[1]], stride: strides, padding: [pads[0], pads[1]] };
}

const CONV: Mapper = (c, n, at) => {
  known(n, at, ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']);
  requireInt(n, at, 'group', 1, 1, ': grouped and depthwise convolutions are not');
  const x = computed(c, n, 0, at), w = constant(c, n, 1, at);
  const b = n.inputs[2] ? constant(c, n, 2, at) : null;
  if (w.dims.length !== 4) fail(at(`weight "${clip(w.name)}" is not 4-D (only 2-D convolutions)`));
  const kernel = intsAttr(n, at, 'kernel_shape', w.dims.slice(2));
  if (kernel[0] !== w.dims[2] || kernel[1] !== w.dims[3]) fail(at('kernel_shape differs from the weight'));
  emit(c, n, at, { op: 'conv2d', out: w.dims[0], ...window(n, at, kernel), bias: b !== null }, [x],
    b ? { weight: w, bias: b } : { weight: w });
};

/** Gemm as PyTorch exports nn.Linear: Y = A·Bᵀ + C with B [out, in], C [out]. */
const GEMM: Mapper = (c, n, at) => {
  known(n, at, ['alpha', 'beta', 'transA', 'transB']);
  requireInt(n, at, 'transA', 0, 0);
  requireInt(n, at, 'transB', 0, 1, ', the weight as [out, in] like nn.Linear');
  for (const k of ['alpha', 'beta']) {
    const v = floatAttr(n, at, k, 1);
    if (v !== 1) fail(at(`${k}=${v} is not supported (only 1)`));
  }
  const x = computed(c, n, 0, at), w = constant(c, n, 1, at);
  const b = n.inputs[2] ? constant(c, n, 2, at) : null;
  if (w.dims.length !== 2) fail(at(`weight "${clip(w.name)}" is not 2-D`));
  emit(c, n, at, { op: 'linear', out: w.dims[0], bias: b !== null }, [x],
    b ? { weight: w, bias: b } : { weight: w });
};

/**
 * The one node reading a node's first output, if it is a standard `opType` of `arity` inputs, reads
 * it as input `slot` (−1: any) and nothing else reads it.
 */
function onlyReader(
  c: Conversion, n: OnnxNode, opType: string, arity: number, slot: number,
): OnnxNode | null {
  const y = n.outputs[0], readers = c.readers.get(y) ?? [];
  const r = readers.length === 1 && !c.outputs.has(y) ? readers[0] : null;
  return r && r.opType === opType && r.domain === '' && r.inputs.length === arity
    && (slot < 0 || r.inputs[slot] === y) ? r : null;
}

/**
 * MatMul by a constant [in, out], with the Add of a constant [out] that follows it if it is the
 * product's only reader: a linear layer. Inside, its weight is [out, in], gradleak's (and nn.Linear's)
 * layout; files keep the initializer's name and layout, [in, out], so that the gradient PyTorch
 * computes for the factor loads as it is.
 */
const MATMUL: Mapper = (c, n, at) => {
  known(n, at, []);
  const x = computed(c, n, 0, at), w = constant(c, n, 1, at);
  if (w.dims.length !== 2) fail(at(`the constant factor "${clip(w.name)}" is not 2-D`));
  const [inF, out] = w.dims;
  if (x.shape.length !== 1 || x.shape[0] !== inF) fail(at(`multiplying [batch, ${x.shape.join(', ')}] by `
    + `"${clip(w.name)}" [${inF}, ${out}] is not supported (only [batch, ${inF}] by [${inF}, ${out}])`));
  const weight: GivenTensor = {
    ...w, dims: [out, inF], values: transpose(w.values, inF, out), transposed: true,
  };
  const add = onlyReader(c, n, 'Add', 2, -1);
  const biasAt = add ? add.inputs.findIndex((i) => i !== n.outputs[0]) : -1;
  const bias = add && biasAt >= 0 ? c.values.get(add.inputs[biasAt]) : undefined;
  if (add && bias?.kind === 'const' && bias.tensor.dims.length === 1) {
    c.absorbed.add(add);
    emit(c, n, at, { op: 'linear', out, bias: true }, [x], { weight, bias: bias.tensor }, add.outputs[0]);
  } else emit(c, n, at, { op: 'linear', out, bias: false }, [x], { weight });
};

const ADD: Mapper = (c, n, at) => {
  known(n, at, []);
  const [a, b] = [0, 1].map((i) => c.values.get(n.inputs[i]));
  if (a?.kind !== 'node' || b?.kind !== 'node') fail(at('adding a constant is supported only as the bias '
    + 'of a MatMul (a linear layer); Add is otherwise the sum of two computed values (a residual)'));
  emit(c, n, at, { op: 'add' }, [a, b]);
};

function simple(op: string): Mapper {
  return (c, n, at) => {
    known(n, at, []);
    emit(c, n, at, { op }, [computed(c, n, 0, at)]);
  };
}

const LEAKY_RELU: Mapper = (c, n, at) => {
  known(n, at, ['alpha']);
  emit(c, n, at, { op: 'leaky_relu', slope: floatAttr(n, at, 'alpha', 0.01) }, [computed(c, n, 0, at)]);
};

/**
 * A pooling node; `zeros` is the padding of a Pad node before it (torch writes a count-including
 * AvgPool2d as Pad + AveragePool), which becomes the pool's own: padded zeros count in the mean.
 */
function pool(op: 'max_pool2d' | 'avg_pool2d', zeros: [number, number] | null = null): Mapper {
  const attrs = ['auto_pad', 'ceil_mode', 'kernel_shape', 'pads', 'strides'];
  return (c, n, at) => {
    const own = op === 'max_pool2d' ? ['dilations', 'storage_order'] : ['count_include_pad'];
    known(n, at, [...attrs, ...own]);
    onlyFirstOutput(c, n, at);
    requireInt(n, at, 'ceil_mode', 0, 0, ', floor as PyTorch\'s default');
    requireInt(n, at, 'storage_order', 0, 0);
    const kernel = n.attributes.get('kernel_shape')?.ints;
    if (!kernel) fail(at('kernel_shape is required'));
    const w = window(n, at, kernel);
    // gradleak's mean divides by the whole window, padding included (PyTorch's default)
    if (op === 'avg_pool2d' && w.padding.some((p) => p > 0)) {
      requireInt(n, at, 'count_include_pad', 0, 1, ' when padded: the mean is over the whole window');
    }
    if (!zeros) {
      emit(c, n, at, { op, ...w }, [computed(c, n, 0, at)]);
      return;
    }
    if (w.padding.some((p) => p > 0)) fail(at('padding after a Pad node is not supported'));
    emit(c, n, at, { op, ...w, padding: zeros }, [computed(c, n, 0, at)]);
  };
}

/**
 * Pad by zeros on height and width, equal on both sides, read only by an AveragePool: the two are
 * one padded mean pooling (how torch 1.13 exports nn.AvgPool2d with count_include_pad, its default).
 */
const PAD: Mapper = (c, n, at) => {
  known(n, at, ['mode']);
  const mode = single(n, 'mode', 's', at) ?? 'constant';
  const avg = onlyReader(c, n, 'AveragePool', 1, 0);
  const x = computed(c, n, 0, at), pads = [...constant(c, n, 1, at).values];
  const value = n.inputs[2] ? constant(c, n, 2, at).values[0] : 0;
  const [ph, pw] = [pads[2], pads[3]];
  // opset 18's axes input would say which axes the pads are for
  const ok = mode === 'constant' && value === 0 && pads.length === 8 && pads[0] === 0 && pads[1] === 0
    && pads[4] === 0 && pads[5] === 0 && pads[6] === ph && pads[7] === pw && ph >= 0 && pw >= 0
    && !n.inputs[3];
  if (!avg || !ok) fail(at('Pad is supported only as zeros on height and width, equal on both sides, '
    + `all axes, read only by an AveragePool (torch's AvgPool2d); got mode ${clip(mode)}, pads ${list(pads)}`
    + `${n.inputs[3] ? ', axes' : ''}`));
  c.absorbed.add(avg);
  c.values.set(n.outputs[0], x);
  pool('avg_pool2d', [ph, pw])(c, avg, (s) => at(`with the AveragePool "${clip(avg.name)}" after it: ${s}`));
};

const BATCH_NORM: Mapper = (c, n, at) => {
  known(n, at, ['epsilon', 'momentum', 'training_mode']);
  requireInt(n, at, 'training_mode', 0, 0, ': the graph computes its statistics with --bn-mode');
  onlyFirstOutput(c, n, at);
  const [weight, bias, mean, variance] = [1, 2, 3, 4].map((i) => constant(c, n, i, at));
  emit(c, n, at, { op: 'batch_norm2d', eps: floatAttr(n, at, 'epsilon', 1e-5) }, [computed(c, n, 0, at)],
    { weight, bias, running_mean: mean, running_var: variance });
};

/** Flatten from axis 1 (per sample), or nothing to do when each sample is already flat. */
function flatten(c: Conversion, n: OnnxNode, at: At, x: NodeValue): void {
  if (x.shape.length === 1) bypass(c, n, at);
  else emit(c, n, at, { op: 'flatten' }, [x]);
}

const FLATTEN: Mapper = (c, n, at) => {
  known(n, at, ['axis']);
  requireInt(n, at, 'axis', 1, 1, ': each sample flattened');
  flatten(c, n, at, computed(c, n, 0, at));
};

/** Reshape when it flattens each sample: to [-1, C·H·W], [0, -1] or [0, C·H·W]. */
const RESHAPE: Mapper = (c, n, at) => {
  known(n, at, ['allowzero']);
  requireInt(n, at, 'allowzero', 0, 0);
  const x = computed(c, n, 0, at), to = [...constant(c, n, 1, at).values];
  const size = sizeOf(x.shape);
  const flattens = to.length === 2 && ((to[0] === -1 && to[1] === size)
    || (to[0] === 0 && (to[1] === -1 || to[1] === size)));
  if (!flattens) fail(at(`reshaping [batch, ${x.shape.join(', ')}] to ${list(to)} is not supported `
    + `(only flattening each sample: [-1, ${size}] or [0, -1])`));
  flatten(c, n, at, x);
};

const DROPOUT: Mapper = (c, n, at) => {
  known(n, at, ['seed']);
  onlyFirstOutput(c, n, at);
  if (n.inputs[2]) {
    const training = constant(c, n, 2, at);
    if (training.values.some((v) => v !== 0)) fail(at('training_mode=true is not supported '
      + '(export in eval mode: dropout is then the identity)'));
  }
  bypass(c, n, at);
};

const IDENTITY: Mapper = (c, n, at) => {
  known(n, at, []);
  bypass(c, n, at);
};

const CONSTANT: Mapper = (c, n, at) => {
  known(n, at, ['value']);
  const t = n.attributes.get('value')?.t;
  if (!t) fail(at('only a tensor "value" is supported'));
  c.values.set(n.outputs[0], { kind: 'const', tensor: { ...t, name: n.outputs[0] } });
};

export const MAPPERS: Readonly<Record<string, Mapper>> = {
  Conv: CONV, Gemm: GEMM, MatMul: MATMUL, Add: ADD, Relu: simple('relu'), LeakyRelu: LEAKY_RELU,
  Tanh: simple('tanh'), Sigmoid: simple('sigmoid'), Softplus: simple('softplus'),
  MaxPool: pool('max_pool2d'), AveragePool: pool('avg_pool2d'), GlobalAveragePool: simple('global_avg_pool'),
  Pad: PAD, BatchNormalization: BATCH_NORM, Flatten: FLATTEN, Reshape: RESHAPE, Dropout: DROPOUT,
  Identity: IDENTITY, Constant: CONSTANT,
};

export const SUPPORTED = 'Conv, Gemm, MatMul (+ Add), Relu, LeakyRelu, Tanh, Sigmoid, Softplus, MaxPool, '
  + 'AveragePool (after a zero Pad too), GlobalAveragePool, BatchNormalization, Add, Flatten, '
  + 'Reshape (flattening), Dropout, Identity, Constant';
