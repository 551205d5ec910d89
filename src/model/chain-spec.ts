import { ACTIVATIONS, type ActivationName, makeActivation, type Activation } from './chain-activations.js';
import { fail } from '../core/errors.js';
import type { PoolGeometry } from '../kernels/kernels.js';
import { poolGeometry, type PoolAttrs } from '../ops/pool-window.js';
import type { ResidualBlock } from './blocks.js';
import {
  MAX_ARRAY_ELEMENTS, MAX_FEATURES, MAX_LAYERS, MAX_SPATIAL, MAX_WINDOW, SLOPE_RANGE,
} from '../core/limits.js';

/** Max or mean pooling (global mean pooling is mean pooling over the whole plane). */
export type PoolKind = 'max' | 'avg';

export interface ConvLayerSpec {
  type: 'conv';
  out: number;
  kernel: number;
  stride: number;
  padding: number;
  bias: boolean;
  activation: ActivationName;
  slope?: number;
  /** A pooling after the activation (only in a graph's chain view; chain spec files have none). */
  pool?: { kind: PoolKind; attrs: PoolAttrs };
  /**
   * A residual block standing as this layer (a chain view only): kernel, stride and padding are its
   * first convolution's, `out` its output channels, the activation the one after its add.
   */
  block?: ResidualBlock;
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
  /** The pooling after the activation, if any: the next layer's input is its output. */
  pool?: PoolGeometry & { kind: PoolKind };
  /** The residual block this layer stands for, if any (its system is the block's: analysis/blocks.ts). */
  block?: ResidualBlock;
}

/**
 * The numbers of a layer's geometry, without its activation's functions or graph nodes: what a layer
 * system needs, and plain data (it crosses to worker threads).
 */
export type SystemGeometry = Omit<LayerGeometry, 'activation' | 'pool' | 'block'>;

/** Just those numbers, copied. */
export function systemGeometry(g: SystemGeometry): SystemGeometry {
  const { index, type, inC, inH, inW, outC, outH, outW, kh, kw, stride, pad, bias } = g;
  return { index, type, inC, inH, inW, outC, outH, outW, kh, kw, stride, pad, bias };
}

/** A layer followed by a pooling. */
export type PooledGeometry = LayerGeometry & { pool: PoolGeometry & { kind: PoolKind } };

/** A chain model: the layer-wise analysis's view of a model (model/chain.ts derives it from a graph). */
export type ChainModel = Model;

export interface Model {
  spec: ModelSpec;
  layers: LayerGeometry[];
  classes: number;
}

const isInt = (v: unknown, lo: number, hi: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

/** A value for an error line: short, whatever it is (a hostile spec may nest arrays a million deep). */
export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}

const SPEC_FIELDS = ['name', 'input', 'classes', 'layers'];
const LAYER_FIELDS: Record<string, string[]> = {
  conv: ['type', 'out', 'kernel', 'stride', 'padding', 'bias', 'activation', 'slope'],
  linear: ['type', 'out', 'bias', 'activation', 'slope'],
};

/**
 * Refuses fields the format does not have: a misspelt or unsupported one ("dilation") must not be
 * ignored.
 */
function checkFields(o: Record<string, unknown>, known: string[], where: (s: string) => string): void {
  const extra = Object.keys(o).find((k) => !known.includes(k));
  if (extra !== undefined) fail(where(`unknown field ${describe(extra)} (expected ${known.join(', ')})`));
}

/** Validates a parsed JSON value as a model spec; every problem is one clear InputError. */
export function parseSpec(raw: unknown, source = 'model spec'): ModelSpec {
  const where = (s: string) => `${source}: ${s}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where('must be a JSON object'));
  const o = raw as Record<string, unknown>;
  checkFields(o, SPEC_FIELDS, where);
  const input = o.input;
  if (!Array.isArray(input) || input.length !== 3 || !isInt(input[0], 1, MAX_FEATURES)
    || !isInt(input[1], 1, MAX_SPATIAL) || !isInt(input[2], 1, MAX_SPATIAL)) {
    fail(where(`"input" must be [C, H, W]: integers, C from 1 to ${MAX_FEATURES}, `
      + `H and W from 1 to ${MAX_SPATIAL}`));
  }
  if (!Array.isArray(o.layers) || o.layers.length === 0) fail(where('"layers" must be a non-empty array'));
  if (o.layers.length > MAX_LAYERS) fail(where(
    `${o.layers.length} layers are more than the ${MAX_LAYERS} supported`));
  const layers = o.layers.map((l, i) => parseLayer(l, (s) => where(`layer ${i}: ${s}`)));
  if (o.name !== undefined && (typeof o.name !== 'string' || !/^[\w.+-]{1,100}$/.test(o.name))) {
    fail(where('"name" must be 1 to 100 letters, digits or . _ + -'));
  }
  const name = typeof o.name === 'string' ? o.name : 'model';
  const spec: ModelSpec = { name, input: input as [number, number, number], layers };
  if (o.classes !== undefined) {
    if (!isInt(o.classes, 1, MAX_FEATURES)) fail(where(
      `"classes" must be an integer from 1 to ${MAX_FEATURES}`));
    spec.classes = o.classes;
  }
  buildModel(spec, source); // shape errors surface here, once
  return spec;
}

function parseLayer(raw: unknown, where: (s: string) => string): LayerSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where('must be an object'));
  const l = raw as Record<string, unknown>;
  if (l.type !== 'conv' && l.type !== 'linear') {
    fail(where(`"type" must be "conv" or "linear", got ${describe(l.type)}`));
  }
  checkFields(l, LAYER_FIELDS[l.type], where);
  const activation = l.activation ?? 'identity';
  if (typeof activation !== 'string' || !(ACTIVATIONS as readonly string[]).includes(activation)) {
    fail(where(`unknown activation ${describe(activation)} (expected one of ${ACTIVATIONS.join(', ')})`));
  }
  if (!isInt(l.out, 1, MAX_FEATURES)) fail(where(`"out" must be an integer from 1 to ${MAX_FEATURES}`));
  if (l.bias !== undefined && typeof l.bias !== 'boolean') fail(where('"bias" must be true or false'));
  if (l.slope !== undefined) {
    const [lo, hi] = SLOPE_RANGE;
    if (activation !== 'leaky_relu') fail(where(`"slope" applies to leaky_relu only, not ${activation}`));
    if (typeof l.slope !== 'number' || !(l.slope >= lo && l.slope <= hi)) {
      fail(where(`"slope" must be a number from ${lo} to ${hi}, got ${describe(l.slope)}`));
    }
  }
  const common = {
    out: l.out, bias: l.bias === undefined ? true : l.bias, activation: activation as ActivationName,
    ...(l.slope !== undefined ? { slope: l.slope as number } : {}),
  };
  if (l.type === 'linear') return { type: 'linear', ...common };
  const stride = l.stride ?? 1;
  const padding = l.padding ?? 0;
  if (!isInt(l.kernel, 1, MAX_WINDOW)) fail(where(`"kernel" must be an integer from 1 to ${MAX_WINDOW}`));
  if (!isInt(stride, 1, MAX_WINDOW)) fail(where(`"stride" must be an integer from 1 to ${MAX_WINDOW}`));
  if (!isInt(padding, 0, MAX_WINDOW)) fail(where(`"padding" must be an integer from 0 to ${MAX_WINDOW}`));
  return { type: 'conv', ...common, kernel: l.kernel, stride, padding };
}

/** Derives every layer's geometry; throws if a layer does not fit its input. */
export function buildModel(spec: ModelSpec, source = spec.name): Model {
  let [c, h, w] = spec.input;
  const layers: LayerGeometry[] = spec.layers.map((l, index) => {
    const activation = makeActivation(l.activation, l.slope ?? 0.01);
    let g: LayerGeometry;
    if (l.type === 'conv') {
      const hp = h + 2 * l.padding, wp = w + 2 * l.padding;
      if (l.kernel > hp || l.kernel > wp) fail(`${source}: layer ${index}: kernel ${l.kernel} `
        + `is larger than its padded input ${hp}×${wp}`);
      g = {
        index, type: 'conv', inC: c, inH: h, inW: w, outC: l.out,
        outH: Math.floor((hp - l.kernel) / l.stride) + 1, outW: Math.floor((wp - l.kernel) / l.stride) + 1,
        kh: l.kernel, kw: l.kernel, stride: l.stride, pad: l.padding, bias: l.bias, activation,
      };
    } else {
      g = {
        index, type: 'linear', inC: c, inH: h, inW: w, outC: l.out, outH: 1, outW: 1, kh: h, kw: w,
        stride: 1, pad: 0, bias: l.bias, activation,
      };
    }
    for (const [what, size] of [
      ['output', g.outC * g.outH * g.outW], ['weight', g.outC * g.inC * g.kh * g.kw],
    ] as const) {
      if (size > MAX_ARRAY_ELEMENTS) {
        fail(`${source}: layer ${index}: its ${what} would have ${size.toExponential(2)} values, `
          + `more than one array can hold`);
      }
    }
    [c, h, w] = [g.outC, g.outH, g.outW];
    if (l.type === 'conv' && l.block) g.block = l.block;
    if (l.type === 'conv' && l.pool) {
      const p = poolGeometry(l.pool.attrs, [c, h, w], (m) => `${source}: layer ${index}: ${m}`);
      g.pool = { ...p, kind: l.pool.kind };
      [h, w] = [p.outH, p.outW];
    }
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
export const weightShape = (g: LayerGeometry): number[] =>
  (g.type === 'linear' ? [g.outC, g.inC * g.inH * g.inW] : [g.outC, g.inC, g.kh, g.kw]);
