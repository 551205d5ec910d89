import type { LayerSolution } from '../solve/layersolve.js';
import type { LayerGeometry, SystemGeometry } from '../model/chain-spec.js';
import type { LayerSystem } from '../solve/system.js';

/** What gradleak reports for each layer of a model. */
export interface LayerReport {
  index: number;
  type: 'conv' | 'linear';
  /** Columns of the layer's system: the padded input size. */
  unknowns: number;
  weightConstraints: number;
  gradientConstraints: number;
  paddingConstraints: number;
  /** Sums of weight rows from known sums of outputs (mean pooling, train batch norm), when any. */
  sumConstraints?: number;
  rank: number;
  /** rank − unknowns (≤ 0; 0 means the layer's input is determined). */
  rankDeficiency: number;
  structuralRank: number;
  /** True when the numerical rank differs from the count-based one: worth a look. */
  rankDiffersFromStructural: boolean;
  condition: number;
  /**
   * How the layer was solved: 'closed-form' (last layer), 'column', 'row' or 'dense'; 'none'
   * without a rule.
   */
  solver: string;
  /** The graph node holding the layer's weights. */
  node?: string;
  /** Why the layer-wise analysis has no system for this layer (its numbers are then not measured). */
  noRule?: string;
  /** The layer whose system holds this one's unknowns and rows (a residual block's first layer). */
  partOf?: number;
  /**
   * Why the attacker's system for this layer is an estimate (max-pool winners, mean pooling through an
   * activation, the active set inside a residual block): its input is a
   * guess and its rank says nothing of the true system, so it is left out of the indices.
   */
  estimated?: string;
}

/** A layer the layer-wise analysis has no rule for: named, with the reason, and no measurement. */
export function noRuleReport(
  index: number, type: 'conv' | 'linear', node: string, unknowns: number, reason: string,
): LayerReport {
  return {
    index, type, unknowns, weightConstraints: 0, gradientConstraints: 0, paddingConstraints: 0,
    rank: 0, rankDeficiency: 0,
    structuralRank: 0, rankDiffersFromStructural: false, condition: 0, solver: 'none', node, noRule: reason,
  };
}

/**
 * Count-based rank of a layer system. The weight rows W and gradient rows G are tied by
 * Σ_k W[o',k]·(G row (o,k)) = Σ_p dz[o,p]·(W row (o',p)) for every pair of output channels (o, o'):
 * both sides are the same vector over the input, since dW[o] = Σ_p dz[o,p]·patch_p and
 * z[o',p] = W[o']·patch_p. That gives C_out² dependencies (fewer only if both W and dz lose row
 * rank). Padding rows are unit rows and always independent; input pixels that no kernel position
 * reaches (strides that skip the last rows) are zero columns. With weight rows left out (ReLU or
 * max-pool active sets) only the identities whose rows were all kept count (solve/system.ts).
 */
export function structuralRank(sys: LayerSystem): number {
  const { g } = sys;
  const p = g.outH * g.outW;
  const rw = Math.min(g.outC, g.inC * g.kh * g.kw);
  const rd = Math.min(g.outC, p);
  const dependencies = sys.maskedDependencies ?? g.outC * g.outC - (g.outC - rw) * (g.outC - rd);
  const rows = sys.weightRows + sys.grad.rows - dependencies;
  return sys.paddingRows + Math.min(coveredInterior(g), rows);
}

function coveredInterior(g: SystemGeometry): number {
  const span = (len: number, out: number, k: number) => {
    let covered = 0;
    for (let q = 0; q < len; q++) {
      const qp = q + g.pad;
      // covered if some output position o has o·s ≤ qp < o·s + k
      const oMin = Math.max(0, Math.ceil((qp - k + 1) / g.stride));
      if (oMin < out && oMin * g.stride <= qp) covered++;
    }
    return covered;
  };
  return g.inC * span(g.inH, g.outH, g.kh) * span(g.inW, g.outW, g.kw);
}

export function layerReport(sys: LayerSystem, sol: LayerSolution): LayerReport {
  // the count models neither sum rows nor scale-free or block gradient rows: there the numerical
  // rank is all there is
  const structural = sys.counted ? structuralRank(sys) : sol.rank;
  return {
    index: sys.g.index,
    type: sys.g.type,
    unknowns: sys.n,
    weightConstraints: sys.weightRows,
    gradientConstraints: sys.grad.rows,
    paddingConstraints: sys.paddingRows,
    ...(sys.sumRows > 0 ? { sumConstraints: sys.sumRows } : {}),
    rank: sol.rank,
    rankDeficiency: sol.rank - sys.n,
    structuralRank: structural,
    rankDiffersFromStructural: structural !== sol.rank,
    condition: sol.condition,
    solver: sol.path,
  };
}

/**
 * The last layer, solved in closed form from dL/dW = dz ⊗ x: its input is fully determined, but for
 * `undetermined` inputs whose every equation was pruned (an adaptive reading).
 */
export function closedFormReport(g: LayerGeometry, undetermined = 0): LayerReport {
  const n = g.inC * g.inH * g.inW;
  return {
    index: g.index, type: g.type, unknowns: n, weightConstraints: g.outC, gradientConstraints: g.outC * n,
    // 0 − u, not −u: no −0 when nothing is undetermined
    paddingConstraints: 0, rank: n - undetermined, rankDeficiency: 0 - undetermined, structuralRank: n,
    rankDiffersFromStructural: undetermined > 0, condition: 1, solver: 'closed-form',
  };
}

/** Python's round(): halves go to the even neighbour (the authors' index uses it). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const diff = v - f;
  if (diff < 0.5) return f;
  if (diff > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** A layer whose rank is a measurement: it has a system, and not one built from an estimate. */
const measured = (r: LayerReport) => !r.noRule && !r.estimated;

/**
 * The security index as the authors' code computes it: Σ over non-final layers i of
 * round(rd_i·(L−1−i)/(L−1)). Deficiencies near the input weigh most.
 */
export function copaIndex(reports: LayerReport[]): number {
  const L = reports.length;
  let s = 0;
  for (let i = 0; i < L - 1; i++) {
    if (measured(reports[i])) s += roundHalfEven((reports[i].rankDeficiency * (L - 1 - i)) / (L - 1));
  }
  return s;
}

/**
 * A size-free variant: the same weights applied to the fraction of each layer's unknowns left
 * undetermined, so models with different input sizes compare (range −(L/2)..0 for L layers).
 */
export function normalisedIndex(reports: LayerReport[]): number {
  const L = reports.length;
  let s = 0;
  for (let i = 0; i < L - 1; i++) {
    const r = reports[i];
    if (measured(r)) s += ((r.rankDeficiency / r.unknowns) * (L - 1 - i)) / (L - 1);
  }
  return s;
}

/** The authors' index computed from the structural ranks: instant, for any model size. */
export function structuralIndex(reports: LayerReport[]): number {
  return copaIndex(reports.map((r) => ({ ...r, rankDeficiency: r.structuralRank - r.unknowns })));
}
