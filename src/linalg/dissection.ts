import type { Csr } from './sparse.js';

/** Parts this small are not split further: their vertices keep their given (spatial) order. */
const LEAF = 64;

/**
 * Nested-dissection ordering of a symmetric sparse pattern whose vertices sit on a 2-D grid (x[v],
 * y[v]: the pixel a column or row of a layer system belongs to). Each part is cut across its longer
 * side at the median coordinate; the vertices of the upper half that are coupled to the lower half
 * form the separator, which is numbered after both halves, and the halves are cut in turn. For a
 * Gram matrix of local (convolution) rows on an N-pixel grid the Cholesky factor then has
 * O(N log N) entries and costs O(N^1.5) operations, against O(N^1.5) entries and O(N²) operations in
 * the banded (raster) order. Returns perm (perm[k] is the vertex eliminated k-th) and the dissection
 * tree: each node (a separator, or a part too small to cut) owns the positions start..end-1, and the
 * nodes below it come before start. Deterministic.
 */
export interface Dissection {
  perm: Int32Array;
  /** Nodes in elimination order (children before parents): own positions [start[i], end[i]). */
  start: Int32Array;
  end: Int32Array;
  parent: Int32Array;
}

export function nestedDissection(a: Csr, x: Int32Array, y: Int32Array): Dissection {
  const n = a.rows;
  const perm = new Int32Array(n);
  for (let v = 0; v < n; v++) perm[v] = v;
  const owner = new Int32Array(n).fill(-1);
  const side = new Uint8Array(n);
  const tmp = new Int32Array(n);
  // tasks: a range of positions and the node it hangs below
  const stack: number[] = [0, n, -1];
  const nodes: { start: number; end: number; parent: number }[] = [];
  let task = 0;
  while (stack.length > 0) {
    const up = stack.pop()!, hi = stack.pop()!, lo = stack.pop()!;
    if (hi === lo) continue;
    const leaf = () => { nodes.push({ start: lo, end: hi, parent: up }); };
    if (hi - lo <= LEAF) { leaf(); continue; }
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let k = lo; k < hi; k++) {
      const v = perm[k];
      if (x[v] < x0) x0 = x[v];
      if (x[v] > x1) x1 = x[v];
      if (y[v] < y0) y0 = y[v];
      if (y[v] > y1) y1 = y[v];
    }
    if (x0 === x1 && y0 === y1) { leaf(); continue; }
    const coord = x1 - x0 >= y1 - y0 ? x : y;
    const c0 = coord === x ? x0 : y0, c1 = coord === x ? x1 : y1;
    const cut = medianCut(perm, lo, hi, coord, c0, c1);
    task++;
    for (let k = lo; k < hi; k++) {
      const v = perm[k];
      owner[v] = task;
      side[v] = coord[v] < cut ? 1 : 2;
    }
    for (let k = lo; k < hi; k++) {
      const v = perm[k];
      if (side[v] !== 2) continue;
      for (let q = a.ptr[v]; q < a.ptr[v + 1]; q++) {
        const u = a.idx[q];
        if (owner[u] === task && side[u] === 1) { side[v] = 3; break; }
      }
    }
    // stable: lower half, upper half, separator
    let m = lo;
    for (const want of [1, 2, 3]) for (let k = lo; k < hi; k++) if (side[perm[k]] === want) tmp[m++] = perm[k];
    perm.set(tmp.subarray(lo, hi), lo);
    let nA = 0, nB = 0;
    for (let k = lo; k < hi; k++) {
      if (side[perm[k]] === 1) nA++;
      else if (side[perm[k]] === 2) nB++;
    }
    const id = nodes.length;
    nodes.push({ start: lo + nA + nB, end: hi, parent: up });
    stack.push(lo, lo + nA, id, lo + nA, lo + nA + nB, id);
  }
  // a child's positions come before its parent's (ties: empty separators, made before their children)
  const byEnd = nodes.map((_, i) => i)
    .sort((i, j) => nodes[i].end - nodes[j].end || nodes[i].start - nodes[j].start || j - i);
  const rank = new Int32Array(nodes.length);
  byEnd.forEach((i, r) => { rank[i] = r; });
  const m = nodes.length;
  const start = new Int32Array(m), end = new Int32Array(m), parent = new Int32Array(m);
  byEnd.forEach((i, r) => {
    start[r] = nodes[i].start;
    end[r] = nodes[i].end;
    parent[r] = nodes[i].parent < 0 ? -1 : rank[nodes[i].parent];
  });
  return { perm, start, end, parent };
}

/** The coordinate value splitting perm[lo..hi) in halves by count: c0 < cut ≤ c1. */
function medianCut(
  perm: Int32Array, lo: number, hi: number, coord: Int32Array, c0: number, c1: number,
): number {
  const count = new Int32Array(c1 - c0 + 1);
  for (let k = lo; k < hi; k++) count[coord[perm[k]] - c0]++;
  let below = 0;
  for (let c = c0; c < c1; c++) {
    below += count[c - c0];
    if (2 * below >= hi - lo) return c + 1;
  }
  return c1;
}
