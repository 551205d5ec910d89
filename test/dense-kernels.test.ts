import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import { gramOfColumns } from '../src/linalg/envelope.js';
import { csrOfMarkedEnvelope, markedGramOfColumns } from '../src/linalg/envgram.js';
import { gramMatrix } from '../src/linalg/gram.js';
import { CsrBuilder, transpose, type Csr } from '../src/linalg/sparse.js';
import { markedGramOfColumnsWasm } from '../src/linalg/wasm/envgram.js';

/**
 * The dense solver's kernels of issue 11's second round against their references, to the bit: each
 * keeps every entry's operations and their order, so the audits' outputs stay byte-identical.
 */

const bits = (x: Float64Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);

/** A banded sparse rows × cols matrix (rows of varying reach), with exact zeros and repeated rows. */
export function banded(rows: number, cols: number, seed: number): Csr {
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
