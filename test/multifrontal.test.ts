import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nestedDissection } from '../src/linalg/dissection.js';
import { gramMatrix } from '../src/linalg/gram.js';
import { factorGram, factorRowGram } from '../src/linalg/gramsolver.js';
import { stack, transpose, type Csr } from '../src/linalg/sparse.js';
import {
  frontalPatterns, multifrontalCholesky, solveFrontal, solveFrontalMany,
} from '../src/linalg/multifrontal.js';
import {
  frontKernelWasm, solveFrontalManyWasm, solveFrontalOneWasm,
} from '../src/linalg/wasm/frontal.js';
import { Rng } from '../src/core/rng.js';
import { buildLayerSystem } from '../src/solve/system.js';
import { solveLayer } from '../src/solve/layersolve.js';
import type { LayerGeometry } from '../src/model/chain-spec.js';
import { makeActivation } from '../src/model/chain-activations.js';

/** A seeded convolution's layer system (random weights and gradients) on a size×size input. */
function convSystem(
  seed: number, size: number, inC: number, outC: number, k: number, stride: number, pad: number,
) {
  const rng = new Rng(seed);
  const outH = Math.floor((size + 2 * pad - k) / stride) + 1;
  const g: LayerGeometry = {
    index: 0, type: 'conv', inC, inH: size, inW: size, outC, outH, outW: outH, kh: k, kw: k, stride, pad,
    bias: false, activation: makeActivation('tanh'),
  };
  const weight = Float64Array.from({ length: outC * inC * k * k }, () => rng.normal());
  const z = Float64Array.from({ length: outC * outH * outH }, () => rng.normal());
  const dz = z.map(() => rng.normal());
  const dW = Float64Array.from({ length: outC * inC * k * k }, () => rng.normal());
  return buildLayerSystem(g, { weight, bias: null, z, dz, dW });
}

const spatial = (n: number, inC: number, plane: number) => {
  const order = new Int32Array(n), back = new Int32Array(n);
  let p = 0;
  for (let q = 0; q < plane; q++) {
    for (let c = 0; c < inC; c++) { order[c * plane + q] = p; back[p++] = c * plane + q; }
  }
  return { order, back };
};

const relDiff = (a: Float64Array, b: Float64Array) =>
  Math.hypot(...a.map((v, i) => v - b[i])) / Math.hypot(...b);

describe('nested dissection and the multifrontal Cholesky', () => {
  it('orders every vertex once, and each node\'s positions after its children\'s', () => {
    const sys = convSystem(1, 20, 3, 6, 3, 1, 0);
    const { order, back } = spatial(sys.n, 3, sys.padH * sys.padW);
    const gram = gramMatrix(sys.s, order, sys.n);
    const x = Int32Array.from(back, (c) => (c % 400) % 20);
    const y = Int32Array.from(back, (c) => Math.floor((c % 400) / 20));
    const d = nestedDissection(gram, x, y);
    assert.deepEqual([...d.perm].sort((a, b) => a - b), Array.from({ length: sys.n }, (_, i) => i));
    let covered = 0;
    for (let i = 0; i < d.start.length; i++) {
      covered += d.end[i] - d.start[i];
      if (d.parent[i] >= 0) assert.ok(d.parent[i] > i && d.end[i] <= d.start[d.parent[i]]);
    }
    assert.equal(covered, sys.n);
    assert.ok(d.start.length > 3, 'a 20×20 image is cut');
  });

  it('solves SᵀS of a convolution like the envelope factor (to 1e-10), same pivots accepted', () => {
    for (const [seed, size, k, stride, pad] of [[2, 24, 3, 1, 0], [3, 21, 5, 1, 2], [4, 26, 4, 2, 1]]) {
      const sys = convSystem(seed, size, 3, stride === 1 ? 6 : 14, k, stride, pad);
      const plane = sys.padH * sys.padW;
      const { order, back } = spatial(sys.n, 3, plane);
      const layout = { plane, width: sys.padW };
      const env = factorGram(sys.s, order, sys.n, (p) => back[p], 1e-6, false, layout, 'envelope');
      const mf = factorGram(sys.s, order, sys.n, (p) => back[p], 1e-6, false, layout, 'sparse');
      assert.equal(mf.kind, 'sparse');
      assert.equal(env.report.ok, true);
      assert.equal(mf.report.ok, true);
      const rng = new Rng(seed);
      const v = Float64Array.from({ length: sys.n }, () => rng.normal()), w = v.slice();
      env.solve(v);
      mf.solve(w);
      assert.ok(relDiff(w, v) < 1e-10, `size ${size}, kernel ${k}: ${relDiff(w, v)}`);
    }
  });

  it('drops as many dependent rows of SSᵀ as the envelope factor, and solves the rest alike', () => {
    const sys = convSystem(5, 22, 6, 3, 4, 2, 0);
    // rows repeated (and a combination of two) are dependent on the others, whatever the order
    const pick = (rows: number[], scale: number[]): Csr => {
      const m = new Map<number, number>();
      rows.forEach((r, t) => {
        for (let q = sys.s.ptr[r]; q < sys.s.ptr[r + 1]; q++) {
          m.set(sys.s.idx[q], (m.get(sys.s.idx[q]) ?? 0) + scale[t] * sys.s.val[q]);
        }
      });
      const e = [...m].sort((a, c) => a[0] - c[0]);
      return {
        rows: 1, cols: sys.s.cols, ptr: new Int32Array([0, e.length]),
        idx: Int32Array.from(e, (t) => t[0]), val: Float64Array.from(e, (t) => t[1]),
      };
    };
    let s = sys.s;
    for (const extra of [pick([7], [2]), pick([30, 31], [1, -0.5]), pick([90], [1])]) s = stack(s, extra);
    const layout = { plane: sys.padH * sys.padW, width: sys.padW };
    const env = factorRowGram(s, 1e-6, true, layout, 'envelope');
    const mf = factorRowGram(s, 1e-6, true, layout, 'sparse');
    assert.equal(env.report.dropped.length, 3);
    assert.equal(mf.report.dropped.length, 3);
    // a right-hand side in the range of the kept rows' Gram matrix: both solves agree there
    const keepE = new Set(env.report.dropped), keepM = new Set(mf.report.dropped);
    const rng = new Rng(6);
    const rhs = Float64Array.from({ length: s.rows }, (_, i) => (keepE.has(i) || keepM.has(i) ? 0 : rng.normal()));
    const a = rhs.slice(), b = rhs.slice();
    env.solve(a);
    mf.solve(b);
    if (env.report.dropped.join() === mf.report.dropped.join()) assert.ok(relDiff(b, a) < 1e-10);
  });

  it('solveMany gives every vector solve()\'s bits (groups of 8, zero entries and vectors)', () => {
    const sys = convSystem(9, 22, 6, 3, 4, 2, 0);
    const layout = { plane: sys.padH * sys.padW, width: sys.padW };
    const mf = factorRowGram(sys.s, 1e-6, true, layout, 'sparse');
    assert.equal(mf.kind, 'sparse');
    const rng = new Rng(10);
    // 19 vectors: two full groups and a partial one; one all zero, others with zero runs and −0
    const vs = Array.from({ length: 19 }, (_, c) => Float64Array.from({ length: sys.s.rows },
      (_, i) => (c === 4 ? 0 : c % 3 === 1 && i % 5 < 3 ? (i % 2 ? -0 : 0) : rng.normal())));
    const one = vs.map((v) => { const w = v.slice(); mf.solve(w); return w; });
    mf.solveMany(vs);
    vs.forEach((v, c) => {
      assert.ok(v.every((x, i) => Object.is(x, one[c][i])), `vector ${c}`);
    });
    assert.ok(Math.hypot(...one[0]) > 0);
    assert.ok(one[4].every((x) => x === 0));
  });

  it('the WebAssembly front kernel gives the JavaScript factor to the bit (drops and failure too)', () => {
    const sys = convSystem(11, 26, 6, 3, 4, 2, 0);
    // rows 7 and 40 repeated: two dependent rows to drop (or to fail on without allowDrop)
    const rows = [...Array(sys.s.rows).keys(), 7, 40];
    const ptr = new Int32Array(rows.length + 1), idx: number[] = [], val: number[] = [];
    rows.forEach((r, i) => {
      for (let q = sys.s.ptr[r]; q < sys.s.ptr[r + 1]; q++) { idx.push(sys.s.idx[q]); val.push(sys.s.val[q]); }
      ptr[i + 1] = idx.length;
    });
    const s: Csr = {
      rows: rows.length, cols: sys.s.cols, ptr, idx: Int32Array.from(idx), val: Float64Array.from(val),
    };
    const ident = Int32Array.from(rows, (_, i) => i);
    const gram = gramMatrix(transpose(s), ident, s.rows);
    const plane = sys.padH * sys.padW;
    const x = Int32Array.from(rows, (_, i) => (s.idx[s.ptr[i]] % plane) % sys.padW);
    const y = Int32Array.from(rows, (_, i) => Math.floor((s.idx[s.ptr[i]] % plane) / sys.padW));
    const tree = nestedDissection(gram, x, y);
    const fronts = frontalPatterns(gram, tree);
    assert.ok(Math.max(...fronts.map((r) => r.length)) > 40, 'fronts wide enough for the panels');
    const probe = frontKernelWasm({
      n: 4, rows: [Int32Array.of(0, 1, 2, 3)], own: Int32Array.of(4), maxFront: 8,
    });
    assert.equal(probe.front(3).buffer, probe.front(4).buffer, 'the WebAssembly kernel, not the fallback');
    for (const allowDrop of [true, false]) {
      const js = multifrontalCholesky(gram, tree, fronts, 1e-6, allowDrop);
      const wasm = multifrontalCholesky(gram, tree, fronts, 1e-6, allowDrop, frontKernelWasm);
      assert.deepEqual(wasm.report, js.report);
      assert.equal(js.report.ok, allowDrop);
      if (allowDrop) assert.equal(js.report.dropped.length, 2);
      js.factor.cols.forEach((c, i) => {
        if (c) assert.ok(c.every((v, t) => Object.is(v, wasm.factor.cols[i][t])), `front ${i}`);
      });
    }
    // the solves: JavaScript and WebAssembly, 8 vectors at a time, against one at a time
    const { factor, solves } = multifrontalCholesky(gram, tree, fronts, 1e-6, true, frontKernelWasm);
    // the factor stays in the module's memory, where its solves run
    assert.ok(factor.cols.every((c) => c.buffer === factor.cols[0].buffer && c.byteOffset > 0));
    const rng = new Rng(12);
    const vs = Array.from({ length: 19 }, (_, c) => Float64Array.from({ length: s.rows },
      (_, i) => (c === 4 ? 0 : c % 3 === 1 && i % 5 < 3 ? (i % 2 ? -0 : 0) : rng.normal())));
    const one = vs.map((v) => { const w = v.slice(); solveFrontal(factor, w); return w; });
    const many = vs.map((v) => v.slice()), manyWasm = vs.map((v) => v.slice());
    solveFrontalMany(factor, many);
    solveFrontalManyWasm(factor, manyWasm);
    const solvedBy = (f: (w: Float64Array) => void) => vs.map((v) => { const w = v.slice(); f(w); return w; });
    const resident = vs.map((v) => v.slice()), residentOne = solvedBy(solves.solve);
    solves.solveMany(resident);
    const copied = solvedBy((w) => solveFrontalOneWasm(factor, w));
    one.forEach((v, c) => {
      assert.ok(v.every((x, i) => Object.is(x, many[c][i])), `js, vector ${c}`);
      assert.ok(v.every((x, i) => Object.is(x, manyWasm[c][i])), `wasm, vector ${c}`);
      assert.ok(v.every((x, i) => Object.is(x, resident[c][i])), `resident wasm, vector ${c}`);
      assert.ok(v.every((x, i) => Object.is(x, residentOne[c][i])), `resident wasm, one vector, ${c}`);
      assert.ok(v.every((x, i) => Object.is(x, copied[c][i])), `wasm one vector on a copy, ${c}`);
    });
    assert.ok(Math.hypot(...one[0]) > 0);
  });

  it('a layer large enough for the ordering (48×48) keeps full rank and solves its normal equations', () => {
    const sys = convSystem(8, 48, 3, 6, 3, 1, 0);
    const r = solveLayer(sys, { tol: 1e-10 });
    assert.equal(r.path, 'column');
    assert.equal(r.rank, sys.n);
    const check = new Float64Array(sys.s.rows);
    for (let i = 0; i < sys.s.rows; i++) {
      for (let q = sys.s.ptr[i]; q < sys.s.ptr[i + 1]; q++) check[i] += sys.s.val[q] * r.x[sys.s.idx[q]];
    }
    // least squares: the normal equations' residual Sᵀ(Sx − s) + Gᵀ(Gx − g) vanishes
    const res = new Float64Array(sys.n);
    for (let i = 0; i < sys.s.rows; i++) {
      const e = check[i] - sys.sRhs[i];
      for (let q = sys.s.ptr[i]; q < sys.s.ptr[i + 1]; q++) res[sys.s.idx[q]] += sys.s.val[q] * e;
    }
    for (let j = 0; j < sys.grad.rows; j++) {
      let gx = 0;
      const { ptr, idx, val } = sys.grad;
      for (let q = ptr[j]; q < ptr[j + 1]; q++) gx += val[q] * r.x[idx[q]];
      const e = gx - sys.gradRhs[j];
      for (let q = ptr[j]; q < ptr[j + 1]; q++) res[idx[q]] += val[q] * e;
    }
    const scale = Math.hypot(...r.x) * 100;
    assert.ok(Math.hypot(...res) < 1e-8 * scale, `normal residual ${Math.hypot(...res)}`);
  });
});
