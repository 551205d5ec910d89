// One-factor sweeps for the architecture study: each family starts from cnn3_c1's layout
// (conv 6@3×3 s1 → conv 3@4×4 s2 → linear, tanh, 32×32×3 input) and changes exactly one factor,
// so a change in the index or in PSNR can be attributed to that factor alone.
import type { ActivationName } from './chain-activations.js';
import { fail } from '../core/errors.js';
import { PRESETS } from './chain-presets.js';
import { GRAPH_PRESETS } from './zoo.js';
import type { ConvLayerSpec, ModelSpec } from './chain-spec.js';

const conv = (
  out: number, kernel: number, stride: number, padding: number, activation: ActivationName = 'tanh',
): ConvLayerSpec =>
  ({ type: 'conv', out, kernel, stride, padding, bias: false, activation });

function model(name: string, convs: ConvLayerSpec[]): ModelSpec {
  return {
    name, input: [3, 32, 32], classes: 10,
    layers: [...convs, { type: 'linear', out: 10, bias: true, activation: 'identity' }],
  };
}

/** The factor each family varies, and its values (the base value of each is cnn3_c1's). */
const FAMILIES: Record<string, { values: (number | string)[]; build: (v: never) => ConvLayerSpec[] }> = {
  channels: { values: [1, 3, 6, 9, 12], build: (c: number) => [conv(c, 3, 1, 0), conv(3, 4, 2, 0)] },
  kernel: { values: [2, 3, 4, 5], build: (k: number) => [conv(6, k, 1, 0), conv(3, 4, 2, 0)] },
  stride: { values: [1, 2, 3], build: (s: number) => [conv(6, 3, s, 0), conv(3, 4, 2, 0)] },
  padding: { values: [0, 1, 2], build: (p: number) => [conv(6, 3, 1, p), conv(3, 4, 2, 0)] },
  depth: {
    values: [1, 2, 3, 4],
    build: (d: number) => [...Array.from({ length: d - 1 }, () => conv(6, 3, 1, 0)), conv(3, 4, 2, 0)],
  },
  activation: {
    values: ['tanh', 'sigmoid', 'leaky_relu', 'softplus', 'identity'],
    build: (a: ActivationName) => [conv(6, 3, 1, 0, a), conv(3, 4, 2, 0, a)],
  },
};

/** Every sweep model by name: `sweep-<factor>-<value>`, e.g. sweep-kernel-5. */
export const SWEEPS: Readonly<Record<string, ModelSpec>> = Object.fromEntries(
  Object.entries(FAMILIES).flatMap(([factor, f]) => f.values.map((v) => {
    const name = `sweep-${factor}-${v}`;
    return [name, model(name, f.build(v as never))];
  })),
);

export const SWEEP_FACTORS: readonly string[] = Object.keys(FAMILIES);

/** The factor and value of a sweep model, or null for any other model. */
export function sweepOf(name: string): { factor: string; value: string } | null {
  const m = /^sweep-([a-z]+)-(.+)$/.exec(name);
  return m && Object.hasOwn(SWEEPS, name) ? { factor: m[1], value: m[2] } : null;
}

/**
 * The study's models: `all` (the 34 presets), `sweeps` (every one-factor sweep), `sweep:<factor>`,
 * or a comma-separated mix of those, single names (chain or graph presets) and model files (a spec
 * .json or an .onnx file, which the caller reads).
 */
export function resolveStudyModels(items: readonly string[]): string[] {
  const names = items.flatMap((item) => {
    if (item === 'all') return Object.keys(PRESETS);
    if (item === 'sweeps') return Object.keys(SWEEPS);
    if (item.startsWith('sweep:')) {
      const factor = item.slice(6);
      if (!Object.hasOwn(FAMILIES, factor)) fail(
        `unknown sweep "${factor}" (one of ${SWEEP_FACTORS.join(', ')})`);
      return Object.keys(SWEEPS).filter((n) => sweepOf(n)!.factor === factor);
    }
    if (isModelFile(item) || Object.hasOwn(GRAPH_PRESETS, item)) return [item];
    studySpec(item);
    return [item];
  });
  return [...new Set(names)];
}

/** Whether a study's model is a file (by its extension) rather than a name. */
export const isModelFile = (item: string) => /\.(onnx|json)$/i.test(item);

/** A chain preset's or a sweep model's spec by name, or null. */
export function chainSpec(name: string): ModelSpec | null {
  if (Object.hasOwn(PRESETS, name)) return PRESETS[name];
  if (Object.hasOwn(SWEEPS, name)) return SWEEPS[name];
  return null;
}

/** A chain preset's or a sweep model's spec by name. */
export function studySpec(name: string): ModelSpec {
  return chainSpec(name) ?? fail(`unknown model "${name.slice(0, 80)}" (a preset from 'gradleak models', `
    + `a sweep model such as sweep-kernel-5, 'all', 'sweeps', 'sweep:<factor>' or a .json or .onnx file)`);
}
