import { Matrix } from 'ml-matrix';
import { Rng } from '../src/core/rng.js';
import { buildModel } from '../src/model/chain-spec.js';
import { buildLayerSystem, type LayerSystem } from '../src/solve/system.js';

/** A conv layer's system with seeded random weights, pre-activations, dL/dz and weight gradient. */
export function randomLayer(
  cin: number, h: number, cout: number, k: number, s: number, p: number, seed: number,
): LayerSystem {
  const model = buildModel({ name: 't', input: [cin, h, h], layers: [
    { type: 'conv', out: cout, kernel: k, stride: s, padding: p, bias: false, activation: 'tanh' },
    { type: 'linear', out: 3, bias: true, activation: 'identity' }] });
  const g = model.layers[0];
  const rng = new Rng(seed);
  const nz = g.outC * g.outH * g.outW;
  const rand = (n: number, sc = 1) => Float64Array.from({ length: n }, () => sc * rng.normal());
  return buildLayerSystem(g, {
    weight: rand(cout * cin * k * k), bias: null, z: rand(nz), dz: rand(nz, 0.01),
    dW: rand(cout * cin * k * k, 0.01),
  });
}

/** The system as one dense matrix U (weight and padding rows, then gradient rows) and its right-hand side. */
export function denseSystem(sys: LayerSystem): { u: Matrix; v: number[] } {
  const rows: number[][] = [], v: number[] = [];
  for (const [m, rhs] of [[sys.s, sys.sRhs], [sys.grad, sys.gradRhs]] as const) {
    for (let r = 0; r < m.rows; r++) {
      const row = new Array(sys.n).fill(0);
      for (let k = m.ptr[r]; k < m.ptr[r + 1]; k++) row[m.idx[k]] += m.val[k];
      rows.push(row);
      v.push(rhs[r]);
    }
  }
  return { u: new Matrix(rows), v };
}
