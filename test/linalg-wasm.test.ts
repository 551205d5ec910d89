import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import { blockedPivotedCholesky, pivotedCholesky } from '../src/linalg/dense.js';
import {
  choleskyEnvelope, Envelope, solveEnvelope, solveEnvelopeMany,
} from '../src/linalg/envelope.js';
import {
  blockedPivotedCholeskyFast, blockedPivotedCholeskyWasm, pivotedCholeskyFast, pivotedCholeskyWasm,
  solveEnvelopeManyWasm,
} from '../src/linalg/wasm/dense.js';
import { matmulAdd } from '../src/linalg/matmul.js';
import { solveEnvelopeFast } from '../src/linalg/envelope-solve.js';
import { matmulAddFast, MatmulWorkspace } from '../src/linalg/wasm/matmul.js';

/**
 * The WebAssembly pivoted Cholesky factorisations against their JavaScript references on seeded
 * random PSD matrices, full rank and rank-deficient: the kernels keep each entry's summation order,
 * so rank, pivot order and factor must be equal to the bit (not merely close).
 */

/** F Fᵀ for an n×r F with columns of spread scales, plus exact duplicate rows (ties) and zero rows. */
function psd(n: number, r: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const f = Array.from({ length: n }, () =>
    Array.from({ length: r }, (_, k) => rng.normal() * 2 ** (-k / 8)));
  if (n > 6) { f[n - 1] = f[1].slice(); f[n - 2] = new Array(r).fill(0); f[3] = f[0].map((v) => 2 * v); }
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    let s = 0;
    for (let k = 0; k < r; k++) s += f[i][k] * f[j][k];
    a[i * n + j] = s;
    a[j * n + i] = s;
  }
  return a;
}

/** Scaled to unit diagonal as the solver does (pivots become squared sines), staying exactly symmetric. */
function unitDiagonal(a: Float64Array, n: number): Float64Array {
  const d = Float64Array.from({ length: n }, (_, i) => (a[i * n + i] > 0 ? 1 / Math.sqrt(a[i * n + i]) : 0));
  return a.map((v, k) => v * (d[Math.floor(k / n)] * d[k % n]));
}

const lower = (a: Float64Array, n: number) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) out.push(a[i * n + j]);
  return Float64Array.from(out);
};

const bits = (x: Float64Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);

const CASES: [n: number, r: number, nb: number][] = [
  [1, 1, 48], [7, 7, 48], [13, 5, 4], [50, 50, 48], [97, 40, 8], [130, 130, 48], [161, 90, 48],
  [203, 203, 16], [256, 17, 48],
];

describe('WebAssembly pivoted Cholesky', () => {
  it('blockedPivotedCholesky: same rank, permutation, pivots and lower triangle, to the bit', () => {
    for (const [n, r, nb] of CASES) for (const scaled of [false, true]) {
      let a = psd(n, r, 1000 + n + r);
      if (scaled) a = unitDiagonal(a, n);
      const ref = a.slice(), got = a.slice();
      const x = blockedPivotedCholesky(ref, n, 1e-10, nb);
      const y = blockedPivotedCholeskyWasm(got, n, 1e-10, nb);
      const what = `n=${n} r=${r} nb=${nb} scaled=${scaled}`;
      assert.equal(y.rank, x.rank, what);
      if (n > 6 && r < n) assert.ok(x.rank < n, what);
      assert.deepEqual([...y.perm], [...x.perm], what);
      assert.deepEqual(bits(y.pivots), bits(x.pivots), what);
      assert.deepEqual(bits(lower(got, n)), bits(lower(ref, n)), what);
    }
  });
  it('pivotedCholesky: same rank, pivots, pivot values and factor, to the bit', () => {
    for (const [n, r, nb] of CASES) {
      const a = unitDiagonal(psd(n, r, 2000 + n + r), n);
      const column = (j: number, out: Float64Array) => { for (let i = 0; i < n; i++) out[i] = a[i * n + j]; };
      const diag = Float64Array.from({ length: n }, (_, i) => a[i * n + i]);
      const x = pivotedCholesky(n, column, diag, 1e-10);
      const y = pivotedCholeskyWasm(n, column, diag, 1e-10, nb);
      const what = `n=${n} r=${r} nb=${nb}`;
      assert.equal(y.rank, x.rank, what);
      if (n > 6 && r < n) assert.ok(x.rank < n, what);
      assert.deepEqual([...y.pivots], [...x.pivots], what);
      assert.deepEqual(bits(y.pivotValues), bits(x.pivotValues), what);
      assert.deepEqual(bits(y.l), bits(x.l), what);
    }
  });
  it('gives the same bytes on every run and through the solver\'s entry points', () => {
    const n = 120, a = unitDiagonal(psd(n, 70, 7), n);
    const runs = [0, 1, 2].map(() => {
      const m = a.slice();
      blockedPivotedCholeskyFast(m, n, 1e-10);
      return m;
    });
    for (const m of runs) assert.deepEqual(bits(m), bits(runs[0]));
    const column = (j: number, out: Float64Array) => { for (let i = 0; i < n; i++) out[i] = a[i * n + j]; };
    const diag = Float64Array.from({ length: n }, (_, i) => a[i * n + i]);
    const fast = pivotedCholeskyFast(n, column, diag, 1e-10);
    assert.deepEqual(bits(fast.l), bits(pivotedCholesky(n, column, diag, 1e-10).l));
  });
  it('equals the reference on a matrix that is not exactly symmetric (it then runs the reference)', () => {
    const n = 60, a = psd(n, 30, 9);
    const d = Float64Array.from({ length: n }, (_, i) => 1 / Math.sqrt(a[i * n + i] || 1));
    const skew = a.map((v, k) => v * d[Math.floor(k / n)] * d[k % n]);
    const ref = skew.slice(), got = skew.slice();
    const x = blockedPivotedCholesky(ref, n, 1e-10), y = blockedPivotedCholeskyWasm(got, n, 1e-10);
    assert.deepEqual([...y.perm], [...x.perm]);
    assert.deepEqual(bits(got), bits(ref));
    const column = (j: number, out: Float64Array) => {
      for (let i = 0; i < n; i++) out[i] = skew[i * n + j];
    };
    const diag = Float64Array.from({ length: n }, (_, i) => skew[i * n + i]);
    const wasm = pivotedCholeskyWasm(n, column, diag, 1e-10);
    assert.deepEqual(bits(wasm.l), bits(pivotedCholesky(n, column, diag, 1e-10).l));
  });
  it('refuses more than 2 GiB with a RangeError (the solver then runs the reference)', () => {
    assert.throws(() => blockedPivotedCholeskyWasm(new Float64Array(0), 17000, 1e-10), RangeError);
  });
});

describe('envelope solves, many right-hand sides at once', () => {
  it('give each vector solveEnvelope\'s bits, in JS and WebAssembly (zeros, −0, a partial block)', () => {
    const rng = new Rng(5), n = 90;
    const first = Int32Array.from({ length: n }, (_, i) => Math.max(0, i - 1 - (i * 7) % 13));
    const ptr = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) ptr[i + 1] = ptr[i] + i - first[i] + 1;
    const data = new Float64Array(ptr[n]);
    for (let i = 0; i < n; i++) {
      for (let j = first[i]; j < i; j++) data[ptr[i] + j - first[i]] = rng.normal() * 0.1;
      data[ptr[i + 1] - 1] = n;
    }
    const env = new Envelope(n, first, ptr, data);
    assert.ok(choleskyEnvelope(env, 1e-12).ok);
    const bs = Array.from({ length: 19 }, (_, c) => Float64Array.from({ length: n }, (_, i) =>
      (c === 1 ? 0 : c === 2 ? -0 : c % 3 === 0 && i < n / 2 ? 0 : c === 4 && i === 0 ? -0 : rng.normal())));
    const ref = bs.map((b) => { const x = b.slice(); solveEnvelope(env, x); return x; });
    const js = bs.map((b) => b.slice()), wasm = bs.map((b) => b.slice());
    solveEnvelopeMany(env, js);
    solveEnvelopeManyWasm(env, wasm);
    for (let c = 0; c < bs.length; c++) {
      assert.deepEqual(bits(js[c]), bits(ref[c]), `vector ${c} (JavaScript)`);
      assert.deepEqual(bits(wasm[c]), bits(ref[c]), `vector ${c} (WebAssembly)`);
    }
  });
});

describe('solveEnvelopeFast (four forward chains, two backward rows at a time)', () => {
  it('gives solveEnvelope\'s bits: rows starting inside a block, decoupled parts, zeros and −0', () => {
    const rng = new Rng(8);
    for (const n of [1, 2, 5, 91, 96]) {
      // rows 41.. start at or after 41, so [0, 41) and [41, n) are decoupled; some rows are their diagonal
      const first = Int32Array.from({ length: n }, (_, i) => (i % 9 === 4 ? i
        : Math.max(i >= 41 ? 41 : 0, i - Math.floor(rng.uniform() * 16))));
      const ptr = new Int32Array(n + 1);
      for (let i = 0; i < n; i++) ptr[i + 1] = ptr[i] + i - first[i] + 1;
      const data = new Float64Array(ptr[n]);
      for (let i = 0; i < n; i++) {
        for (let j = first[i]; j < i; j++) data[ptr[i] + j - first[i]] = rng.normal() * 0.1;
        data[ptr[i + 1] - 1] = 3 + rng.uniform();
      }
      const env = new Envelope(n, first, ptr, data);
      assert.ok(choleskyEnvelope(env, 1e-12).ok);
      const cases = [
        (i: number) => rng.normal(), () => 0, () => -0, (i: number) => (i < 41 ? 0 : rng.normal()),
        (i: number) => (i < 41 ? -0 : rng.normal()), (i: number) => (i >= 41 ? 0 : rng.normal()),
        (i: number) => (i % 5 === 0 ? 0 : rng.normal()),
      ];
      for (const [c, value] of cases.entries()) {
        const b = Float64Array.from({ length: n }, (_, i) => value(i));
        const ref = b.slice(), got = b.slice();
        solveEnvelope(env, ref);
        solveEnvelopeFast(env, got);
        assert.deepEqual(bits(got), bits(ref), `n ${n}, case ${c}`);
      }
    }
  });
});

describe('matmulAddFast (the kernels module\'s float64 GEMM)', () => {
  it('equals the JavaScript matmulAdd to the bit, onto a nonzero C, on odd and even shapes', () => {
    const rng = new Rng(21), shared = new MatmulWorkspace(); // one workspace over every shape, in turn
    for (const [m, n, k] of [[37, 41, 53], [64, 64, 64], [5, 130, 101], [129, 3, 200], [1, 300, 250]]) {
      const a = Float64Array.from({ length: m * k }, () => rng.normal());
      const b = Float64Array.from({ length: k * n }, () => rng.normal() * 1e3);
      const c0 = Float64Array.from({ length: m * n }, () => rng.normal());
      const ref = c0.slice(), fast = c0.slice();
      matmulAdd(ref, a, b, m, n, k);
      matmulAddFast(fast, a, b, m, n, k);
      assert.deepEqual(Buffer.from(fast.buffer), Buffer.from(ref.buffer), `${m}×${n}×${k}`);
      const reused = c0.slice();
      shared.add(reused, a, b, m, n, k);
      assert.deepEqual(Buffer.from(reused.buffer), Buffer.from(ref.buffer), `${m}×${n}×${k}, shared`);
      // and against a product summed independently, entry by entry
      const i = m - 1, j = n - 1;
      let s = c0[i * n + j];
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      assert.equal(ref[i * n + j], s);
    }
  });
});
