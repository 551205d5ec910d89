import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import { schurColumns } from '../src/linalg/schur.js';
import { CsrBuilder } from '../src/linalg/sparse.js';
import { schurColumnsBlocked } from '../src/linalg/wasm/schur-blocks.js';

describe("the row path's Schur complement over blocks of gradient rows", () => {
  /** A sparse rows × cols matrix with about `per` entries a row, some of them exact zeros. */
  function sparse(rows: number, cols: number, per: number, rng: Rng) {
    const b = new CsrBuilder(cols);
    for (let r = 0; r < rows; r++) {
      const cs = [...new Set(Array.from({ length: per }, () => Math.floor(rng.uniform() * cols)))]
        .sort((x, y) => x - y);
      b.push(cs, cs.map((_, i) => (i === 1 ? 0 : rng.normal())));
    }
    return b.build();
  }
  // block bytes for n = 50 unknowns: 800 → blocks of 2, 2400 → 6 (then an odd last block of 17)
  for (const [ms, mg, n, blockBytes] of [[40, 7, 30, 480], [25, 17, 50, 800], [25, 17, 50, 2400],
    [60, 1, 20, 1], [0, 5, 12, 96], [30, 9, 40, 1e9]]) {
    it(`${ms} rows of S, ${mg} gradient rows, ${n} unknowns, ${blockBytes} B blocks: the same bits`, () => {
      const rng = new Rng(ms * 100 + mg);
      const s = sparse(ms, n, 6, rng), g = sparse(mg, n, 9, rng);
      // Y with exact zeros and negative zeros, which the reference skips
      const y = Array.from({ length: mg }, () => Float64Array.from({ length: ms }, (_, r) =>
        (r % 5 === 0 ? 0 : r % 7 === 0 ? -0 : rng.normal())));
      const ref = schurColumns(s, g, y, n);
      assert.ok(ref.some((v) => v !== 0) || mg * ms === 0);
      const got = schurColumnsBlocked(s, g, y, n, blockBytes);
      assert.equal(got.length, mg * mg);
      assert.ok(got.every((v, i) => Object.is(v, ref[i])));
    });
  }
});
