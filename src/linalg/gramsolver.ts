import {
  gramOfColumns, solveEnvelope, type CholeskyReport, type Envelope,
} from './envelope.js';
import { choleskyEnvelopeFast, solveEnvelopeManyFast } from './wasm/dense.js';
import { addMulTransVec, mulVec, transpose, type Csr } from './sparse.js';
import { Rng } from '../core/rng.js';
import { squaredNorm } from './vec.js';

/**
 * Solves with a Gram matrix of a sparse S (SSᵀ of its rows, or SᵀS of chosen columns) through its
 * envelope Cholesky factor. A Gram matrix squares S's condition number, so the condition is
 * estimated; when it is large, each solve is refined against the exact operator (products with S
 * and Sᵀ, no Gram matrix): the error then scales with cond(S) rather than cond(S)². Beyond
 * MAX_CONDITION_S even that is not trustworthy and `ok` is false.
 */
export const MAX_CONDITION_S = 1e6;

export class GramSolver {
  readonly report: CholeskyReport;
  /** Estimated condition number of S (square root of that of the Gram matrix). */
  readonly conditionS: number;
  private readonly refineSteps: number;

  private constructor(
    private readonly factor: Envelope,
    tol: number,
    allowDrop: boolean,
    /** v ↦ Gram·v computed from S itself. */
    readonly applyGram: (v: Float64Array) => Float64Array,
  ) {
    this.report = choleskyEnvelopeFast(this.factor, tol, allowDrop);
    this.refineSteps = 0;
    this.conditionS = this.report.ok && factor.n > 0
      ? Math.sqrt(this.estimateCondition())
      : this.report.ok ? 1 : Infinity;
    // eps·cond(Gram) above ~1e-8 would leave visible error in the projections: refine.
    this.refineSteps = this.conditionS ** 2 > 1e8 ? 3 : 0;
  }

  /** SSᵀ over the rows of S (dropped rows only with allowDrop). */
  static ofRows(s: Csr, tol: number, allowDrop = false): GramSolver {
    const ident = new Int32Array(s.rows);
    for (let i = 0; i < s.rows; i++) ident[i] = i;
    return new GramSolver(gramOfColumns(transpose(s), ident, s.rows), tol, allowDrop, (v) => {
      const tmp = new Float64Array(s.cols);
      addMulTransVec(s, v, tmp);
      return mulVec(s, tmp);
    });
  }

  /** SᵀS over the columns c of S with order[c] ≥ 0, at position order[c] (back inverts order). */
  static ofColumns(s: Csr, order: Int32Array, back: Int32Array, tol: number): GramSolver {
    return new GramSolver(gramOfColumns(s, order, back.length), tol, false, (v) => {
      // fresh work arrays per call: a solver kept in a cache may be used by more than one caller
      const full = new Float64Array(s.cols);
      for (let i = 0; i < back.length; i++) full[back[i]] = v[i];
      const sv = mulVec(s, full);
      full.fill(0);
      addMulTransVec(s, sv, full);
      const out = new Float64Array(back.length);
      for (let i = 0; i < back.length; i++) out[i] = full[back[i]];
      return out;
    });
  }

  get ok(): boolean {
    return this.report.ok && this.conditionS <= MAX_CONDITION_S;
  }

  /** In place: v becomes (SSᵀ)⁻¹ v. */
  solve(v: Float64Array): void {
    if (this.refineSteps === 0) { solveEnvelope(this.factor, v); return; }
    const rhs = v.slice();
    solveEnvelope(this.factor, v);
    for (let k = 0; k < this.refineSteps; k++) {
      const av = this.applyGram(v);
      for (let i = 0; i < av.length; i++) av[i] = rhs[i] - av[i];
      solveEnvelope(this.factor, av);
      for (let i = 0; i < av.length; i++) v[i] += av[i];
    }
  }

  /** solve() on each vector, in place, with the same results; the factor is read once per block. */
  solveMany(vs: Float64Array[]): void {
    if (this.refineSteps === 0) { solveEnvelopeManyFast(this.factor, vs); return; }
    // blocks bound the refinement's copies
    for (let c0 = 0; c0 < vs.length; c0 += 64) {
      const block = vs.slice(c0, c0 + 64);
      const rhs = block.map((v) => v.slice());
      solveEnvelopeManyFast(this.factor, block);
      for (let k = 0; k < this.refineSteps; k++) {
        const avs = block.map((v, c) => {
          const av = this.applyGram(v);
          for (let i = 0; i < av.length; i++) av[i] = rhs[c][i] - av[i];
          return av;
        });
        solveEnvelopeManyFast(this.factor, avs);
        block.forEach((v, c) => { for (let i = 0; i < v.length; i++) v[i] += avs[c][i]; });
      }
    }
  }

  /** λmax/λmin of SSᵀ by a few power and inverse-power iterations (a lower bound, usually tight). */
  private estimateCondition(): number {
    const n = this.factor.n, rng = new Rng(12345);
    const unit = () => {
      const v = Float64Array.from({ length: n }, () => rng.normal());
      return scale(v, 1 / norm(v));
    };
    let v = unit(), lmax = 0;
    for (let k = 0; k < 12; k++) { const w = this.applyGram(v); lmax = norm(w); v = scale(w, 1 / lmax); }
    v = unit();
    let inv = 0;
    for (let k = 0; k < 12; k++) { solveEnvelope(this.factor, v); inv = norm(v); v = scale(v, 1 / inv); }
    return lmax * inv;
  }
}

function norm(v: Float64Array): number {
  return Math.sqrt(squaredNorm(v));
}

function scale(v: Float64Array, a: number): Float64Array {
  for (let i = 0; i < v.length; i++) v[i] *= a;
  return v;
}
