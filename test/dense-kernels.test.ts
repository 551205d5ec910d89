import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import { choleskyEnvelope, Envelope, gramOfColumns } from '../src/linalg/envelope.js';
import { csrOfMarkedEnvelope, markedGramOfColumns } from '../src/linalg/envgram.js';
import { denseGramFactor, gramMatrix } from '../src/linalg/gram.js';
import { denseGramFactorFast, denseGramFactorWasm } from '../src/linalg/wasm/dense-gram.js';
import { schurColumns, schurPivotedCholesky } from '../src/linalg/schur.js';
import { schurColumnsTiledWasm, schurPivotedCholeskyWasm } from '../src/linalg/wasm/schur.js';
import { CsrBuilder, transpose, type Csr } from '../src/linalg/sparse.js';
import {
  choleskyEnvelopeBlockedWasm, markedGramOfColumnsWasm,
} from '../src/linalg/wasm/envelope.js';

/**
 * The dense solver's kernels of issue 11's second round against their references, to the bit: each
 * keeps every entry's operations and their order, so the audits' outputs stay byte-identical.
 */

const bits = (x: Float64Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);

/** A banded sparse rows × cols matrix (rows of varying reach), with exact zeros and repeated rows. */
function banded(rows: number, cols: number, seed: number): Csr {
  const rng = new Rng(seed), b = new CsrBuilder(cols);
  const saved: [number[], number[]][] = [];
  for (let r = 0; r < rows; r++) {
    let idx: number[] = [], val: number[] = [];
    if (r % 11 === 5 && saved.length > 2) [idx, val] = saved[saved.length - 2];
    else if (r % 17 !== 9) {
      const c0 = Math.floor((r * cols) / rows), w = 2 + ((r * 5) % 9);
      for (let c = c0; c < Math.min(cols, c0 + w); c++) { idx.push(c); val.push(c % 7 === 3 ? 0 : rng.normal()); }
    }
    saved.push([idx, val]);
    b.push(idx, val);
  }
  return b.build();
}

describe('the Gram matrix summed once in its envelope, with its pattern', () => {
  for (const [rows, cols, seed] of [[40, 60, 1], [150, 120, 2], [300, 330, 3], [7, 9, 4]]) {
    it(`${rows}×${cols}: gramOfColumns' envelope and gramMatrix's CSR, to the bit`, () => {
      for (const r of [banded(rows, cols, seed), transpose(banded(cols, rows, seed + 10))]) {
        // every third column dropped, the rest reversed: order is a general injection
        const order = new Int32Array(r.cols).fill(-1);
        let n = 0;
        for (let c = r.cols - 1; c >= 0; c--) if (c % 3 !== 1) order[c] = n++;
        const ref = gramOfColumns(r, order, n), { env, mark } = markedGramOfColumns(r, order, n);
        assert.deepEqual(env.first, ref.first);
        assert.deepEqual(bits(env.data), bits(ref.data));
        const w = markedGramOfColumnsWasm(r, order, n);
        assert.deepEqual(bits(w.env.data), bits(ref.data), 'WebAssembly');
        assert.deepEqual(w.mark, mark, 'WebAssembly pattern');
        const csr = csrOfMarkedEnvelope(env, mark), want = gramMatrix(r, order, n);
        assert.deepEqual(csr.ptr, want.ptr);
        assert.deepEqual(csr.idx, want.idx);
        assert.deepEqual(bits(csr.val), bits(want.val));
        if (rows > 10) assert.ok(want.val.some((v) => v === 0) && want.idx.length > n, 'structural zeros kept');
      }
    });
  }
});

it('a row listing a column twice goes to the reference, with its order of sums', () => {
  const b = new CsrBuilder(5);
  b.push([0, 2, 2, 4], [1.5, 0.1, 0.7, -2]);
  b.push([1, 2, 3], [0.3, 1 / 3, 3]);
  const r = b.build(), order = Int32Array.from([0, 1, 2, 3, 4]);
  const ref = markedGramOfColumns(r, order, 5), w = markedGramOfColumnsWasm(r, order, 5);
  assert.deepEqual(bits(w.env.data), bits(ref.env.data));
  assert.equal(ref.env.get(2, 2), 0.1 * 0.1 + 0.1 * 0.7 + 0.7 * 0.1 + 0.7 * 0.7 + (1 / 3) * (1 / 3));
});

describe('the envelope Cholesky 16 rows at a time', () => {
  const copy = (e: Envelope) => new Envelope(e.n, e.first, e.ptr, e.data.slice());
  /** SSᵀ of a banded S whose rows reach 2..(2+spread) columns: ragged envelopes, drops, zero rows. */
  const gram = (rows: number, cols: number, seed: number) =>
    gramOfColumns(transpose(banded(rows, cols, seed)), Int32Array.from({ length: rows }, (_, i) => i), rows);
  for (const [rows, cols, seed] of [[40, 60, 1], [150, 120, 2], [300, 330, 3], [7, 9, 4], [333, 900, 5]]) {
    it(`${rows}×${cols}: the reference's factor, report and (on failure) data, to the bit`, () => {
      for (const allowDrop of [true, false]) {
        const e = gram(rows, cols, seed), x = copy(e), y = copy(e);
        const rx = choleskyEnvelope(x, 1e-6, allowDrop), ry = choleskyEnvelopeBlockedWasm(y, 1e-6, allowDrop);
        const what = `allowDrop=${allowDrop}`;
        assert.deepEqual(ry, rx, what);
        // zero and repeated rows: drops with allowDrop, an early failure without
        if (rows > 100) assert.ok(allowDrop ? rx.dropped.length > 0 : !rx.ok, what);
        assert.deepEqual(bits(y.data), bits(x.data), what);
      }
    });
  }
  it('a wide, full-rank envelope (rows of 60 columns on a 500-wide band)', () => {
    const rng = new Rng(9), b = new CsrBuilder(1200);
    for (let r = 0; r < 3000; r++) {
      const c0 = Math.floor((r * 1140) / 2999), cs = Array.from({ length: 60 }, (_, k) => c0 + k);
      b.push(cs, cs.map(() => rng.normal()));
    }
    const s = b.build(), e = gramOfColumns(s, Int32Array.from({ length: 1200 }, (_, i) => i), 1200);
    const x = copy(e), y = copy(e);
    const rx = choleskyEnvelope(x, 1e-10), ry = choleskyEnvelopeBlockedWasm(y, 1e-10);
    assert.ok(rx.ok && rx.minPivot > 0);
    assert.deepEqual(ry, rx);
    assert.deepEqual(bits(y.data), bits(x.data));
  });
});

/** A sparse rows × cols matrix with about `per` entries a row, some of them exact zeros. */
function sparse(rows: number, cols: number, per: number, rng: Rng): Csr {
  const b = new CsrBuilder(cols);
  for (let r = 0; r < rows; r++) {
    const cs = [...new Set(Array.from({ length: per }, () => Math.floor(rng.uniform() * cols)))]
      .sort((x, y) => x - y);
    b.push(cs, cs.map((_, i) => (i === 1 ? 0 : rng.normal())));
  }
  return b.build();
}

/** S, G and Y (with exact and negative zeros, which the reference skips) for a Schur complement. */
function schurCase(ms: number, mg: number, n: number) {
  const rng = new Rng(ms * 100 + mg);
  const s = sparse(ms, n, 6, rng), g = sparse(mg, n, 9, rng);
  const y = Array.from({ length: mg }, () => Float64Array.from({ length: ms }, (_, r) =>
    (r % 5 === 0 ? 0 : r % 7 === 0 ? -0 : rng.normal())));
  const ref = schurColumns(s, g, y, n);
  assert.ok(ref.some((v) => v !== 0) || mg * ms === 0);
  return { s, g, y, ref };
}

describe("the row path's Schur complement in tiles of gradient rows", () => {
  // 16 gradient rows a tile: one partial tile, one exact, several with a partial last one
  for (const [ms, mg, n] of [[40, 7, 30], [0, 5, 12], [25, 16, 50], [60, 1, 20], [90, 75, 120], [70, 40, 90]]) {
    it(`${ms} rows of S, ${mg} gradient rows, ${n} unknowns: the same bits`, () => {
      const { s, g, y, ref } = schurCase(ms, mg, n);
      assert.deepEqual(bits(schurColumnsTiledWasm(s, g, y, n)), bits(ref));
    });
  }
});

describe("the row path's Schur complement with Yᵀ copied in groups of tiles", () => {
  // group bytes for 25 rows of S (3200 B a tile of 16): 1 → one tile a group, 6400 → two, 1e9 → all
  for (const [ms, mg, n, groupBytes] of [[40, 7, 30, 1], [25, 17, 50, 1], [25, 40, 50, 6400],
    [60, 1, 20, 1], [0, 5, 12, 1], [30, 70, 40, 1e9], [30, 70, 40, 8000]]) {
    it(`${ms} rows of S, ${mg} gradient rows, ${n} unknowns, ${groupBytes} B groups: the same bits`, () => {
      const { s, g, y, ref } = schurCase(ms, mg, n);
      const got = schurColumnsTiledWasm(s, g, y, n, groupBytes);
      assert.equal(got.length, mg * mg);
      assert.deepEqual(bits(got), bits(ref));
    });
  }
});

describe("the row path's Schur complement factored where it is formed", () => {
  for (const [ms, mg, n, groupBytes] of [[40, 7, 30, 1e9], [25, 40, 50, 6400], [0, 5, 12, 1],
    [90, 75, 120, 1e9], [30, 70, 40, 8000]]) {
    it(`${ms} rows of S, ${mg} gradient rows, ${n} unknowns: rank, pivots and factor to the bit`, () => {
      const { s, g, y } = schurCase(ms, mg, n);
      // a zero row's scale stays 1, as the solver's does; the others vary by orders of magnitude
      const dsc = Float64Array.from({ length: mg }, (_, i) => (i % 9 === 4 ? 1 : 10 ** ((i % 5) - 2)));
      for (const tol of [1e-10, 0.3]) {
        const ref = schurPivotedCholesky(s, g, y, n, dsc, tol);
        const got = schurPivotedCholeskyWasm(s, g, y, n, dsc, tol, true, groupBytes);
        assert.equal(got.rank, ref.rank);
        assert.deepEqual(got.pivots, ref.pivots);
        assert.deepEqual(bits(got.pivotValues), bits(ref.pivotValues));
        assert.deepEqual(bits(got.l), bits(ref.l));
        const bare = schurPivotedCholeskyWasm(s, g, y, n, dsc, tol, false, groupBytes);
        assert.equal(bare.l.length, 0);
        assert.deepEqual(bits(bare.pivotValues), bits(ref.pivotValues));
        if (tol > 0.1 && mg > 20) assert.ok(ref.rank < Math.min(mg, n), 'a rank-deficient case');
      }
    });
  }
});

/** The lower triangle's bits (the WebAssembly factorisations leave scratch above the diagonal). */
const lower = (a: Float64Array, n: number) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) out.push(a[i * n + j]);
  return bits(Float64Array.from(out));
};

describe("the dense path's UᵀU summed, scaled and factored in one memory", () => {
  for (const [rows, cols, per, seed] of [[90, 60, 7, 1], [300, 200, 12, 2], [40, 70, 5, 3], [8, 3, 2, 4]]) {
    it(`${rows}×${cols}: rank, pivots, scaling and factor to the bit`, () => {
      const u = sparse(rows, cols, per, new Rng(seed));
      // every fifth column dropped; column 1's entries zeroed (a kept column with a zero diagonal)
      for (let k = 0; k < u.idx.length; k++) if (u.idx[k] === 1) u.val[k] = 0;
      const order = new Int32Array(cols).fill(-1), back: number[] = [];
      for (let c = 0; c < cols; c++) if (c % 5 !== 2) { order[c] = back.length; back.push(c); }
      const bk = Int32Array.from(back), n = bk.length;
      for (const tol of [1e-10, 0.3]) {
        const ref = denseGramFactor(u, order, bk, tol);
        const got = denseGramFactorWasm(u, order, bk, tol, true)!;
        assert.equal(got.rank, ref.rank);
        assert.deepEqual(got.perm, ref.perm);
        assert.deepEqual(bits(got.pivots), bits(ref.pivots));
        assert.deepEqual(bits(got.dsc), bits(ref.dsc));
        assert.deepEqual(lower(got.a, n), lower(ref.a, n));
        assert.equal(denseGramFactorWasm(u, order, bk, tol, false)!.a.length, 0, 'no factor asked for');
      }
      assert.ok(denseGramFactor(u, order, bk, 0.3).rank < n, 'a rank-deficient case');
    });
  }
  it('a row listing a column twice goes to the reference', () => {
    const b = new CsrBuilder(4);
    b.push([0, 2, 2, 3], [1.5, 0.1, 0.7, -2]);
    b.push([1, 2, 3], [0.3, 1 / 3, 3]);
    b.push([0, 1], [1, 2]);
    const u = b.build(), order = Int32Array.from([0, 1, 2, 3]), back = order.slice();
    assert.equal(denseGramFactorWasm(u, order, back, 1e-10, true), null);
    const ref = denseGramFactor(u, order, back, 1e-10), got = denseGramFactorFast(u, order, back, 1e-10, true);
    assert.equal(got.rank, ref.rank);
    assert.deepEqual(lower(got.a, 4), lower(ref.a, 4));
  });
});
