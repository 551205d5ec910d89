import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { structuralRank } from '../src/analysis/reports.js';
import { solveLayer, solveLayerMany } from '../src/solve/layersolve.js';
import { SolverCache } from '../src/solve/solver-cache.js';
import { Rng } from '../src/core/rng.js';
import { buildModel } from '../src/model/chain-spec.js';
import { buildLayerSystem, type LayerSystem } from '../src/solve/system.js';
import { denseSystem as dense, randomLayer as layer } from './layer-systems.js';

/**
 * The structured solver against a dense oracle (ml-matrix's SVD): numerical rank with the same
 * relative tolerance, and the minimum-norm least-squares solution pinv(U)·v for right-hand sides
 * that are not consistent (as in an attack on a deficient layer).
 * The oracle: ml-matrix's SVD pseudo-inverse applied to the system's right-hand side.
 */
function pseudoInverseSolution(sys: LayerSystem): number[] {
  const { u, v } = dense(sys);
  return new SingularValueDecomposition(u, { autoTranspose: true }).solve(Matrix.columnVector(v)).to1DArray();
}

const cases: [string, number, number, number, number, number, number][] = [
  ['stride 1, over-determined (column path)', 2, 6, 4, 3, 1, 0],
  ['stride 2, under-determined (row path)', 3, 8, 2, 4, 2, 0],
  ['row path with more pivots than a block of its null-space solve', 3, 12, 3, 4, 2, 0],
  ['stride 2 with padding', 2, 7, 3, 3, 2, 1],
  ['stride 3 leaving rows uncovered', 1, 8, 2, 3, 3, 0],
  ['single output channel', 3, 6, 1, 3, 1, 0],
  ['square sparse part (k5 s2 p2)', 3, 8, 12, 5, 2, 2],
  ['ill-conditioned square sparse part (k3 s2 p1: dense path)', 3, 12, 12, 3, 2, 1],
];

const forcedDense: [string, number, number, number, number, number, number][] = [
  ['dense column path, rank-deficient (more rows than columns)', 2, 7, 3, 3, 2, 1],
  ['dense row path, rank-deficient (fewer rows than columns)', 3, 8, 2, 4, 2, 0],
  ['dense column path, full rank', 2, 6, 4, 3, 1, 0],
];

describe('layer solver against a dense SVD oracle', () => {
  for (const [title, cin, h, cout, k, s, p, forceDense] of [...cases.map((c) => [...c, false] as const), ...forcedDense.map((c) => [...c, true] as const)]) {
    it(title, () => {
      const sys = layer(cin, h, cout, k, s, p, 11);
      const sol = solveLayer(sys, { tol: 1e-10, path: forceDense ? 'dense' : 'auto' });
      if (forceDense) assert.equal(sol.path, 'dense');
      const { u, v } = dense(sys);
      // SVD of the row-scaled matrix: rank is invariant to row scaling, and the tolerance is relative.
      const norms = u.to2DArray().map((r) => Math.hypot(...r) || 1);
      const scaled = new Matrix(u.to2DArray().map((r, i) => r.map((x) => x / norms[i])));
      const sv = new SingularValueDecomposition(scaled, { computeLeftSingularVectors: false, computeRightSingularVectors: false }).diagonal;
      const oracleRank = sv.filter((x) => x > 1e-5 * sv[0]).length;
      assert.equal(sol.rank, oracleRank, `rank (${sol.path})`);
      // minimum-norm least squares via the pseudo-inverse of the unscaled matrix
      const svd = new SingularValueDecomposition(u, { autoTranspose: true });
      const pinv = svd.solve(Matrix.columnVector(v)).to1DArray();
      const err = Math.hypot(...pinv.map((x, i) => x - sol.x[i])) / Math.hypot(...pinv);
      assert.ok(err < 1e-7, `relative error ${err} (${sol.path})`);
    });
  }

  for (const [title, cin, h, cout, k, s, p, forceDense] of [...cases.map((c) => [...c, false] as const), ...forcedDense.map((c) => [...c, true] as const)]) {
    it(`further right-hand sides from the same factors: ${title}`, () => {
      const sys = layer(cin, h, cout, k, s, p, 11);
      const opts = { tol: 1e-10, path: forceDense ? 'dense' as const : 'auto' as const };
      const rng = new Rng(5);
      const rhs = [0, 1].map(() => ({
        sRhs: Float64Array.from({ length: sys.s.rows }, () => (rng.uniform() < 0.5 ? 0 : rng.normal())),
        gradRhs: Float64Array.from({ length: sys.grad.rows }, () => rng.normal()),
      }));
      const { solution, extra } = solveLayerMany(sys, opts, rhs);
      assert.deepEqual(solution.x, solveLayer(sys, opts).x, 'the main solution keeps its bits');
      assert.equal(extra.length, 2);
      const { u } = dense(sys);
      const svd = new SingularValueDecomposition(u, { autoTranspose: true });
      rhs.forEach((e, i) => {
        const pinv = svd.solve(Matrix.columnVector([...e.sRhs, ...e.gradRhs])).to1DArray();
        const err = Math.hypot(...pinv.map((x, j) => x - extra[i][j])) / Math.hypot(...pinv);
        assert.ok(err < 1e-7, `right-hand side ${i}: relative error ${err} (${solution.path})`);
      });
    });
  }

  it('reuses no stale factors when the weights change in place', () => {
    const cache = new SolverCache();
    const sys = layer(2, 8, 3, 4, 2, 0, 21);
    solveLayer(sys, { tol: 1e-10, cache }); // fills the factor cache for these weights
    for (let i = 0; i < sys.weight.length; i++) sys.weight[i] *= -1.7 + 0.01 * i;
    const rebuilt = buildLayerSystem(sys.g, { weight: sys.weight, bias: null, z: sys.sRhs.slice(0, sys.weightRows), dz: new Float64Array(sys.g.outC * sys.g.outH * sys.g.outW).map((_, i) => Math.sin(i)), dW: sys.gradRhs });
    const sol = solveLayer(rebuilt, { tol: 1e-10, cache });
    assert.equal(cache.hits.factors, 0, 'changed weights are a different entry');
    const pinv = pseudoInverseSolution(rebuilt);
    assert.ok(Math.hypot(...pinv.map((x, i) => x - sol.x[i])) < 1e-7 * Math.hypot(...pinv));
  });

  it('serves a repeated system from its cache, never a stale or shared solution', () => {
    const cache = new SolverCache();
    const sys = layer(3, 8, 2, 4, 2, 0, 31);
    const first = solveLayer(sys, { tol: 1e-10, cache });
    const kept = first.x.slice();
    first.x.fill(7); // a caller that edits its solution must not edit the memo
    assert.deepEqual(solveLayer(sys, { tol: 1e-10, cache }).x, kept);
    assert.equal(cache.hits.solutions, 1, 'the second solve was a lookup');
    const nudged = { ...sys, gradRhs: sys.gradRhs.map((v, i) => (i === 0 ? v + 1e-3 : v)) };
    const other = solveLayer(nudged, { tol: 1e-10, cache });
    assert.equal(cache.hits.solutions, 1, 'a changed right-hand side is not a hit');
    assert.equal(cache.hits.factors, 1, 'but it reuses the factors of the same weights');
    const pinv = pseudoInverseSolution(nudged);
    assert.ok(Math.hypot(...pinv.map((x, i) => x - other.x[i])) < 1e-7 * Math.hypot(...pinv), 'solved anew');
    assert.notDeepEqual(other.x, kept);
    solveLayer(sys, { tol: 1e-10 });
    assert.equal(cache.hits.solutions, 1, 'without a cache nothing is shared');
  });

  it('zero entries on untouched columns keep the column path; a factor is not reused for other touched columns', () => {
    // a zero in every kernel's corner leaves the image's corner pixel to the gradient rows alone:
    // with dL/dz zero at the corner output it is untouched (its gradient-row entries are exact zeros,
    // which once turned the column path's products into NaN and sent it to the row path), otherwise
    // touched, under the same weights and so the same cache entry
    const model = buildModel({ name: 't', input: [1, 5, 5], layers: [
      { type: 'conv', out: 3, kernel: 2, stride: 1, padding: 0, bias: false, activation: 'tanh' }, { type: 'linear', out: 2, bias: true, activation: 'identity' }] });
    const g = model.layers[0];
    const rng = new Rng(4);
    const weight = Float64Array.from({ length: 12 }, (_, i) => (i % 4 === 0 ? 0 : rng.normal()));
    const z = Float64Array.from({ length: 48 }, () => rng.normal()), dW = Float64Array.from({ length: 12 }, () => 0.01 * rng.normal());
    const dzWith = Float64Array.from({ length: 48 }, () => 0.01 * rng.normal());
    const dzWithout = dzWith.map((v, i) => (i % 16 === 0 ? 0 : v));
    const untouched = buildLayerSystem(g, { weight, bias: null, z, dz: dzWithout, dW });
    const touched = buildLayerSystem(g, { weight, bias: null, z, dz: dzWith, dW });
    const cache = new SolverCache();
    assert.equal(solveLayer(untouched, { tol: 1e-10, cache }).path, 'column');
    const sol = solveLayer(touched, { tol: 1e-10, cache });
    assert.equal(cache.hits.factors, 1, 'same weights, same entry');
    const pinv = pseudoInverseSolution(touched);
    assert.ok(Math.hypot(...pinv.map((x, i) => x - sol.x[i])) < 1e-7 * Math.hypot(...pinv), `relative error ${Math.hypot(...pinv.map((x, i) => x - sol.x[i])) / Math.hypot(...pinv)}`);
  });

  it('covers all three solver paths', () => {
    const paths = new Set(cases.map(([, cin, h, cout, k, s, p]) => solveLayer(layer(cin, h, cout, k, s, p, 11), { tol: 1e-10, rankOnly: true }).path));
    assert.deepEqual([...paths].sort(), ['column', 'dense', 'row']);
  });
});

describe('count-based (structural) rank', () => {
  it('equals the numerical rank without padding: C_out² dependencies between weight and gradient rows', () => {
    for (const [cin, h, cout, k, s] of [[3, 12, 6, 4, 2], [6, 10, 3, 4, 2], [3, 9, 1, 3, 1], [2, 9, 5, 3, 3], [12, 17, 20, 3, 2]]) {
      const sys = layer(cin, h, cout, k, s, 0, 5);
      assert.equal(solveLayer(sys, { tol: 1e-10, rankOnly: true }).rank, structuralRank(sys), `cin${cin} h${h} cout${cout} k${k} s${s}`);
    }
  });
  it('is only an upper bound with padding when the kernel is wider than the stride (cnn6d layer 1 geometry)', () => {
    const sys = layer(12, 17, 20, 3, 2, 1, 5);
    const numeric = solveLayer(sys, { tol: 1e-10, rankOnly: true }).rank;
    assert.equal(structuralRank(sys), 4244);
    assert.equal(numeric, 4052); // numpy's SVD of the same matrix agrees (see docs/DESIGN.md)
  });
});
