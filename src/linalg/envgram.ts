import { gramOfColumns, envelopeFirst, type Envelope } from './envelope.js';
import type { Csr } from './sparse.js';

/**
 * The Gram matrix RᵀR in its envelope (as gramOfColumns builds it) together with its sparsity pattern
 * (mark[e] = 1 where a row of R couples the two positions, whatever the value), so that gramMatrix's
 * CSR can be read off the envelope instead of being summed a second time: gramOfColumns with its
 * marks. Each entry is the same sum in the same order as gramMatrix's (R's rows in increasing order,
 * products v_a·v_b), so the values are equal to the bit.
 */
export function markedGramOfColumns(
  r: Csr, order: Int32Array, n: number, first = envelopeFirst(r, order, n),
): { env: Envelope; mark: Uint8Array } {
  let size = 0;
  for (let i = 0; i < n; i++) size += i - first[i] + 1;
  const mark = new Uint8Array(size);
  return { env: gramOfColumns(r, order, n, first, mark), mark };
}

/**
 * gramMatrix's result (both triangles, columns increasing) from a marked envelope: the upper
 * triangle's row i is the lower triangle's column i, gathered in a counting pass.
 */
export function csrOfMarkedEnvelope(env: Envelope, mark: Uint8Array): Csr {
  const { n, first, ptr: ep, data } = env;
  const count = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const b = ep[i] - first[i];
    for (let j = first[i]; j <= i; j++) if (mark[b + j]) { count[i + 1]++; if (j < i) count[j + 1]++; }
  }
  const ptr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) ptr[i + 1] = ptr[i] + count[i + 1];
  const idx = new Int32Array(ptr[n]), val = new Float64Array(ptr[n]);
  // lower part of each row first (its columns < i, then i), in row order; the upper part is filled as
  // later rows i' > i are scanned, which visits them in increasing i'
  const fill = ptr.slice(0, n);
  for (let i = 0; i < n; i++) {
    const b = ep[i] - first[i];
    for (let j = first[i]; j <= i; j++) {
      if (!mark[b + j]) continue;
      idx[fill[i]] = j; val[fill[i]++] = data[b + j];
      if (j < i) { idx[fill[j]] = i; val[fill[j]++] = data[b + j]; }
    }
  }
  return { rows: n, cols: n, ptr, idx, val };
}
