import { fail } from './errors.js';
import {
  formatBytes, MAX_ARRAY_ELEMENTS, MAX_DENSE_ROWS, SCHUR_BLOCK_BYTES, SCHUR_TILE_ROWS,
} from './limits.js';
import type { Graph } from '../model/graph.js';
import { sizeOf } from '../tensor/tensor.js';
import type { LayerGeometry, Model, SystemGeometry } from '../model/chain-spec.js';

/**
 * Memory estimates, made before anything large is allocated, so that a model or input too big for
 * the machine is refused with one line instead of exhausting memory half-way. They follow the
 * arrays the code allocates (docs/DESIGN.md compares them with measured peaks); the solver checks
 * its data-dependent fallbacks against the same ceiling when it is about to take them.
 */
export interface MemoryPart {
  what: string;
  bytes: number;
}

export interface MemoryEstimate {
  bytes: number;
  /** The largest single contribution, named so that the refusal says what is too big. */
  largest: MemoryPart;
}

const F64 = 8, I32 = 4;
/**
 * Node itself and our modules before any model exists (53 MiB measured), and arrays already freed but
 * not yet collected: V8 collects typed arrays' memory only after it has grown by tens of MiB
 * (30–60 MiB measured above the estimate on gradient matching and refined solves).
 */
const RUNTIME_BYTES = 128 * 2 ** 20;

/** Sums parts into an estimate (the runtime included). */
export function estimate(parts: MemoryPart[]): MemoryEstimate {
  const real = parts.filter((p) => p.bytes > 0);
  const largest = real.reduce(
    (a, b) => (b.bytes > a.bytes ? b : a), { what: 'the runtime', bytes: RUNTIME_BYTES });
  return { bytes: RUNTIME_BYTES + real.reduce((s, p) => s + p.bytes, 0), largest };
}

/** Of several alternatives (methods run one after the other), the parts of the largest. */
export function largestOf(alternatives: MemoryPart[][]): MemoryPart[] {
  const total = (ps: MemoryPart[]) => ps.reduce((s, p) => s + p.bytes, 0);
  return alternatives.reduce((a, b) => (total(b) > total(a) ? b : a), []);
}

/** Refuses, in one line, work whose estimate exceeds the ceiling. */
export function checkMemory(e: MemoryEstimate, ceiling: number, doing: string): void {
  if (e.bytes <= ceiling) return;
  fail(`${doing} needs an estimated ${formatBytes(e.bytes)} of memory `
    + `(largest part: ${e.largest.what}, ${formatBytes(e.largest.bytes)}), `
    + `above the ${formatBytes(ceiling)} ceiling; raise it with --max-memory if the machine has that much`);
}

/** Every tensor of the model (and as many copies as `copies`: gradients, targets, trained weights). */
export function parameterBytes(model: Graph, copies: number): MemoryPart {
  const n = model.params.reduce((s, p) => s + sizeOf(p.shape), 0);
  return { what: `${copies} copies of the ${n} parameters`, bytes: copies * n * F64 };
}

/** Every node's output over the batch: one forward pass keeps them all for the backward one. */
const activations = (model: Graph) => model.nodes.reduce((s, n) => s + sizeOf(n.shape), sizeOf(model.input));

/** A forward and backward pass over a batch: the outputs and their adjoints. */
export function passBytes(model: Graph, batch = 1): MemoryPart {
  return {
    what: 'the activations of a forward and backward pass', bytes: 3 * batch * activations(model) * F64,
  };
}

/**
 * One evaluation of the gradient-matching objective records the forward pass, the backward pass and
 * the distance, then differentiates them all: about twelve arrays per node output and four per
 * parameter tensor; the optimiser keeps its own vectors of the batch's size (Adam 5, L-BFGS with
 * memory 10 about 26).
 */
export function matchingBytes(model: Graph, batch: number, optimiser: 'adam' | 'lbfgs'): MemoryPart {
  const params = model.params.reduce((s, p) => s + sizeOf(p.shape), 0);
  const input = batch * sizeOf(model.input);
  return {
    what: 'gradient matching',
    bytes: (12 * batch * activations(model) + 4 * params + (optimiser === 'adam' ? 5 : 26) * input) * F64,
  };
}

/** Sizes of one layer's constraint system (system.ts) and of the structured factorisation it takes. */
export interface SystemSize {
  /** Columns: the padded input. */
  n: number;
  /** Weight and padding rows (the sparse part S), gradient rows (G). */
  ms: number;
  mg: number;
  nnzS: number;
  nnzG: number;
  /**
   * The path the solver takes on a well-conditioned S: column when S has as many rows as columns,
   * row while the gradient rows fit a dense Schur complement, dense beyond that.
   */
  path: 'column' | 'row' | 'dense';
  /** Bytes of the system's arrays. */
  systemBytes: number;
  /** Bytes of the factorisation kept for reuse (envelope of SᵀS or SSᵀ). */
  factorBytes: number;
  /** Bytes the solve allocates on top, released when it returns. */
  workBytes: number;
}

export function systemSize(g: SystemGeometry): SystemSize {
  const padH = g.inH + 2 * g.pad, padW = g.inW + 2 * g.pad;
  const n = g.inC * padH * padW;
  const p = g.outH * g.outW, k2 = g.inC * g.kh * g.kw;
  const weightRows = g.outC * p, paddingRows = g.inC * (padH * padW - g.inH * g.inW);
  const ms = weightRows + paddingRows, mg = g.outC * k2;
  const nnzS = weightRows * k2 + paddingRows, nnzG = mg * p;
  // CSR (8-byte values, 4-byte indices and row pointers), right-hand sides, the row-to-output map;
  // built in place, nothing more
  const systemBytes = (nnzS + nnzG) * (F64 + I32) + (ms + mg) * (F64 + I32) + ms * I32;
  const path = ms >= n ? 'column' : mg <= MAX_DENSE_ROWS ? 'row' : 'dense';
  // SSᵀ in the rows' spatial order: a row couples with rows whose patches overlap it
  const rowsBack = ((Math.ceil(g.kh / g.stride) - 1) * g.outW + Math.ceil(g.kw / g.stride)) * g.outC;
  const rowBand = Math.min(ms, Math.ceil(rowsBack * (ms / Math.max(1, weightRows))));
  let factorBytes: number, workBytes: number;
  if (path === 'column') {
    // SᵀS in spatial order (h, w, c): a column couples with those up to (kh−1) image rows and
    // kw−1 columns back, all channels
    const band = ((g.kh - 1) * padW + g.kw) * g.inC;
    factorBytes = Math.min(n, band) * n * F64 + 2 * n * I32;
    // PCG and condition-estimate vectors, and the gradient rows' products
    workBytes = 12 * n * F64 + 2 * mg * F64;
  } else if (path === 'row') {
    factorBytes = rowBand * ms * F64 + 2 * ms * I32;
    // Y = B⁻¹SGᵀ (mg × ms), its products with the null space of the Schur complement (about C_out²
    // columns), the Schur complement, its pivoted factor while it grows and its final copy (mg × mg
    // each), and two copies of S (transposed for the Gram matrix, and without its dependent rows)
    const nullDim = Math.min(mg, g.outC * g.outC);
    workBytes = (mg + nullDim) * ms * F64 + 3 * mg * mg * F64 + 2 * nnzS * (F64 + I32) + 2 * n * F64
      + schurScratchBytes(n, ms, mg, nnzS, nnzG);
  } else {
    // the column Gram matrix of all rows (n × n), after the dependent rows of S were looked for
    factorBytes = 0;
    workBytes = n * n * F64 + rowBand * ms * F64 + (nnzS + nnzG) * (F64 + I32) + 4 * n * F64;
  }
  return { n, ms, mg, nnzS, nnzG, path, systemBytes, factorBytes, workBytes };
}

/**
 * The Schur complement's scratch in WebAssembly memory (linalg/wasm/schur.ts): copies of S, G and Gᵀ,
 * Yᵀ copied in groups of tiles of at most SCHUR_BLOCK_BYTES, and a tile of D = Gᵀ − SᵀY (n × 16). Sc
 * itself is factored where it is formed: it is the first of the row path's mg × mg matrices.
 */
function schurScratchBytes(n: number, ms: number, mg: number, nnzS: number, nnzG: number): number {
  const tile = SCHUR_TILE_ROWS * F64;
  const tiles = Math.ceil(mg / SCHUR_TILE_ROWS);
  const group = Math.min(tiles, Math.max(1, Math.floor(SCHUR_BLOCK_BYTES / Math.max(1, ms * tile))));
  return (nnzS + 2 * nnzG) * (F64 + I32) + group * ms * tile + n * tile;
}

/** The dense fallback's matrix: the Gram matrix of the touched columns, n × n. */
export function denseFallbackBytes(columns: number): number {
  return columns * columns * F64;
}

/**
 * Refuses a model whose layer systems could not be addressed at all (Int32 indices), whatever the
 * ceiling: these sizes are a property of the code, not of the machine. The analyses call it first.
 */
export function checkSolvable(model: Pick<Model, 'layers'>): void {
  for (const g of solvedLayers(model)) {
    const s = systemSize(g);
    const entries = Math.max(s.nnzS, s.nnzG, s.factorBytes / F64);
    if (entries > MAX_ARRAY_ELEMENTS) {
      fail(`layer ${g.index}'s system would need ${entries.toExponential(2)} entries in one array, `
        + `beyond the ${MAX_ARRAY_ELEMENTS} an index can address; use a smaller input or layer`);
    }
  }
}

/** The layers whose systems are solved: all but a final linear layer (closed form). */
function solvedLayers(model: Pick<Model, 'layers'>): LayerGeometry[] {
  const L = model.layers.length;
  return model.layers.filter((g, i) => !(i === L - 1 && g.type === 'linear'));
}

/**
 * The layer-wise solves of a model (audit, rgap, and the analytic part of hybrid and copa). Factors
 * stay cached for every layer (a solver cache keeps them for reuse), the systems of the layers are
 * kept by the solution memo, and one layer's work is live at a time.
 */
export function solveBytes(model: Pick<Model, 'layers'>): MemoryPart[] {
  const sizes = solvedLayers(model).map((g) => ({ g, s: systemSize(g) }));
  if (sizes.length === 0) return [];
  const kept = sizes.reduce((t, { s }) => t + s.factorBytes + 2 * s.systemBytes, 0);
  const work = sizes.reduce((a, b) => (b.s.workBytes > a.s.workBytes ? b : a));
  const biggest = sizes.reduce((a, b) =>
    (b.s.factorBytes + b.s.systemBytes > a.s.factorBytes + a.s.systemBytes ? b : a));
  return [
    {
      what: `the layer systems and their factors (layer ${biggest.g.index}: `
        + `${biggest.s.ms + biggest.s.mg} rows × ${biggest.s.n} unknowns, ${biggest.s.path} path)`,
      bytes: kept,
    },
    { what: `layer ${work.g.index}'s solve`, bytes: work.s.workBytes },
  ];
}

/**
 * A worker thread's own runtime beyond the arrays of its layer: its V8 heap, our modules and the
 * WebAssembly memory of the dense kernels (35 MiB measured after a small solve; V8 collects late).
 */
const WORKER_BYTES = 64 * 2 ** 20;

/**
 * How many of a model's layer solves may run side by side (up to `wanted`) within the ceiling: each
 * concurrent solve holds a copy of its system, its factor, its work arrays and a worker, on top of
 * `base` (the one-thread estimate, which counts one solve already). The largest count first; one
 * solve at a time is always allowed (the one-thread estimate decides about that).
 */
export function concurrentSolves(
  model: Pick<Model, 'layers'>, wanted: number, base: number, ceiling: number,
): { solves: number; limit: number; wantedBytes: number } {
  const each = solvedLayers(model).map((g) => {
    const s = systemSize(g);
    return s.systemBytes + s.factorBytes + s.workBytes + WORKER_BYTES;
  }).sort((a, b) => b - a);
  const limit = Math.max(1, Math.min(wanted, each.length));
  const need = (k: number) => base + each.slice(0, k).reduce((t, b) => t + b, 0);
  let solves = 1;
  while (solves < limit && need(solves + 1) <= ceiling) solves++;
  return { solves, limit, wantedBytes: need(limit) };
}
