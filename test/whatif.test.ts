import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audit } from '../src/analysis/audit.js';
import { Rng } from '../src/core/rng.js';
import { JS_KERNELS } from '../src/kernels/js/index.js';
import { buildGraph, forwardGraph, parseGraphSpec, type NodeSpec } from '../src/model/graph.js';
import { initParams } from '../src/model/params.js';
import { Engine } from '../src/autodiff/engine.js';
import { paramVars } from '../src/model/gradients.js';
import type { BnMode } from '../src/ops/op.js';
import type { ServerPayload } from '../src/threat/payload.js';
import { rgap } from '../src/attacks/layerwise/rgap.js';
import { chainCase } from './helpers.js';
import { simulateClient } from '../src/threat/client.js';
import { SolverCache } from '../src/solve/solver-cache.js';
import { crossEntropy } from '../src/autodiff/prims/softmax.js';
import { chainView } from '../src/model/chain.js';
import { hybrid } from '../src/attacks/layerwise/hybrid.js';
import { copa } from '../src/attacks/layerwise/copa.js';
import { solvePooledLayer } from '../src/attacks/layerwise/pooled.js';
import { cropPadding } from '../src/solve/system.js';

/**
 * The audit's what-if on graphs: the rows each op lets through are counted independently here from a
 * forward pass (active ReLU units, distinct max-pool winners), and ranks that follow from counting are
 * checked in closed form; ops and shapes without a rule are named, not guessed.
 */
type Node = Omit<NodeSpec, 'inputs'> & { inputs?: string[] };

function setup(nodes: Node[], input: [number, number, number], bnMode: BnMode = 'eval', seed = 3) {
  const model = buildGraph(parseGraphSpec({ name: 't', input, nodes }, 't'));
  const params = initParams(model, seed);
  const payload: ServerPayload = { model, params, normalisation: { scale: 1, offset: -0.5 }, bnMode };
  const rng = new Rng(seed + 100);
  const n = input[0] * input[1] * input[2];
  const image = { shape: [1, ...input], data: Float64Array.from({ length: n }, () => rng.uniform() - 0.5) };
  // a forward pass per call: tests change parameters (batch-norm statistics) after set-up
  const valueOf = (name: string) => {
    const e = new Engine(JS_KERNELS);
    const values = forwardGraph(
      { e, bnMode }, model, paramVars(e, model, params, false), { x: e.constant(image) });
    return values[model.nodes.findIndex((m) => m.name === name)].data;
  };
  return { payload, image, valueOf, run: () => audit(payload, { kind: 'image', image, label: 1 }) };
}

/** dL/d(node output) for label 1, the audit's loss, by the engine's backward pass. */
function outputGrad(t: ReturnType<typeof setup>, name: string): Float64Array {
  const { model, params, bnMode } = t.payload;
  const e = new Engine(JS_KERNELS);
  const vars = paramVars(e, model, params, true);
  const values = forwardGraph({ e, bnMode }, model, vars, { x: e.constant(t.image) });
  const k = model.nodes.findIndex((m) => m.name === name);
  return e.grad(crossEntropy(e, values[model.output], [1]), [values[k]])[0]!.data;
}

/** Rank by Gaussian elimination with full pivoting on dense rows: an oracle independent of the solver. */
function denseRank(rows: Float64Array[], tol = 1e-9): number {
  const a = rows.map((r) => r.slice());
  const scale = Math.max(...a.map((r) => Math.max(...Array.from(r, Math.abs))));
  let rank = 0;
  for (; rank < a.length; rank++) {
    let best = 0, bi = -1, bj = -1;
    for (let i = rank; i < a.length; i++) for (let j = 0; j < a[i].length; j++) {
      if (Math.abs(a[i][j]) > best) [best, bi, bj] = [Math.abs(a[i][j]), i, j];
    }
    if (best <= tol * scale) break;
    [a[rank], a[bi]] = [a[bi], a[rank]];
    for (let i = rank + 1; i < a.length; i++) {
      const f = a[i][bj] / a[rank][bj];
      if (f !== 0) for (let j = 0; j < a[i].length; j++) a[i][j] -= f * a[rank][j];
    }
  }
  return rank;
}

/**
 * Dense rows of a stride-1 conv layer's system over its padded input: the weight row of output (o, p),
 * the gradient rows from dz, and the padding rows.
 */
function convRows(weight: Float64Array, [inC, h, w]: number[], outC: number, k: number, pad: number) {
  const ph = h + 2 * pad, pw = w + 2 * pad, oh = ph - k + 1, ow = pw - k + 1, n = inC * ph * pw;
  const col = (c: number, y: number, x: number) => (c * ph + y) * pw + x;
  const weightRow = (q: number) => {
    const o = Math.floor(q / (oh * ow)), y = Math.floor(q / ow) % oh, x = q % ow;
    const row = new Float64Array(n);
    for (let c = 0; c < inC; c++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++)
      row[col(c, y + i, x + j)] = weight[((o * inC + c) * k + i) * k + j];
    return row;
  };
  const gradientRows = (dz: Float64Array) => {
    const rows: Float64Array[] = [];
    for (let o = 0; o < outC; o++) for (let c = 0; c < inC; c++) {
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
        const row = new Float64Array(n);
        for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) {
          row[col(c, y + i, x + j)] += dz[(o * oh + y) * ow + x];
        }
        rows.push(row);
      }
    }
    return rows;
  };
  const paddingRows: Float64Array[] = [];
  for (let c = 0; c < inC; c++) for (let y = 0; y < ph; y++) for (let x = 0; x < pw; x++) {
    if (y >= pad && y < pad + h && x >= pad && x < pad + w) continue;
    const row = new Float64Array(n);
    row[col(c, y, x)] = 1;
    paddingRows.push(row);
  }
  const combine = (terms: [number, number][]) => {
    const row = new Float64Array(n);
    for (const [q, v] of terms) weightRow(q).forEach((u, i) => { row[i] += v * u; });
    return row;
  };
  return { n, oh, ow, weightRow, gradientRows, paddingRows, combine };
}

describe('the what-if audit on graphs', () => {
  it('keeps the weight rows of active ReLU units only', () => {
    // linear 6 → 4 → ReLU → linear 3: the gradient rows dz[o]·x[c] = dW[o,c] alone pin the input down
    // when one active unit has dz ≠ 0, so the rank is full whatever the active set
    const mlp = setup([
      { name: 'flat', op: 'flatten' }, { name: 'fc1', op: 'linear', out: 4 }, { name: 'act', op: 'relu' },
      { name: 'fc2', op: 'linear', out: 3 },
    ], [6, 1, 1]);
    const active = mlp.valueOf('fc1').filter((v) => v > 0).length;
    assert.ok(active > 0 && active < 4, `the seed should give a partly active layer, got ${active}`);
    const r = mlp.run();
    assert.equal(r.layers[0].weightConstraints, active);
    assert.equal(r.layers[0].rank, 6);
    assert.equal(r.layers[1].solver, 'closed-form');

    // one 3×3 filter on 5×5, then ReLU: k active outputs give k weight rows; the 9 gradient rows
    // Σ_p dz_p·x[p + (i, j)] = dW[i, j] add 9 − 1 (Σ W_ij·(row ij) = Σ_p dz_p·(weight row p), and
    // dz_p = 0 where the unit is off), so rank = k + 8 of 25 unknowns
    const conv = setup([
      { name: 'conv', op: 'conv2d', out: 1, kernel: 3 }, { name: 'act', op: 'relu' },
      { name: 'flat', op: 'flatten' }, { name: 'fc', op: 'linear', out: 3 },
    ], [1, 5, 5]);
    const k = conv.valueOf('conv').filter((v) => v > 0).length;
    assert.ok(k > 0 && k < 9, `the seed should give a partly active layer, got ${k}`);
    const c = conv.run();
    assert.equal(c.layers[0].weightConstraints, k);
    assert.equal(c.layers[0].gradientConstraints, 9);
    assert.equal(c.layers[0].rank, k + 8);
    assert.equal(c.layers[0].structuralRank, k + 8);
    assert.equal(c.copaIndex, k + 8 - 25);

    // two filters: the identity between channels o and o' survives only where o's active positions
    // are all active in o' too, and a channel with no active unit has nine zero gradient rows; the
    // count-based rank counts both (and must match the numerics)
    for (const seed of [3, 5]) {
      const two = setup([
        { name: 'conv', op: 'conv2d', out: 2, kernel: 3 }, { name: 'act', op: 'relu' },
        { name: 'flat', op: 'flatten' }, { name: 'fc', op: 'linear', out: 3 },
      ], [1, 8, 8], 'eval', seed);
      const z = two.valueOf('conv');
      const on = (o: number) => Array.from({ length: 36 }, (_, q) => z[o * 36 + q] > 0);
      let lost = 0;
      for (const o of [0, 1]) {
        if (!on(o).some(Boolean)) { lost += 9; continue; }
        lost += [0, 1].filter((o2) => on(o).every((a, q) => !a || on(o2)[q])).length;
      }
      const onCount = z.filter((v) => v > 0).length;
      const t2 = two.run().layers[0];
      assert.equal(t2.structuralRank, onCount + 18 - lost, `seed ${seed}`);
      assert.equal(t2.rank, t2.structuralRank, `seed ${seed}`);
      assert.ok(t2.rank < 64);
    }
  });

  it('keeps one weight row per max-pool window (its winner) and folds eval batch norm', () => {
    const t = setup([
      { name: 'conv', op: 'conv2d', out: 2, kernel: 3, padding: 1 }, { name: 'bn', op: 'batch_norm2d' },
      { name: 'act', op: 'relu' }, { name: 'pool', op: 'max_pool2d', kernel: 2 },
      { name: 'flat', op: 'flatten' }, { name: 'fc', op: 'linear', out: 3 },
    ], [1, 6, 6]);
    // a window's winner gives a row when the ReLU after it is active there (batch norm is one to one)
    const pooled = t.valueOf('pool');
    const rows = pooled.filter((v) => v > 0).length;
    assert.ok(rows > 0 && rows < pooled.length);
    const r = t.run();
    assert.equal(r.layers[0].weightConstraints, rows);
    assert.equal(r.layers[0].paddingConstraints, 8 * 8 - 36);
    assert.equal(r.layers[0].node, 'conv');
    assert.deepEqual(r.warnings, []);
  });

  it('turns known window means into sums of weight rows (mean pooling), against a dense rank', () => {
    // conv 2×3×3 → ReLU → 2×2 mean pool: each pooled value is the sum of its window's active
    // pre-activations, a sum of weight rows; with global mean pooling one sum per channel
    for (const [poolNode, windows] of [
      [{ name: 'pool', op: 'avg_pool2d', kernel: 2 }, (oh: number, ow: number) => {
        const out: number[][] = [];
        for (let o = 0; o < 2; o++) for (let a = 0; a < oh / 2; a++) for (let b = 0; b < ow / 2; b++)
          out.push([0, 1, ow, ow + 1].map((d) => (o * oh + 2 * a) * ow + 2 * b + d));
        return out;
      }],
      [{ name: 'pool', op: 'global_avg_pool' }, (oh: number, ow: number) =>
        [0, 1].map((o) => Array.from({ length: oh * ow }, (_, p) => o * oh * ow + p))],
    ] as const) {
      const t = setup([
        { name: 'conv', op: 'conv2d', out: 2, kernel: 3 }, { name: 'act', op: 'relu' }, poolNode,
        { name: 'flat', op: 'flatten' }, { name: 'fc', op: 'linear', out: 3 },
      ], [1, 6, 6]);
      const z = t.valueOf('conv');
      const sys = convRows(t.payload.params.get('conv.weight')!, [1, 6, 6], 2, 3, 0);
      const sums = windows(sys.oh, sys.ow).map((w) => w.filter((q) => z[q] > 0))
        .filter((w) => w.length > 0).map((w) => sys.combine(w.map((q) => [q, 1])));
      const expected = denseRank([...sys.gradientRows(outputGrad(t, 'conv')), ...sums]);
      const r = t.run().layers[0];
      assert.equal(r.sumConstraints, sums.length, poolNode.op);
      assert.equal(r.weightConstraints, 0);
      assert.equal(r.rank, expected, poolNode.op);
      if (poolNode.op === 'avg_pool2d') assert.ok(expected > 18 && expected < 36, `sums add rank: ${expected}`);
      // global pooling: dz is the same on a channel's active units, so Σ_k W[o,k]·(gradient row (o,k))
      // is already the channel's sum: 18 gradient rows, nothing added
      else assert.equal(expected, 18);
    }
  });

  it('eliminates train batch norm\'s statistics: rows projected off span{1, z}, δ up to scale', () => {
    // conv 2×3×3 (padding 1) → batch norm (train) on 4×4: a known output gives z = σ·x̂ + μ with σ, μ
    // unknown, so only the weight rows' combinations orthogonal to 1 and z survive; built here by an
    // explicit projection, a different construction from the rule's consecutive triples
    const t = setup([
      { name: 'conv', op: 'conv2d', out: 2, kernel: 3, padding: 1 }, { name: 'bn', op: 'batch_norm2d' },
      { name: 'flat', op: 'flatten' }, { name: 'fc', op: 'linear', out: 3 },
    ], [1, 4, 4], 'train');
    const z = t.valueOf('conv');
    const sys = convRows(t.payload.params.get('conv.weight')!, [1, 4, 4], 2, 3, 1);
    const projected: Float64Array[] = [];
    for (let c = 0; c < 2; c++) {
      const zc = Array.from(z.subarray(c * 16, c * 16 + 16));
      const mean = zc.reduce((a, b) => a + b, 0) / 16;
      const d = zc.map((v) => v - mean), norm = Math.hypot(...d);
      for (let j = 0; j < 16; j++) {
        // row j of I − 11ᵀ/16 − d dᵀ/|d|²
        projected.push(sys.combine(zc.map((_, l) => [c * 16 + l, (j === l ? 1 : 0) - 1 / 16 - (d[j] * d[l]) / norm ** 2])));
      }
    }
    // δ = (1/s)·(known) per channel too: the gradient rows G_k·x = s·dW[o,k] keep only their
    // combinations orthogonal to dW[o] (built here by projection; dW from the true padded input)
    const xp = new Float64Array(36);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) xp[(y + 1) * 6 + x + 1] = t.image.data[y * 4 + x];
    const g = sys.gradientRows(outputGrad(t, 'conv'));
    const freed: Float64Array[] = [];
    for (let o = 0; o < 2; o++) {
      const block = g.slice(o * 9, o * 9 + 9);
      const d = block.map((row) => row.reduce((a, v, i) => a + v * xp[i], 0));
      const d2 = d.reduce((a, v) => a + v * v, 0);
      for (let j = 0; j < 9; j++) {
        const row = new Float64Array(36);
        block.forEach((gk, k) => gk.forEach((v, i) => { row[i] += ((j === k ? 1 : 0) - (d[j] * d[k]) / d2) * v; }));
        freed.push(row);
      }
    }
    const expected = denseRank([...sys.paddingRows, ...freed, ...projected]);
    const r = t.run();
    assert.equal(r.layers[0].sumConstraints, 2 * 14);
    assert.equal(r.layers[0].gradientConstraints, 2 * 8);
    assert.equal(r.layers[0].rank, expected);
    // every row is homogeneous (the statistics absorb the bias, the scale is free): the input is at
    // best known up to its scale, as scaling the image leaves every gradient unchanged
    assert.ok(expected <= 35, `rank ${expected}`);
    assert.deepEqual(r.warnings, []);
  });

  it('a node without an op says so', () => {
    assert.throws(() => parseGraphSpec({ name: 't', input: [1, 4, 4], nodes: [{ name: 'a', inputs: ['input'] }] }, 't'),
      /node "a".*"op" is required \(ops: conv2d, linear/);
  });

  it('names the op when there is no rule: residual blocks, rectangular kernels', () => {
    const block = setup([
      { name: 'a', op: 'conv2d', out: 2, kernel: 3, padding: 1 },
      { name: 'b', op: 'conv2d', out: 2, kernel: 3, padding: 1 },
      { name: 'sum', op: 'add', inputs: ['a', 'b'] }, { name: 'flat', op: 'flatten' },
      { name: 'fc', op: 'linear', out: 3 },
    ], [1, 4, 4]);
    const residual = block.run();
    // "a" feeds the block above (b and the sum): like any next layer's input, its value is what the
    // block recovers, so all its weight rows stand; its rank against the dense oracle
    const a = convRows(block.payload.params.get('a.weight')!, [1, 4, 4], 2, 3, 1);
    const rowsA = [
      ...Array.from({ length: 32 }, (_, q) => a.weightRow(q)), ...a.gradientRows(outputGrad(block, 'a')),
      ...a.paddingRows,
    ];
    assert.equal(residual.layers[0].noRule, undefined);
    assert.equal(residual.layers[0].weightConstraints, 32);
    assert.equal(residual.layers[0].rank, denseRank(rowsA));
    assert.match(residual.layers[1].noRule!, /node "sum" \(add\) joins branches/);
    assert.equal(residual.layers[2].solver, 'closed-form');

    const rectangular = setup([
      { name: 'conv', op: 'conv2d', out: 2, kernel: [3, 1] }, { name: 'flat', op: 'flatten' }, { name: 'fc', op: 'linear', out: 3 },
    ], [1, 4, 4]).run();
    assert.match(rectangular.layers[0].noRule!, /node "conv": its kernel, stride or padding differs/);
  });
});

describe('residual blocks in the what-if', () => {
  it('solves an identity block as one system over its input and inner activation', () => {
    // stem conv → ReLU → [conv → BN → ReLU → conv → BN → add(·, stem)] → ReLU → linear, on 1×5×5
    const t = setup([
      { name: 'stem', op: 'conv2d', out: 2, kernel: 3, padding: 1 }, { name: 'r0', op: 'relu' },
      { name: 'c1', op: 'conv2d', out: 2, kernel: 3, padding: 1 }, { name: 'n1', op: 'batch_norm2d' },
      { name: 'r1', op: 'relu' }, { name: 'c2', op: 'conv2d', out: 2, kernel: 3, padding: 1 },
      { name: 'n2', op: 'batch_norm2d' }, { name: 'sum', op: 'add', inputs: ['n2', 'r0'] },
      { name: 'r2', op: 'relu' }, { name: 'flat', op: 'flatten' }, { name: 'fc', op: 'linear', out: 3 },
    ], [1, 5, 5]);
    const rng = new Rng(4);
    for (const [name, v] of t.payload.params) {
      if (/^n\d\.(weight|running_var)$/.test(name)) v.forEach((_, i) => { v[i] = 0.5 + rng.uniform(); });
      if (/^n\d\.(bias|running_mean)$/.test(name)) v.forEach((_, i) => { v[i] = 0.4 * rng.uniform() - 0.2; });
    }
    const r = t.run();
    assert.deepEqual(r.layers.map((l) => l.node), ['stem', 'c1 + c2 (block)', 'c2', 'fc']);
    assert.match(r.layers[2].noRule!, /in the system of its residual block, reported at layer 1/);

    // the oracle: unknowns x (2 channels) then h (2 channels), each padded to 7×7, rows written out
    const P = (ch: number, y: number, x: number) => (ch * 7 + y) * 7 + x;
    const get = (n: string) => t.payload.params.get(n)!;
    const scale = (n: string) => get(`${n}.weight`).map((g, c) => g / Math.sqrt(get(`${n}.running_var`)[c] + 1e-5));
    const k1 = scale('n1'), k2 = scale('n2');
    const h = t.valueOf('r1'), y = t.valueOf('sum');
    const W1 = get('c1.weight'), W2 = get('c2.weight');
    const rows: Float64Array[] = [];
    const row = () => { const v = new Float64Array(4 * 49); rows.push(v); return v; };
    for (let o = 0; o < 2; o++) for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) {
      const q = (o * 5 + a) * 5 + b;
      const r1 = row();
      r1[P(2 + o, a + 1, b + 1)] = h[q] > 0 ? -1 : 1;
      if (h[q] > 0) for (let c = 0; c < 2; c++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        r1[P(c, a + i, b + j)] += k1[o] * W1[((o * 2 + c) * 3 + i) * 3 + j];
      }
      if (y[q] <= 0) continue;
      const r2 = row();
      r2[P(o, a + 1, b + 1)] = 1;
      for (let c = 0; c < 2; c++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        r2[P(2 + c, a + i, b + j)] += k2[o] * W2[((o * 2 + c) * 3 + i) * 3 + j];
      }
    }
    for (const [conv, first] of [['c1', 0], ['c2', 2]] as const) {
      const dz = outputGrad(t, conv);
      for (let o = 0; o < 2; o++) for (let c = 0; c < 2; c++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        const g = row();
        for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) g[P(first + c, a + i, b + j)] += dz[(o * 5 + a) * 5 + b];
      }
    }
    for (let ch = 0; ch < 4; ch++) for (let a = 0; a < 7; a++) for (let b = 0; b < 7; b++) {
      if (a === 0 || a === 6 || b === 0 || b === 6) row()[P(ch, a, b)] = 1;
    }
    const block = r.layers[1];
    assert.equal(block.unknowns, 196);
    assert.equal(block.rank, denseRank(rows));
    assert.equal(block.structuralRank, block.rank, 'no count for a block: the numerical rank');
  });
});

describe('rgap through ReLU', () => {
  it('estimates the active set from the recovered outputs and recovers a determined ReLU chain exactly', () => {
    // conv 3×3 → ReLU → conv 3×3 → ReLU → linear: every layer is determined, so the recovered
    // outputs are exact and their positive entries are the true active set
    const c = chainCase({ name: 'relu', input: [1, 6, 6], layers: [
      { type: 'conv', out: 6, kernel: 3, stride: 1, padding: 1, bias: true, activation: 'relu' },
      { type: 'conv', out: 4, kernel: 3, stride: 1, padding: 0, bias: true, activation: 'relu' },
      { type: 'linear', out: 5, bias: true, activation: 'identity' }] }, 4);
    const rng = new Rng(9);
    const x = Float64Array.from({ length: 36 }, () => rng.uniform() - 0.5);
    const { update } = c.client(x, 3);
    const payload: ServerPayload = { model: c.graph, params: c.params, normalisation: { scale: 1, offset: -0.5 }, bnMode: 'eval' };
    const r = rgap.run(payload, update, { seed: 0, tol: 1e-10 });
    assert.deepEqual(r.layers.map((l) => l.rankDeficiency), [0, 0, 0]);
    assert.ok(r.layers[1].weightConstraints < 4 * 4 * 4, 'some units of layer 1 are off');
    const err = Math.max(...Array.from(x, (v, i) => Math.abs(v - r.images.data[i])));
    assert.ok(err < 1e-9, `max error ${err}`);

    // a solver cache shared across images (as a study does) must not reuse factors of another active set
    const cache = new SolverCache();
    for (const seed of [9, 10, 11]) {
      const g = new Rng(seed);
      const xs = Float64Array.from({ length: 36 }, () => g.uniform() - 0.5);
      const shared = rgap.run(payload, c.client(xs, 3).update, { seed: 0, tol: 1e-10, solver: cache });
      const e2 = Math.max(...Array.from(xs, (v, i) => Math.abs(v - shared.images.data[i])));
      assert.ok(e2 < 1e-8, `seed ${seed}: max error ${e2} with a shared cache`);
    }
    assert.ok(cache.hits.factors === 0, 'different active sets, so no factor is reused');
  });

  it('folds eval batch norm into the conv before it and recovers the same chain exactly', () => {
    // conv (no bias) → batch norm → ReLU, twice, then linear: with the running statistics known the
    // norm is a per-channel affine map, so the folded layers are the chain above with scaled weights
    const t = setup([
      { name: 'c1', op: 'conv2d', out: 6, kernel: 3, padding: 1, bias: false },
      { name: 'n1', op: 'batch_norm2d' }, { name: 'r1', op: 'relu' },
      { name: 'c2', op: 'conv2d', out: 4, kernel: 3, bias: false },
      { name: 'n2', op: 'batch_norm2d' }, { name: 'r2', op: 'relu' },
      { name: 'flat', op: 'flatten' }, { name: 'fc', op: 'linear', out: 5 },
    ], [1, 6, 6]);
    const rng = new Rng(21);
    for (const [name, v] of t.payload.params) {
      if (!/^n\d\./.test(name)) continue;
      // γ, σ² in [0.5, 1.5), μ in [−0.1, 0.1), β in [0.1, 0.3): scaled and shifted, mostly active
      const draw: Record<string, () => number> = {
        weight: () => 0.5 + rng.uniform(), running_var: () => 0.5 + rng.uniform(),
        running_mean: () => 0.2 * rng.uniform() - 0.1, bias: () => 0.1 + 0.2 * rng.uniform(),
      };
      v.forEach((_, i) => { v[i] = draw[name.slice(3)](); });
    }
    const { update } = simulateClient(JS_KERNELS, t.payload.model, t.payload.params, 'eval', t.image, [3]);
    const r = rgap.run(t.payload, update, { seed: 0, tol: 1e-10 });
    assert.deepEqual(r.layers.map((l) => l.rankDeficiency), [0, 0, 0]);
    const err = Math.max(...Array.from(t.image.data, (v, i) => Math.abs(v - r.images.data[i])));
    assert.ok(err < 1e-9, `max error ${err}`);
    // in train mode the statistics are the batch's own: no layer system, the reason named
    const train = { ...t.payload, bnMode: 'train' as const };
    assert.throws(() => rgap.run(train, update, { seed: 0, tol: 1e-10 }), /node "n1" is batch norm in train mode/);
  });

  it('through max pooling: exact with the true winners, a smooth estimate without them', () => {
    // conv → ReLU → 2×2 max pool → linear on a 1×8×8 image: layer 0 is determined with the winners
    const t = setup([
      { name: 'conv', op: 'conv2d', out: 4, kernel: 3, padding: 1 }, { name: 'act', op: 'relu' },
      { name: 'pool', op: 'max_pool2d', kernel: 2 }, { name: 'flat', op: 'flatten' },
      { name: 'fc', op: 'linear', out: 5 },
    ], [1, 8, 8]);
    const { model, params } = t.payload;
    assert.equal(t.run().layers[0].rankDeficiency, 0, 'the what-if (true winners): determined');
    // the layer's inputs as the recursion has them: pooled outputs exact (the linear layer's closed
    // form), dL/d(pooled), the shared dL/dW; the true winners from the forward pass
    const e = new Engine(JS_KERNELS);
    const vars = paramVars(e, model, params, true);
    const values = forwardGraph({ e, bnMode: 'eval' }, model, vars, { x: e.constant(t.image) });
    const at = (name: string) => model.nodes.findIndex((m) => m.name === name);
    const [dPooled, dW] = e.grad(crossEntropy(e, values[model.output], [2]),
      [values[at('pool')], vars.get('conv.weight')!]).map((v) => v!.data);
    const view = chainView(model);
    assert.ok(!('reason' in view));
    const g = view.model.layers[0];
    assert.equal(g.pool?.kind, 'max');
    const { argmax } = JS_KERNELS.maxPool2d(g.pool!, 1, values[at('act')].data);
    const layer = (winners?: Int32Array) => {
      const r = solvePooledLayer({
        g: { ...g, pool: g.pool! },
        tensors: { weight: params.get('conv.weight')!, bias: params.get('conv.bias')! },
        dW, pooled: values[at('pool')].data, dPooled, solve: { tol: 1e-10 }, ...(winners ? { winners } : {}),
        invert: (a) => ({ z: a, known: Uint8Array.from(a, (v) => (v > 0 ? 1 : 0)) }),
      });
      const x = cropPadding(r.system, r.solution.x);
      return Math.max(...Array.from(t.image.data, (v, i) => Math.abs(v - x[i])));
    };
    const exact = layer(argmax);
    assert.ok(exact < 1e-9, `true winners: max error ${exact}`);
    const spread = layer();
    assert.ok(spread > 1e-3, `the spread estimate is not exact (max error ${spread})`);

    // rgap runs through the pooling with the spread estimate and says so
    const { update } = simulateClient(JS_KERNELS, model, params, 'eval', t.image, [2]);
    const r = rgap.run(t.payload, update, { seed: 0, tol: 1e-10 });
    assert.ok(r.warnings.some((w) => /max pooling hides its winners/.test(w)));
    const err = Math.max(...Array.from(t.image.data, (v, i) => Math.abs(v - r.images.data[i])));
    assert.ok(Math.abs(err - spread) < 1e-9, `rgap's layer 0 is the spread estimate (${err} vs ${spread})`);
  });
});

describe('rgap through mean pooling', () => {
  it('passes each window its exact share of the gradient; exact sums without an activation', () => {
    // conv → (identity) → 2×2 mean pool → linear, and the same with global mean pooling
    for (const pool of [{ op: 'avg_pool2d', kernel: 2 }, { op: 'global_avg_pool' }]) {
      const t = setup([
        { name: 'conv', op: 'conv2d', out: 3, kernel: 3, padding: 1 },
        { name: 'pool', ...pool }, { name: 'flat', op: 'flatten' }, { name: 'fc', op: 'linear', out: 5 },
      ], [1, 6, 6]);
      const { model, params } = t.payload;
      const view = chainView(model);
      assert.ok(!('reason' in view));
      const g = view.model.layers[0];
      assert.equal(g.pool?.kind, 'avg');
      const e = new Engine(JS_KERNELS);
      const vars = paramVars(e, model, params, true);
      const values = forwardGraph({ e, bnMode: 'eval' }, model, vars, { x: e.constant(t.image) });
      const at = (name: string) => model.nodes.findIndex((m) => m.name === name);
      const [dPooled, dz, dW] = e.grad(crossEntropy(e, values[model.output], [2]),
        [values[at('pool')], values[at('conv')], vars.get('conv.weight')!]).map((v) => v!.data);
      const r = solvePooledLayer({
        g: { ...g, pool: g.pool! },
        tensors: { weight: params.get('conv.weight')!, bias: params.get('conv.bias')! },
        dW, pooled: values[at('pool')].data, dPooled, solve: { tol: 1e-10 },
        invert: (a) => ({ z: a, known: null }),
      });
      const worst = Math.max(...Array.from(dz, (v, i) => Math.abs(v - r.dz[i])));
      assert.ok(worst < 1e-15, `${pool.op}: dL/dz below the pool is exact (max error ${worst})`);
      // with no activation between, the means are exact sum rows: rgap's system is the what-if's
      const { update } = simulateClient(JS_KERNELS, model, params, 'eval', t.image, [2]);
      const run = rgap.run(t.payload, update, { seed: 0, tol: 1e-10 });
      assert.equal(run.layers[0].estimated, undefined, pool.op);
      const whatIf = t.run().layers[0];
      assert.equal(run.layers[0].rank, whatIf.rank, pool.op);
      // 2×2 windows: 27 sums and 27 gradient rows fix the 36 pixels; one mean per channel does not
      assert.equal(whatIf.rankDeficiency === 0, pool.op === 'avg_pool2d', pool.op);
      const err = Math.max(...Array.from(t.image.data, (v, i) => Math.abs(v - run.images.data[i])));
      if (pool.op === 'avg_pool2d') assert.ok(err < 1e-8, `recovered exactly (max error ${err})`);
    }
    // overlapping windows (stride 1) would need their own right-hand sides: spread, an estimate
    const overlap = setup([
      { name: 'conv', op: 'conv2d', out: 3, kernel: 3, padding: 1 },
      { name: 'pool', op: 'avg_pool2d', kernel: 2, stride: 1 }, { name: 'flat', op: 'flatten' },
      { name: 'fc', op: 'linear', out: 5 },
    ], [1, 6, 6]);
    const o = simulateClient(JS_KERNELS, overlap.payload.model, overlap.payload.params, 'eval', overlap.image, [2]);
    assert.ok(rgap.run(overlap.payload, o.update, { seed: 0, tol: 1e-10 }).layers[0].estimated);
    // through a ReLU the mean of outputs is no linear row: spread, an estimate, said so
    const t = setup([
      { name: 'conv', op: 'conv2d', out: 3, kernel: 3, padding: 1 }, { name: 'act', op: 'relu' },
      { name: 'pool', op: 'avg_pool2d', kernel: 2 }, { name: 'flat', op: 'flatten' },
      { name: 'fc', op: 'linear', out: 5 },
    ], [1, 6, 6]);
    const { update } = simulateClient(JS_KERNELS, t.payload.model, t.payload.params, 'eval', t.image, [2]);
    const run = rgap.run(t.payload, update, { seed: 0, tol: 1e-10 });
    assert.ok(run.warnings.some((w) => /mean pooling of an activation gives each window's mean/.test(w)));
    assert.ok(run.layers[0].estimated);
  });
});

describe('downsampling residual blocks in the what-if', () => {
  it('solves a stride-2 block with a 1×1 convolution shortcut as one system (x space-to-depth)', () => {
    // stem → ReLU → [c1 (stride 2) → BN → ReLU → c2 → BN] + [ds: 1×1 stride 2 → BN] → ReLU → linear
    const t = setup([
      { name: 'stem', op: 'conv2d', out: 2, kernel: 3, padding: 1 }, { name: 'r0', op: 'relu' },
      { name: 'c1', op: 'conv2d', out: 3, kernel: 3, stride: 2, padding: 1, bias: false },
      { name: 'n1', op: 'batch_norm2d' }, { name: 'r1', op: 'relu' },
      { name: 'c2', op: 'conv2d', out: 3, kernel: 3, padding: 1, bias: false },
      { name: 'n2', op: 'batch_norm2d' },
      { name: 'ds', op: 'conv2d', out: 3, kernel: 1, stride: 2, bias: false, inputs: ['r0'] },
      { name: 'nd', op: 'batch_norm2d' }, { name: 'sum', op: 'add', inputs: ['n2', 'nd'] },
      { name: 'r2', op: 'relu' }, { name: 'flat', op: 'flatten' }, { name: 'fc', op: 'linear', out: 3 },
    ], [1, 6, 6], 'eval', 5);
    const rng = new Rng(6);
    for (const [name, v] of t.payload.params) {
      if (/^n[12d]\.(weight|running_var)$/.test(name)) v.forEach((_, i) => { v[i] = 0.5 + rng.uniform(); });
      if (/^n[12d]\.(bias|running_mean)$/.test(name)) {
        v.forEach((_, i) => { v[i] = 0.4 * rng.uniform() - 0.2; });
      }
    }
    const r = t.run();
    assert.deepEqual(r.layers.map((l) => l.node), ['stem', 'c1 + c2 + ds (block)', 'c2', 'ds', 'fc']);
    assert.match(r.layers[3].noRule!, /in the system of its residual block, reported at layer 1/);
    assert.deepEqual(r.layers.map((l) => l.partOf), [undefined, undefined, 1, 1, undefined]);
    assert.ok(!r.warnings.some((w) => /has no layer system/.test(w)), 'inner layers are not missing ones');

    // the oracle, written in x's and h's own coordinates: x (2×6×6) then h (3×3×3), no padding columns
    const inside = (y: number, x: number, n: number) => y >= 0 && y < n && x >= 0 && x < n;
    const X = (c: number, y: number, x: number) => (inside(y, x, 6) ? (c * 6 + y) * 6 + x : -1);
    const H = (c: number, y: number, x: number) => (inside(y, x, 3) ? 72 + (c * 3 + y) * 3 + x : -1);
    const get = (n: string) => t.payload.params.get(n)!;
    const scale = (n: string) => get(`${n}.weight`).map((g, c) => g / Math.sqrt(get(`${n}.running_var`)[c] + 1e-5));
    const k1 = scale('n1'), k2 = scale('n2'), kd = scale('nd');
    const h = t.valueOf('r1'), y = t.valueOf('sum');
    const W1 = get('c1.weight'), W2 = get('c2.weight'), Wd = get('ds.weight');
    const rows: Float64Array[] = [];
    const row = () => { const v = new Float64Array(99); rows.push(v); return v; };
    const add = (r: Float64Array, at: number, v: number) => { if (at >= 0) r[at] += v; };
    for (let o = 0; o < 3; o++) for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) {
      const q = (o * 3 + a) * 3 + b;
      const r1 = row();
      add(r1, H(o, a, b), h[q] > 0 ? -1 : 1);
      if (h[q] > 0) for (let c = 0; c < 2; c++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        add(r1, X(c, 2 * a - 1 + i, 2 * b - 1 + j), k1[o] * W1[((o * 2 + c) * 3 + i) * 3 + j]);
      }
      if (y[q] <= 0) continue;
      const r2 = row();
      for (let c = 0; c < 2; c++) add(r2, X(c, 2 * a, 2 * b), kd[o] * Wd[o * 2 + c]);
      for (let c = 0; c < 3; c++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        add(r2, H(c, a - 1 + i, b - 1 + j), k2[o] * W2[((o * 3 + c) * 3 + i) * 3 + j]);
      }
    }
    const convs = [['c1', 2, 3, 2, 1, X], ['c2', 3, 3, 1, 1, H], ['ds', 2, 1, 2, 0, X]] as const;
    for (const [conv, inC, k, s, p, at] of convs) {
      const dz = outputGrad(t, conv);
      for (let o = 0; o < 3; o++) for (let c = 0; c < inC; c++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
        const g = row();
        for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) {
          add(g, at(c, s * a - p + i, s * b - p + j), dz[(o * 3 + a) * 3 + b]);
        }
      }
    }
    const block = r.layers[1];
    // the block's columns: [s2d(x) (8 channels); h (3)] on h's 3×3 grid padded by 1; the padding
    // columns are each fixed by a padding row, so they add one to the rank each
    assert.equal(block.unknowns, 11 * 25);
    const expected = denseRank(rows);
    assert.equal(block.rank! - (block.unknowns - 99), expected);
    console.log(`downsampling block: rank ${expected} of 99 (${rows.length} rows)`);
  });
});

describe('rgap through residual blocks', () => {
  const blockGraph = (downsample: boolean): Node[] => [
    { name: 'stem', op: 'conv2d', out: 4, kernel: 3, padding: 1 }, { name: 'r0', op: 'relu' },
    { name: 'c1', op: 'conv2d', out: downsample ? 8 : 4, kernel: 3, stride: downsample ? 2 : 1, padding: 1,
      bias: false },
    { name: 'n1', op: 'batch_norm2d' }, { name: 'r1', op: 'relu' },
    { name: 'c2', op: 'conv2d', out: downsample ? 8 : 4, kernel: 3, padding: 1, bias: false },
    { name: 'n2', op: 'batch_norm2d' },
    ...(downsample ? [
      { name: 'ds', op: 'conv2d', out: 8, kernel: 1, stride: 2, bias: false, inputs: ['r0'] },
      { name: 'nd', op: 'batch_norm2d' }, { name: 'sum', op: 'add', inputs: ['n2', 'nd'] },
    ] : [{ name: 'sum', op: 'add', inputs: ['n2', 'r0'] }]),
    { name: 'r2', op: 'relu' }, { name: 'flat', op: 'flatten' }, { name: 'fc', op: 'linear', out: 5 },
  ];
  for (const downsample of [false, true]) {
    it(`solves ${downsample ? 'a downsampling' : 'an identity'} block with h's active set estimated`, () => {
      const t = setup(blockGraph(downsample), [1, 6, 6], 'eval', 7);
      const rng = new Rng(8);
      for (const [name, v] of t.payload.params) {
        if (/^n[12d]\.(weight|running_var)$/.test(name)) v.forEach((_, i) => { v[i] = 0.5 + rng.uniform(); });
        if (/^n[12d]\.(bias|running_mean)$/.test(name)) v.forEach((_, i) => { v[i] = 0.2 * rng.uniform(); });
      }
      const view = chainView(t.payload.model);
      assert.ok(!('reason' in view), 'reason' in view ? view.reason : '');
      assert.equal(view.model.layers.length, 3);
      const whatIf = t.run();
      const { update } = simulateClient(JS_KERNELS, t.payload.model, t.payload.params, 'eval', t.image, [2]);
      const r = rgap.run(t.payload, update, { seed: 0, tol: 1e-10 });
      const err = Math.max(...Array.from(t.image.data, (v, i) => Math.abs(v - r.images.data[i])));
      // the what-if (true active sets) determines every layer; the attacker's first pass got h's
      // signs right, so the block and the stem below it are recovered exactly
      assert.deepEqual(whatIf.layers.map((l) => l.rankDeficiency), downsample ? [0, 0, 0, 0, 0] : [0, 0, 0, 0]);
      assert.ok(err < 1e-9, `max error ${err}`);
      assert.match(r.layers[1].estimated ?? '', /active set of "r1" inside the block is estimated/);
      // hybrid refines through the block (its matching starts at the block's input); copa refuses
      const h = hybrid.run(t.payload, update, { seed: 0, tol: 1e-10, iterations: 5 });
      assert.ok(h.images.data.every(Number.isFinite));
      assert.throws(() => copa.run(t.payload, update, { seed: 0, tol: 1e-10, iterations: 5 }), /use hybrid/);
    });
  }
});
