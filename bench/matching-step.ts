import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { matchingObjective, type MatchingValue } from '../src/attacks/matching/objective.js';
import type { ConvGeometry, Kernels } from '../src/kernels/kernels.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import type { GraphSpec } from '../src/model/graph.js';
import { initParams } from '../src/model/params.js';
import { graphFromJson, presetSpec } from '../src/model/presets.js';
import { Rng } from '../src/core/rng.js';
import { simulateClient } from '../src/threat/client.js';
import { spawnKernelThread } from '../src/cli/threads.js';

/**
 * The gradient-matching step (value and ∂/∂candidate, double backprop, cosine distance, batch norm in
 * train mode) on the ladder of models, ours in float32 and float64 beside PyTorch's float32
 * (best of 1 and 2 threads) in the same run, with our convolution GFLOP/s.
 */
export interface Rung { label: string; spec: GraphSpec; batch: number }

/** conv 3×3 (padding 1) → ReLU per width, strides as given, then linear 10. */
function plain(widths: number[], strides: number[], size: number): GraphSpec {
  const nodes = widths.flatMap((out, i) => [
    { name: `conv${i}`, op: 'conv2d', out, kernel: 3, padding: 1, stride: strides[i], inputs: [i ? `relu${i - 1}` : 'input'] },
    { name: `relu${i}`, op: 'relu', inputs: [`conv${i}`] },
  ]);
  const last = `relu${widths.length - 1}`;
  return {
    name: `conv${widths.join("-")}_${size}`, input: [3, size, size], classes: 10,
    nodes: [...nodes, { name: 'flatten', op: 'flatten', inputs: [last] }, { name: 'fc', op: 'linear', out: 10, inputs: ['flatten'] }],
  } as GraphSpec;
}

export const RUNGS: Rung[] = [
  { label: 'cnn3_c1', spec: presetSpec('cnn3_c1')!, batch: 1 },
  { label: '16-32-32 @32', spec: plain([16, 32, 32], [1, 2, 2], 32), batch: 1 },
  { label: '32-64-64 @32', spec: plain([32, 64, 64], [1, 2, 2], 32), batch: 1 },
  { label: '64-128-128-128 @32', spec: plain([64, 128, 128, 128], [1, 2, 2, 2], 32), batch: 1 },
  { label: '32-64-64 @64', spec: plain([32, 64, 64], [1, 2, 2], 64), batch: 1 },
  { label: 'convnet_bn b1', spec: presetSpec('convnet_bn')!, batch: 1 },
  { label: 'convnet_bn b8', spec: presetSpec('convnet_bn')!, batch: 8 },
  { label: 'resnet8 b1', spec: presetSpec('resnet8')!, batch: 1 },
  { label: 'resnet8 b8', spec: presetSpec('resnet8')!, batch: 8 },
];

const convFlops = (g: ConvGeometry, n: number) => 2 * n * g.outC * g.outH * g.outW * g.inC * g.kh * g.kw;

/** The kernels with a counter of convolution flops (each of the three convolutions costs the same). */
function counting(k: Kernels, total: { flops: number }): Kernels {
  return {
    ...k,
    withOutputs: (alloc) => counting(k.withOutputs(alloc), total),
    conv2d: (g, n, x, w, b) => { total.flops += convFlops(g, n); return k.conv2d(g, n, x, w, b); },
    conv2dInputGrad: (g, n, dz, w) => { total.flops += convFlops(g, n); return k.conv2dInputGrad(g, n, dz, w); },
    conv2dWeightGrad: (g, n, x, dz) => { total.flops += convFlops(g, n); return k.conv2dWeightGrad(g, n, x, dz); },
  };
}

/** Steps per timed run: about half a second's worth, judged from one warm step. */
function stepsFor(f: () => void): number {
  f();
  const t0 = performance.now();
  f();
  return Math.max(2, Math.min(100, Math.ceil(500 / (performance.now() - t0))));
}

/** Milliseconds per step: the median of 3 runs of `n` steps after a warm-up. */
function stepMs(f: () => void, n: number): number {
  for (let i = 0; i < Math.max(1, n / 4); i++) f();
  const runs = Array.from({ length: 3 }, () => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    return (performance.now() - t0) / n;
  });
  return runs.sort((a, b) => a - b)[1];
}

/** PyTorch's float32 step for the same spec and batch (bench/torch_step.py), best of 1 and 2 threads. */
function torchMs(root: string, r: Rung, steps: number): { ms: number; threads: number } | string {
  const python = '/usr/bin/python3';
  if (!fs.existsSync(python)) return 'no /usr/bin/python3';
  let best: { ms: number; threads: number } | null = null;
  for (const threads of [1, 2]) {
    const job = JSON.stringify({ spec: r.spec, batch: r.batch, distance: 'cosine', dtype: 'float32', steps, bn_mode: 'train', threads });
    const p = spawnSync(python, [path.join(root, 'bench/torch_step.py')], { input: job, encoding: 'utf8' });
    if (p.status !== 0) {
      return /No module named 'torch'/.test(p.stderr) ? "Debian's python3-torch is not installed: no PyTorch column"
        : `PyTorch failed: ${p.stderr.trim().split('\n').pop()}`;
    }
    const t = JSON.parse(p.stdout) as { ms: number; threads: number };
    if (!best || t.ms < best.ms) best = t;
  }
  return best!;
}

export interface StepRow {
  label: string; f32: number; f32x2: number; f64: number; gflops: number; torch: ReturnType<typeof torchMs>;
}

/**
 * What a build provides to set a rung's step up: this build's modules by default, another build's for
 * scripts/step-ab.mjs (which times two builds' own code side by side).
 */
export interface StepModules {
  graphFromJson: typeof graphFromJson; initParams: typeof initParams; Rng: typeof Rng;
  simulateClient: typeof simulateClient; JS_KERNELS: Kernels; matchingObjective: typeof matchingObjective;
}
const OWN: StepModules = { graphFromJson, initParams, Rng, simulateClient, JS_KERNELS, matchingObjective };

/**
 * The rung's matching step on given kernels (seeded weights, a random client batch's gradients as the
 * target, a random candidate), set up with `m`'s functions.
 */
export function rungStep(r: Rung, m: StepModules = OWN): (k: Kernels) => () => MatchingValue {
  const model = m.graphFromJson(r.spec, r.label);
  const params = m.initParams(model, 0);
  const size = r.batch * model.input.reduce((a, b) => a * b, 1);
  const rng = new m.Rng(1);
  const truth = Float64Array.from({ length: size }, () => rng.uniform() - 0.5);
  const labels = Array.from({ length: r.batch }, (_, i) => i % model.classes);
  const shape = [r.batch, ...model.input];
  const client = m.simulateClient(m.JS_KERNELS, model, params, 'train', { shape, data: truth }, labels);
  const target = client.update.gradients;
  const x = Float64Array.from({ length: size }, () => rng.uniform() - 0.5);
  return (k) => {
    const f = m.matchingObjective({
      kernels: k, graph: model, params, bnMode: 'train', target, labels, distance: 'cosine',
    }, shape);
    return () => f(x);
  };
}

/** The rungs whose label contains `only` (all without it). */
export function measureSteps(root: string, only?: string): StepRow[] {
  return RUNGS.filter((r) => !only || r.label.includes(only)).map((r) => {
    const objective = rungStep(r);
    const flops = { flops: 0 };
    objective(counting(JS_KERNELS, flops))();
    const two = createWasmKernels('f32', { count: 2, spawn: spawnKernelThread });
    const f32 = objective(createWasmKernels('f32')), f32x2 = objective(two), f64 = objective(createWasmKernels('f64'));
    const steps = stepsFor(f32);
    const ms32 = stepMs(f32, steps), ms32x2 = stepMs(f32x2, steps);
    const ms64 = stepMs(f64, stepsFor(f64));
    two.close();
    const best = Math.min(ms32, ms32x2);
    return {
      label: r.label, f32: ms32, f32x2: ms32x2, f64: ms64, gflops: flops.flops / (best * 1e6), torch: torchMs(root, r, steps),
    };
  });
}

export function stepTable(rows: StepRow[]): string {
  const lines = [
    '| model | ours f32 ms, 1 / 2 threads | ours f64 ms | our conv GFLOP/s (f32, best) '
      + '| PyTorch f32 ms (best of 1, 2 threads) | ours / PyTorch (best f32 each) |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const t = r.torch;
    const torch = typeof t === 'string' ? '—' : `${t.ms.toFixed(2)} (${t.threads} thr)`;
    const best = Math.min(r.f32, r.f32x2);
    const ratio = typeof t === 'string' ? t : `${(best / t.ms).toFixed(2)}×`;
    lines.push(`| ${r.label} | ${r.f32.toFixed(2)} / ${r.f32x2.toFixed(2)} | ${r.f64.toFixed(2)} | ${r.gflops.toFixed(1)} | ${torch} | ${ratio} |`);
  }
  return lines.join('\n');
}
