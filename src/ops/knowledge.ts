import { CsrBuilder, type Csr } from '../linalg/sparse.js';

/**
 * What the layer-wise analysis knows of one sample's tensor while it walks back from the next weighted
 * layer: values known one by one, and linear combinations of values that are known although their
 * terms are not (a mean-pooled window, a batch-normalised channel with its statistics eliminated),
 * as the rows of a sparse matrix over the tensor's values. Only which combinations are known matters
 * to the rank: the right-hand sides come from the true values (the what-if) when the system is built.
 */
export interface Knowledge {
  values: Uint8Array;
  /** Known combinations beyond the single values, or null for none. */
  sums: Csr | null;
  /**
   * δ (dL/d this tensor) is known only up to one positive scale per channel: set by train batch
   * norm, whose backward pass divides by the sample's deviation, unknown to whoever solves for its input.
   */
  deltaUpToScale?: boolean;
}

export const everyValue = (size: number): Knowledge => ({ values: new Uint8Array(size).fill(1), sums: null });

/**
 * Rows of (column, coefficient) terms as a Csr over `cols` values, repeated columns merged and zero
 * terms and empty rows left out; null when no row is left.
 */
export function sumsOf(rows: Iterable<Iterable<[number, number]>>, cols: number): Csr | null {
  const b = new CsrBuilder(cols);
  const acc = new Map<number, number>();
  for (const row of rows) {
    acc.clear();
    for (const [c, v] of row) acc.set(c, (acc.get(c) ?? 0) + v);
    if ([...acc.values()].some((v) => v !== 0)) b.pushTerms(acc, true);
  }
  return b.rows > 0 ? b.build() : null;
}

/** The terms of each row of a Csr. */
export function* rowsOf(m: Csr | null): Generator<[number, number][]> {
  if (!m) return;
  for (let r = 0; r < m.rows; r++) {
    const terms: [number, number][] = [];
    for (let k = m.ptr[r]; k < m.ptr[r + 1]; k++) terms.push([m.idx[k], m.val[k]]);
    yield terms;
  }
}

/**
 * Known sums through an op whose output i is slope(i) × its input i at the true input (ReLU's 0 or 1,
 * leaky ReLU's sign, eval batch norm's scale): each term scaled, a zero slope drops the term.
 */
export function scaleSums(sums: Csr | null, slope: (i: number) => number, cols: number): Csr | null {
  if (!sums) return null;
  const scaled = [...rowsOf(sums)].map((row) => row.map(([i, v]): [number, number] => [i, v * slope(i)]));
  return sumsOf(scaled, cols);
}

/** Known sums through an op whose output i is its input source(i) (max pooling's winners). */
export function remapSums(sums: Csr | null, source: (i: number) => number, cols: number): Csr | null {
  if (!sums) return null;
  const moved = [...rowsOf(sums)].map((row) => row.map(([i, v]): [number, number] => [source(i), v]));
  return sumsOf(moved, cols);
}
