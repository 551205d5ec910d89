import {
  envelopeCost, envelopeFirst, gramOfColumns, type CholeskyReport, type Envelope,
} from './envelope.js';
import { csrOfMarkedEnvelope } from './envgram.js';
import { choleskyEnvelopeBlockedFast, markedGramOfColumnsFast } from './wasm/envelope.js';
import { solveEnvelopeFast } from './envelope-solve.js';
import { solveEnvelopeManyFast } from './wasm/dense.js';
import { frontKernelWasm } from './wasm/frontal.js';
import { nestedDissection } from './dissection.js';
import { gramMatrix } from './gram.js';
import { frontalCost, frontalPatterns, multifrontalCholesky } from './multifrontal.js';
import { addMulTransVec, mulVec, transpose, type Csr } from './sparse.js';
import { Rng } from '../core/rng.js';
import { squaredNorm } from './vec.js';

/**
 * Solves with a Gram matrix of a sparse S (SSᵀ of its rows, or SᵀS of chosen columns) through its
 * Cholesky factor: in the envelope of the spatial order, or sparse in nested-dissection order when
 * that costs less (large images). A Gram matrix squares S's condition number, so
 * the condition is estimated; when it is large, each solve is refined against the exact operator
 * (products with S and Sᵀ, no Gram matrix): the error then scales with cond(S) rather than cond(S)².
 * Beyond MAX_CONDITION_S even that is not trustworthy and `ok` is false.
 */
export const MAX_CONDITION_S = 1e6;

/**
 * Where S's columns sit in the image: column c is pixel (h, w) = ((c mod plane) div width,
 * (c mod plane) mod width), as system.ts numbers a layer's padded input. The ordering cuts the image
 * along it; without it the Gram matrix is dissected along its own numbering (1-D).
 */
export interface GridLayout {
  plane: number;
  width: number;
}

/** A factored Gram matrix: solve(v) replaces v by Gram⁻¹v. */
export interface GramFactor {
  n: number;
  kind: 'envelope' | 'sparse';
  report: CholeskyReport;
  solve(v: Float64Array): void;
  /** solve() on each vector, with the same results (the envelope reads its factor once per block). */
  solveMany(vs: Float64Array[]): void;
}

/**
 * The sparse factorisation's multiply-adds count this much more than the envelope's (indirect
 * addressing against contiguous rows; measured: see docs/DESIGN.md, "Analytic scaling").
 */
const SPARSE_PENALTY = 1;
/** Envelope costs below this (about 0.2 s of work) are not worth an ordering. */
const SMALL_ENVELOPE = 4e8;
/** Envelopes up to this many entries (144 MB with the pattern) are built before the choice. */
const MARKED_ENVELOPE = 2 ** 24;

function envelopeSize(first: Int32Array): number {
  let size = 0;
  for (let i = 0; i < first.length; i++) size += i - first[i] + 1;
  return size;
}

/**
 * The Gram matrix of R's columns c with order[c] ≥ 0 (at position order[c]; n of them), factored in
 * its envelope or, when the operation counts favour it, sparse in nested-dissection order. Vertex
 * p's pixel is that of R's column pixelColumn(p). `force` picks the method (tests).
 */
export function factorGram(
  r: Csr, order: Int32Array, n: number, pixelColumn: (p: number) => number, tol: number,
  allowDrop: boolean, layout?: GridLayout, force?: GramFactor['kind'],
): GramFactor {
  const first = envelopeFirst(r, order, n);
  const envCost = envelopeCost(first);
  if (force !== 'sparse') {
    // small systems: the ordering and symbolic analysis would cost more than they could save
    if (force === 'envelope' || envCost < SMALL_ENVELOPE) return envelopeFactor(r, order, n, tol, allowDrop);
  }
  // A moderate envelope is summed once and the sparse pattern read off it: the choice below often
  // falls on the envelope, which gramMatrix's second summation would then have cost for nothing.
  const marked = envelopeSize(first) <= MARKED_ENVELOPE
    ? markedGramOfColumnsFast(r, order, n, first) : null;
  const gram = marked ? csrOfMarkedEnvelope(marked.env, marked.mark) : gramMatrix(r, order, n);
  const x = new Int32Array(n), y = new Int32Array(n);
  for (let p = 0; p < n; p++) {
    if (!layout) { x[p] = p; continue; }
    const q = pixelColumn(p) % layout.plane;
    y[p] = Math.floor(q / layout.width);
    x[p] = q % layout.width;
  }
  const tree = nestedDissection(gram, x, y);
  const fronts = frontalPatterns(gram, tree);
  if (force !== 'sparse' && envCost <= SPARSE_PENALTY * frontalCost(fronts, tree)) {
    return envelopeFactor(r, order, n, tol, allowDrop, marked?.env);
  }
  const { report, solves } = multifrontalCholesky(gram, tree, fronts, tol, allowDrop, frontKernelWasm);
  return { n, kind: 'sparse', report, solve: solves.solve, solveMany: solves.solveMany };
}

function envelopeFactor(
  r: Csr, order: Int32Array, n: number, tol: number, allowDrop: boolean, gram?: Envelope,
): GramFactor {
  const first = gram ? gram.first : envelopeFirst(r, order, n);
  const env = gram ?? (envelopeSize(first) <= MARKED_ENVELOPE
    ? markedGramOfColumnsFast(r, order, n, first).env : gramOfColumns(r, order, n));
  const report = choleskyEnvelopeBlockedFast(env, tol, allowDrop);
  return {
    n, kind: 'envelope', report, solve: (v) => solveEnvelopeFast(env, v), solveMany: (vs) => solveEnvelopeManyFast(env, vs),
  };
}

/** SSᵀ over S's rows: a row's pixel is that of its first column. */
export function factorRowGram(
  s: Csr, tol: number, allowDrop: boolean, layout?: GridLayout, force?: GramFactor['kind'],
): GramFactor {
  const ident = new Int32Array(s.rows);
  for (let i = 0; i < s.rows; i++) ident[i] = i;
  return factorGram(transpose(s), ident, s.rows,
    (i) => (s.ptr[i + 1] > s.ptr[i] ? s.idx[s.ptr[i]] : 0), tol, allowDrop, layout, force);
}

export class GramSolver {
  readonly report: CholeskyReport;
  /** Estimated condition number of S (square root of that of the Gram matrix). */
  readonly conditionS: number;
  private readonly refineSteps: number;

  private constructor(
    private readonly factor: GramFactor,
    /** v ↦ Gram·v computed from S itself. */
    readonly applyGram: (v: Float64Array) => Float64Array,
  ) {
    this.report = factor.report;
    this.refineSteps = 0;
    this.conditionS = this.report.ok && factor.n > 0
      ? Math.sqrt(this.estimateCondition())
      : this.report.ok ? 1 : Infinity;
    // eps·cond(Gram) above ~1e-8 would leave visible error in the projections: refine.
    this.refineSteps = this.conditionS ** 2 > 1e8 ? 3 : 0;
  }

  /** SSᵀ over the rows of S (dropped rows only with allowDrop); `factor` is one already made of it. */
  static ofRows(
    s: Csr, tol: number, allowDrop = false, layout?: GridLayout, factor?: GramFactor,
  ): GramSolver {
    return new GramSolver(factor ?? factorRowGram(s, tol, allowDrop, layout), (v) => {
      const tmp = new Float64Array(s.cols);
      addMulTransVec(s, v, tmp);
      return mulVec(s, tmp);
    });
  }

  /** SᵀS over the columns c of S with order[c] ≥ 0, at position order[c] (back inverts order). */
  static ofColumns(
    s: Csr, order: Int32Array, back: Int32Array, tol: number, layout?: GridLayout,
  ): GramSolver {
    const factored = factorGram(s, order, back.length, (p) => back[p], tol, false, layout);
    return new GramSolver(factored, (v) => {
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
    if (this.refineSteps === 0) { this.factor.solve(v); return; }
    const rhs = v.slice();
    this.factor.solve(v);
    for (let k = 0; k < this.refineSteps; k++) {
      const av = this.applyGram(v);
      for (let i = 0; i < av.length; i++) av[i] = rhs[i] - av[i];
      this.factor.solve(av);
      for (let i = 0; i < av.length; i++) v[i] += av[i];
    }
  }

  /**
   * In place: v becomes L⁻ᵀL⁻¹v, the factor's solve without refinement. As a preconditioner this is
   * as good as solve() (an operator within eps·cond of (SSᵀ)⁻¹) at a quarter of its cost.
   */
  solveUnrefined(v: Float64Array): void {
    this.factor.solve(v);
  }

  /** solve() on each vector, in place, with the same results; the factor is read once per block. */
  solveMany(vs: Float64Array[]): void {
    if (this.refineSteps === 0) { this.factor.solveMany(vs); return; }
    // blocks bound the refinement's copies
    for (let c0 = 0; c0 < vs.length; c0 += 64) {
      const block = vs.slice(c0, c0 + 64);
      const rhs = block.map((v) => v.slice());
      this.factor.solveMany(block);
      for (let k = 0; k < this.refineSteps; k++) {
        const avs = block.map((v, c) => {
          const av = this.applyGram(v);
          for (let i = 0; i < av.length; i++) av[i] = rhs[c][i] - av[i];
          return av;
        });
        this.factor.solveMany(avs);
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
    for (let k = 0; k < 12; k++) { this.factor.solve(v); inv = norm(v); v = scale(v, 1 / inv); }
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
