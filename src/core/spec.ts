import { ACTIVATIONS, type ActivationName, makeActivation, type Activation } from './activations.js';
import { fail } from './errors.js';

export interface ConvLayerSpec {
  type: 'conv';
  out: number;
  kernel: number;
  stride: number;
  padding: number;
  bias: boolean;
  activation: ActivationName;
  slope?: number;
}

export interface LinearLayerSpec {
  type: 'linear';
  out: number;
  bias: boolean;
  activation: ActivationName;
  slope?: number;
}

export type LayerSpec = ConvLayerSpec | LinearLayerSpec;

export interface ModelSpec {
  name: string;
  input: [number, number, number];
  classes?: number;
  layers: LayerSpec[];
}

/**
 * Every layer seen as a convolution on a padded input. A linear layer on a [C,H,W] input flattened in
 * C,H,W order is exactly a convolution with an H×W kernel and a 1×1 output, so one set of kernels and
 * one system builder serve both.
 */
export interface LayerGeometry {
  index: number;
  type: 'conv' | 'linear';
  inC: number; inH: number; inW: number;
  outC: number; outH: number; outW: number;
  kh: number; kw: number;
  stride: number;
  pad: number;
  bias: boolean;
  activation: Activation;
}

export interface Model {
  spec: ModelSpec;
  layers: LayerGeometry[];
  classes: number;
}

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
const isNonNegInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Validates a parsed JSON value as a model spec; every problem is one clear InputError. */
export function parseSpec(raw: unknown, source = 'model spec'): ModelSpec {
  const where = (s: string) => `${source}: ${s}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where('must be a JSON object'));
  const o = raw as Record<string, unknown>;
  const input = o.input;
  if (!Array.isArray(input) || input.length !== 3 || !input.every(isPosInt)) {
    fail(where('"input" must be [C, H, W] with positive integers'));
  }
  if (!Array.isArray(o.layers) || o.layers.length === 0) fail(where('"layers" must be a non-empty array'));
  const layers = o.layers.map((l, i) => parseLayer(l, (s) => where(`layer ${i}: ${s}`)));
  const name = typeof o.name === 'string' ? o.name : 'model';
  const spec: ModelSpec = { name, input: input as [number, number, number], layers };
  if (o.classes !== undefined) {
    if (!isPosInt(o.classes)) fail(where('"classes" must be a positive integer'));
    spec.classes = o.classes;
  }
  buildModel(spec, source); // shape errors surface here, once
  return spec;
}

function parseLayer(raw: unknown, where: (s: string) => string): LayerSpec {
  if (typeof raw !== 'object' || raw === null) fail(where('must be an object'));
  const l = raw as Record<string, unknown>;
  const activation = l.activation ?? 'identity';
  if (typeof activation !== 'string' || !(ACTIVATIONS as readonly string[]).includes(activation)) {
    fail(where(`unknown activation ${JSON.stringify(activation)} (expected one of ${ACTIVATIONS.join(', ')})`));
  }
  if (!isPosInt(l.out)) fail(where('"out" must be a positive integer'));
  if (l.bias !== undefined && typeof l.bias !== 'boolean') fail(where('"bias" must be true or false'));
  if (l.slope !== undefined && (typeof l.slope !== 'number' || !(l.slope > 0))) fail(where('"slope" must be a positive number'));
  const common = { out: l.out, bias: l.bias === undefined ? true : l.bias, activation: activation as ActivationName, ...(l.slope !== undefined ? { slope: l.slope as number } : {}) };
  if (l.type === 'linear') return { type: 'linear', ...common };
  if (l.type === 'conv') {
    if (!isPosInt(l.kernel)) fail(where('"kernel" must be a positive integer'));
    const stride = l.stride ?? 1;
    const padding = l.padding ?? 0;
    if (!isPosInt(stride)) fail(where('"stride" must be a positive integer'));
    if (!isNonNegInt(padding)) fail(where('"padding" must be a non-negative integer'));
    return { type: 'conv', ...common, kernel: l.kernel, stride, padding };
  }
  fail(where(`"type" must be "conv" or "linear", got ${JSON.stringify(l.type)}`));
}

/** Derives every layer's geometry; throws if a layer does not fit its input. */
export function buildModel(spec: ModelSpec, source = spec.name): Model {
  let [c, h, w] = spec.input;
  const layers: LayerGeometry[] = spec.layers.map((l, index) => {
    const activation = makeActivation(l.activation, l.slope ?? 0.01);
    let g: LayerGeometry;
    if (l.type === 'conv') {
      const hp = h + 2 * l.padding, wp = w + 2 * l.padding;
      if (l.kernel > hp || l.kernel > wp) fail(`${source}: layer ${index}: kernel ${l.kernel} is larger than its padded input ${hp}×${wp}`);
      g = {
        index, type: 'conv', inC: c, inH: h, inW: w, outC: l.out,
        outH: Math.floor((hp - l.kernel) / l.stride) + 1, outW: Math.floor((wp - l.kernel) / l.stride) + 1,
        kh: l.kernel, kw: l.kernel, stride: l.stride, pad: l.padding, bias: l.bias, activation,
      };
    } else {
      g = { index, type: 'linear', inC: c, inH: h, inW: w, outC: l.out, outH: 1, outW: 1, kh: h, kw: w, stride: 1, pad: 0, bias: l.bias, activation };
    }
    [c, h, w] = [g.outC, g.outH, g.outW];
    return g;
  });
  const last = layers[layers.length - 1];
  const classes = last.outC * last.outH * last.outW;
  if (spec.classes !== undefined && spec.classes !== classes) {
    fail(`${source}: "classes" is ${spec.classes} but the last layer has ${classes} outputs`);
  }
  return { spec, layers, classes };
}

export const inputSize = (g: LayerGeometry) => g.inC * g.inH * g.inW;
export const outputSize = (g: LayerGeometry) => g.outC * g.outH * g.outW;
export const weightSize = (g: LayerGeometry) => g.outC * g.inC * g.kh * g.kw;
export const weightShape = (g: LayerGeometry): number[] => (g.type === 'linear' ? [g.outC, g.inC * g.inH * g.inW] : [g.outC, g.inC, g.kh, g.kw]);
