import type { GramSolver } from '../linalg/gramsolver.js';

/**
 * What the layer solver may reuse between calls, owned by whoever runs a sequence of related solves
 * (an audit followed by attacks on the same model, a study worker's cells) and passed in explicitly:
 * nothing is shared behind the callers' backs.
 *
 * - Factors of the sparse part S = [weight rows; padding rows], which depends only on the layer's
 *   geometry, weights and which weight rows are kept (all, or an active set): a study of many images
 *   on one smooth model factors each layer once. Entries match
 *   on an exact copy of the weights, so weights changed in place never hit a stale entry.
 * - The last few solutions, keyed on everything a solution depends on (geometry, weights, right-hand
 *   sides, gradient rows, options), compared exactly: hybrid and copa repeat rgap's recursion and meet
 *   the same systems wherever the layers above were determined.
 */
export interface ColumnFactor {
  /** The columns the factor was built on (touched by S or G); another set needs another factor. */
  touched: Uint8Array;
  solver: GramSolver | null;
}

export interface CachedFactors {
  column?: ColumnFactor;
  dropped?: number[];
  rows?: GramSolver | null;
}

export interface StoredSolution<T> {
  key: string;
  arrays: (Float64Array | Int32Array)[];
  solution: T;
}

const sameArray = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
};

export class SolverCache {
  private readonly factors: {
    key: string; weight: Float64Array; known: Uint8Array | null; factors: CachedFactors;
  }[] = [];
  private readonly solutions: StoredSolution<unknown>[] = [];
  /** How often each kind of entry was reused (tests check that reuse happens). */
  readonly hits = { factors: 0, solutions: 0 };

  constructor(readonly factorSlots = 8, readonly solutionSlots = 4) {}

  /**
   * The factor entry for a layer's geometry, exact weights and kept weight rows (an active set drops
   * rows, so S differs with it), created empty on a miss.
   */
  factorsFor(geometryKey: string, weight: Float64Array, known?: Uint8Array): CachedFactors {
    const sameKnown = (k: Uint8Array | null) => (k === null ? !known : !!known && sameArray(k, known));
    const hit = this.factors.findIndex(
      (e) => e.key === geometryKey && sameKnown(e.known) && sameArray(e.weight, weight));
    if (hit >= 0) {
      const [e] = this.factors.splice(hit, 1);
      this.factors.unshift(e);
      this.hits.factors++;
      return e.factors;
    }
    const e = {
      key: geometryKey, weight: Float64Array.from(weight), known: known ? known.slice() : null, factors: {},
    };
    this.factors.unshift(e);
    if (this.factors.length > this.factorSlots) this.factors.pop();
    return e.factors;
  }

  /** A stored solution for exactly this key and these arrays, or undefined. */
  findSolution<T>(key: string, arrays: (Float64Array | Int32Array)[]): T | undefined {
    const hit = this.solutions.findIndex(
      (e) => e.key === key && e.arrays.every((a, i) => sameArray(a, arrays[i])));
    if (hit < 0) return undefined;
    const [e] = this.solutions.splice(hit, 1);
    this.solutions.unshift(e);
    this.hits.solutions++;
    return e.solution as T;
  }

  /** Keeps a solution under copies of its arrays (callers may change theirs afterwards). */
  storeSolution<T>(key: string, arrays: (Float64Array | Int32Array)[], solution: T): void {
    this.solutions.unshift({ key, arrays: arrays.map((a) => a.slice()), solution });
    if (this.solutions.length > this.solutionSlots) this.solutions.pop();
  }
}
