import type { Dissection } from './dissection.js';
import type { CholeskyReport } from './envelope.js';
import type { Csr } from './sparse.js';

/**
 * Multifrontal Cholesky P A Pᵀ = L Lᵀ along a nested-dissection tree. Each tree node eliminates its
 * own positions in a dense frontal matrix over those positions and the later ones they are coupled
 * to (its boundary); the Schur complement on the boundary is added into the parent's front. All
 * arithmetic is on contiguous dense columns, several times faster per operation in JavaScript than a
 * scalar sparse factorisation. Pivots are tested as in envelope.ts: position k is accepted when
 * d_k > tol·A_kk (the squared sine of the angle between its row and the span of the rows eliminated
 * before it); with allowDrop a failing one is dropped (zero row and column in L, unit diagonal) and
 * reported by its index in A.
 */
export interface FrontalFactor {
  n: number;
  perm: Int32Array;
  /** Per node: the positions of its front (own ones first, then the boundary, increasing). */
  rows: Int32Array[];
  /** Per node: its own columns of L, column-major, rows.length entries each. */
  cols: Float64Array[];
  own: Int32Array;
}

/** The front of every node: own positions and boundary, from A's pattern and the children's. */
export function frontalPatterns(a: Csr, d: Dissection): Int32Array[] {
  const n = a.rows, inv = new Int32Array(n);
  for (let k = 0; k < n; k++) inv[d.perm[k]] = k;
  const m = d.start.length;
  const mark = new Int32Array(n).fill(-1);
  const boundary: Int32Array[] = new Array(m);
  const children: number[][] = Array.from({ length: m }, () => []);
  for (let i = 0; i < m; i++) if (d.parent[i] >= 0) children[d.parent[i]].push(i);
  const rows: Int32Array[] = new Array(m);
  for (let i = 0; i < m; i++) {
    const lo = d.start[i], hi = d.end[i], list: number[] = [];
    const add = (p: number) => { if (p >= hi && mark[p] !== i) { mark[p] = i; list.push(p); } };
    for (let p = lo; p < hi; p++) {
      const v = d.perm[p];
      for (let q = a.ptr[v]; q < a.ptr[v + 1]; q++) add(inv[a.idx[q]]);
    }
    for (const c of children[i]) for (const p of boundary[c]) add(p);
    for (const c of children[i]) boundary[c] = new Int32Array(0);
    boundary[i] = Int32Array.from(list).sort();
    const r = new Int32Array(hi - lo + list.length);
    for (let p = lo; p < hi; p++) r[p - lo] = p;
    r.set(boundary[i], hi - lo);
    rows[i] = r;
  }
  return rows;
}

/** Σ over L's columns of their squared lengths: twice the multiply-adds of the factorisation. */
export function frontalCost(rows: Int32Array[], d: Dissection): number {
  let cost = 0;
  for (let i = 0; i < rows.length; i++) {
    const m = rows[i].length, k = d.end[i] - d.start[i];
    for (let j = 0; j < k; j++) cost += (m - j) ** 2;
  }
  return cost;
}

/** What a front kernel is made for: the fronts' positions and own column counts, and the order n. */
export interface FrontPlan {
  n: number;
  rows: Int32Array[];
  own: Int32Array;
  maxFront: number;
}

export function multifrontalCholesky(
  a: Csr, d: Dissection, rows: Int32Array[], tol: number, allowDrop = false,
  makeKernel: (plan: FrontPlan) => FrontKernel = frontKernelJs,
): { factor: FrontalFactor; report: CholeskyReport; solves: FrontalSolves } {
  const n = a.rows, m = rows.length, perm = d.perm;
  const inv = new Int32Array(n);
  for (let k = 0; k < n; k++) inv[perm[k]] = k;
  const local = new Int32Array(n);
  const updates: (Float64Array | null)[] = new Array(m).fill(null);
  const children: number[][] = Array.from({ length: m }, () => []);
  for (let i = 0; i < m; i++) if (d.parent[i] >= 0) children[d.parent[i]].push(i);
  const cols: Float64Array[] = new Array(m), own = new Int32Array(m);
  const isDropped = new Uint8Array(n);
  const dropped: number[] = [];
  const pivots = Float64Array.of(0, Infinity); // the largest and smallest accepted pivot so far
  let maxFront = 0;
  for (let i = 0; i < m; i++) {
    maxFront = Math.max(maxFront, rows[i].length);
    own[i] = d.end[i] - d.start[i];
  }
  const kernel = makeKernel({ n, rows, own, maxFront });
  for (let i = 0; i < m; i++) {
    const r = rows[i], fm = r.length, k = own[i];
    for (let t = 0; t < fm; t++) local[r[t]] = t;
    const f = kernel.front(fm); // column-major, lower triangle used, zero
    const diag = kernel.diag(k), drops = kernel.drops(k);
    for (let j = 0; j < k; j++) {
      const p = r[j], v = perm[p];
      for (let q = a.ptr[v]; q < a.ptr[v + 1]; q++) {
        const pq = inv[a.idx[q]];
        if (pq < p) continue;
        f[j * fm + local[pq]] += a.val[q];
        if (pq === p) diag[j] += a.val[q];
      }
    }
    for (const c of children[i]) {
      // the child's boundary in this front's numbering, looked up once rather than per entry
      const u = updates[c]!, rc = rows[c], kc = own[c], um = rc.length - kc;
      const at = new Int32Array(um);
      for (let t = 0; t < um; t++) at[t] = local[rc[kc + t]];
      for (let s = 0, o = 0; s < um; s++) {
        const base = at[s] * fm;
        for (let t = s; t < um; t++, o++) f[base + at[t]] += u[o];
      }
      updates[c] = null;
    }
    const failed = kernel.eliminate(fm, k, tol, allowDrop, pivots, drops);
    if (failed >= 0) {
      const factor = { n, perm, rows, cols, own };
      return {
        factor, report: { ok: false, dropped, maxPivot: pivots[0], minPivot: pivots[1] },
        solves: frontalSolvesJs(factor),
      };
    }
    for (let j = 0; j < k; j++) {
      if (!drops[j]) continue;
      dropped.push(perm[r[j]]);
      isDropped[r[j]] = 1;
    }
    cols[i] = kernel.keep(i, f, fm, k);
    const um = fm - k;
    if (d.parent[i] >= 0 && um > 0) {
      // the update's lower triangle, packed by column (only t ≥ s is ever added into the parent)
      const u = new Float64Array((um * (um + 1)) / 2);
      for (let s = 0, o = 0; s < um; o += um - s, s++) {
        u.set(f.subarray((k + s) * fm + k + s, (k + s + 1) * fm), o);
      }
      updates[i] = u;
    }
  }
  // a dropped position's row of L is zero too: the factor is then that of A without it
  if (dropped.length > 0) {
    for (let i = 0; i < m; i++) {
      const r = rows[i], fm = r.length;
      for (let t = 0; t < fm; t++) {
        if (!isDropped[r[t]]) continue;
        for (let j = 0; j < own[i] && j < t; j++) cols[i][j * fm + t] = 0;
      }
    }
  }
  dropped.sort((u, v) => u - v);
  const factor = { n, perm, rows, cols, own };
  return {
    factor, report: { ok: true, dropped, maxPivot: pivots[0], minPivot: pivots[1] },
    solves: kernel.solves?.(factor) ?? frontalSolvesJs(factor),
  };
}

/** Solves with a finished factor: one vector, or many with the bits each would get alone. */
export interface FrontalSolves {
  solve(b: Float64Array): void;
  solveMany(bs: Float64Array[]): void;
}

const frontalSolvesJs = (f: FrontalFactor): FrontalSolves => ({
  solve: (b) => solveFrontal(f, b), solveMany: (bs) => solveFrontalMany(f, bs),
});

/**
 * Where a front lives while its own columns are eliminated: buffers handed out per front (front(fm)
 * zeroed, fm×fm column-major), and eliminate(), which factors the first k columns in place with the
 * pivot test against diag, marks dropped columns in drops (zeroed per front), updates pivots (max,
 * min) and returns the failing column or −1. wasm/frontal.ts has the WebAssembly one.
 */
export interface FrontKernel {
  front(fm: number): Float64Array;
  diag(k: number): Float64Array;
  drops(k: number): Uint8Array;
  eliminate(fm: number, k: number, tol: number, allowDrop: boolean, pivots: Float64Array,
    drops: Uint8Array): number;
  /** Front i's own columns (its first k, eliminated), kept as the factor's: a copy or a view. */
  keep(i: number, f: Float64Array, fm: number, k: number): Float64Array;
  /** Solves where the kernel holds the factor (without: the JavaScript ones). */
  solves?(factor: FrontalFactor): FrontalSolves;
}

/** The JavaScript reference: fresh arrays per front. */
export function frontKernelJs(): FrontKernel {
  let f = new Float64Array(0), diag = new Float64Array(0);
  return {
    front: (fm) => (f = new Float64Array(fm * fm)),
    diag: (k) => (diag = new Float64Array(k)),
    drops: (k) => new Uint8Array(k),
    eliminate: (fm, k, tol, allowDrop, pivots, drops) =>
      eliminateFront(f, fm, k, diag, tol, allowDrop, pivots, drops),
    keep: (_i, front, fm, k) => front.slice(0, k * fm),
  };
}

/**
 * The first k columns of front f eliminated in panels of PANEL columns: each column is brought up to
 * date from the panel's earlier columns when its turn comes (so its pivot is tested on the exact Schur
 * complement), then the whole panel updates the columns after it in one pass over them.
 */
export function eliminateFront(
  f: Float64Array, fm: number, k: number, diag: Float64Array, tol: number, allowDrop: boolean,
  pivots: Float64Array, drops: Uint8Array,
): number {
  for (let j0 = 0; j0 < k; j0 += PANEL) {
    const jb = Math.min(PANEL, k - j0);
    for (let j = j0; j < j0 + jb; j++) {
      const cj = j * fm;
      for (let q = j0; q < j; q++) {
        const cq = q * fm, lq = f[cq + j];
        if (lq !== 0) for (let t = j; t < fm; t++) f[cj + t] -= lq * f[cq + t];
      }
      const dj = f[cj + j];
      const rel = diag[j] > 0 ? dj / diag[j] : 0;
      if (!(rel > tol)) {
        if (!allowDrop) return j;
        drops[j] = 1;
        for (let t = j + 1; t < fm; t++) f[cj + t] = 0;
        f[cj + j] = 1;
        continue;
      }
      if (dj > pivots[0]) pivots[0] = dj;
      if (dj < pivots[1]) pivots[1] = dj;
      const l = Math.sqrt(dj);
      f[cj + j] = l;
      for (let t = j + 1; t < fm; t++) f[cj + t] /= l;
    }
    panelUpdate(f, fm, j0, jb);
  }
  return -1;
}

/** Columns factored together before they update the rest of the front. */
const PANEL = 4;

/** Subtracts columns j0..j0+jb−1 (factored) from every later column s of the front, rows t ≥ s. */
function panelUpdate(f: Float64Array, fm: number, j0: number, jb: number): void {
  const c0 = j0 * fm, c1 = c0 + fm, c2 = c1 + fm, c3 = c2 + fm;
  for (let s = j0 + jb; s < fm; s++) {
    const cs = s * fm;
    if (jb === 4) {
      const a0 = f[c0 + s], a1 = f[c1 + s], a2 = f[c2 + s], a3 = f[c3 + s];
      if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
      for (let t = s; t < fm; t++) {
        f[cs + t] -= a0 * f[c0 + t] + a1 * f[c1 + t] + a2 * f[c2 + t] + a3 * f[c3 + t];
      }
      continue;
    }
    for (let q = j0; q < j0 + jb; q++) {
      const cq = q * fm, a = f[cq + s];
      if (a !== 0) for (let t = s; t < fm; t++) f[cs + t] -= a * f[cq + t];
    }
  }
}

/**
 * Solves A z = b in place (b becomes z) with a factor from multifrontalCholesky. Each front's entries
 * are gathered into a contiguous vector, solved there, and scattered back.
 */
export function solveFrontal(f: FrontalFactor, b: Float64Array): void {
  const { n, perm, rows, cols, own } = f;
  const y = new Float64Array(n);
  let w = new Float64Array(64);
  for (let k = 0; k < n; k++) y[k] = b[perm[k]];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i], c = cols[i], fm = r.length;
    if (w.length < fm) w = new Float64Array(2 * fm);
    for (let t = 0; t < fm; t++) w[t] = y[r[t]];
    for (let j = 0; j < own[i]; j++) {
      const cj = j * fm, wj = (w[j] /= c[cj + j]);
      if (wj === 0) continue;
      for (let t = j + 1; t < fm; t++) w[t] -= c[cj + t] * wj;
    }
    for (let t = 0; t < fm; t++) y[r[t]] = w[t];
  }
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i], c = cols[i], fm = r.length;
    if (w.length < fm) w = new Float64Array(2 * fm);
    for (let t = 0; t < fm; t++) w[t] = y[r[t]];
    for (let j = own[i] - 1; j >= 0; j--) {
      const cj = j * fm;
      let s = w[j];
      for (let t = j + 1; t < fm; t++) s -= c[cj + t] * w[t];
      w[j] = s / c[cj + j];
    }
    for (let t = 0; t < own[i]; t++) y[r[t]] = w[t];
  }
  for (let k = 0; k < n; k++) b[perm[k]] = y[k];
}

/** Right-hand sides solveFrontalMany carries through the factor together. */
const MANY = 8;

/**
 * solveFrontal on each vector of `bs`, with the bits solveFrontal gives it (each vector's operations
 * in the same order, its zero skips included), MANY vectors at a time: the factor is read once per
 * group rather than once per vector (the row path's 288 solves were a fifth of a 224² audit). Each
 * group is interleaved, entry t of vector r at t·MANY + r.
 */
export function solveFrontalMany(f: FrontalFactor, bs: Float64Array[]): void {
  const { n, perm, rows, cols, own } = f;
  const y = new Float64Array(n * MANY);
  let w = new Float64Array(64 * MANY);
  const acc = new Float64Array(MANY), live = new Uint8Array(MANY);
  for (let g0 = 0; g0 < bs.length; g0 += MANY) {
    const m = Math.min(MANY, bs.length - g0);
    for (let r = 0; r < m; r++) {
      const b = bs[g0 + r];
      for (let k = 0; k < n; k++) y[k * MANY + r] = b[perm[k]];
    }
    for (let i = 0; i < rows.length; i++) {
      const rw = rows[i], c = cols[i], fm = rw.length;
      if (w.length < fm * MANY) w = new Float64Array(2 * fm * MANY);
      gather(w, y, rw, m);
      for (let j = 0; j < own[i]; j++) {
        const cj = j * fm, d = c[cj + j], wj = j * MANY;
        let any = 0;
        for (let r = 0; r < m; r++) {
          const v = (w[wj + r] /= d);
          acc[r] = v;
          live[r] = v === 0 ? 0 : 1;
          any |= live[r];
        }
        if (!any) continue;
        for (let t = j + 1; t < fm; t++) {
          const l = c[cj + t], wt = t * MANY;
          for (let r = 0; r < m; r++) if (live[r]) w[wt + r] -= l * acc[r];
        }
      }
      scatter(w, y, rw, fm, m);
    }
    for (let i = rows.length - 1; i >= 0; i--) {
      const rw = rows[i], c = cols[i], fm = rw.length;
      if (w.length < fm * MANY) w = new Float64Array(2 * fm * MANY);
      gather(w, y, rw, m);
      for (let j = own[i] - 1; j >= 0; j--) {
        const cj = j * fm, wj = j * MANY;
        for (let r = 0; r < m; r++) acc[r] = w[wj + r];
        for (let t = j + 1; t < fm; t++) {
          const l = c[cj + t], wt = t * MANY;
          for (let r = 0; r < m; r++) acc[r] -= l * w[wt + r];
        }
        const d = c[cj + j];
        for (let r = 0; r < m; r++) w[wj + r] = acc[r] / d;
      }
      scatter(w, y, rw, own[i], m);
    }
    for (let r = 0; r < m; r++) {
      const b = bs[g0 + r];
      for (let k = 0; k < n; k++) b[perm[k]] = y[k * MANY + r];
    }
  }
}

function gather(w: Float64Array, y: Float64Array, rw: Int32Array, m: number): void {
  for (let t = 0; t < rw.length; t++) {
    const wt = t * MANY, yt = rw[t] * MANY;
    for (let r = 0; r < m; r++) w[wt + r] = y[yt + r];
  }
}

/** The first `count` front entries back into y. */
function scatter(w: Float64Array, y: Float64Array, rw: Int32Array, count: number, m: number): void {
  for (let t = 0; t < count; t++) {
    const wt = t * MANY, yt = rw[t] * MANY;
    for (let r = 0; r < m; r++) y[yt + r] = w[wt + r];
  }
}
