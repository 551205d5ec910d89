// The dense solver's kernels in AssemblyScript (scripts/build-wasm.mjs), written like assembly: raw
// byte pointers into the imported memory, which src/linalg/wasm/dense.ts lays out per call.
//
// pstrf: blocked pivoted Cholesky of a symmetric n×n matrix (row-major, lower triangle read), the
// counterpart of both JavaScript references in src/linalg/dense.ts. Each element is computed with
// the same operations in the same order as the reference it stands for (SIMD lanes run over rows or
// columns, never over a sum), so results are equal to the bit:
//   mode 0 = blockedPivotedCholesky: pivots searched by position on the diagonal updated so far;
//            the trailing update subtracts each panel's sum Σ_t l_it l_jt (summed from 0).
//   mode 1 = pivotedCholesky (left-looking): a separate running diagonal d, pivots above tol, ties
//            to the lowest original index; every entry subtracts l_it l_jt one t at a time.
// Rows and columns are swapped as in LAPACK's pstrf, on the lower triangle only (O(n) a pivot); the
// upper triangle is scratch. During a panel its columns live transposed in pt (nb×n), so that the
// column updates and the trailing update read contiguous lanes.

// @ts-ignore: decorator
@inline function at(a: usize, pt: usize, n: i32, k: i32, end: i32, r: i32, c: i32): usize {
  // address of lower entry (r, c), r ≥ c: panel columns are in pt
  return c >= k && c < end
    ? pt + ((<usize>(c - k) * <usize>n + <usize>r) << 3)
    : a + ((<usize>r * <usize>n + <usize>c) << 3);
}

// @ts-ignore: decorator
@inline function swapF(x: usize, y: usize): void {
  const t = load<f64>(x); store<f64>(x, load<f64>(y)); store<f64>(y, t);
}

function swap(a: usize, pt: usize, work: usize, perm: usize, n: i32, k: i32, end: i32, j: i32, p: i32): void {
  const rj = a + (<usize>j * <usize>n << 3), rp = a + (<usize>p * <usize>n << 3);
  for (let c = 0; c < k; c++) swapF(rj + (<usize>c << 3), rp + (<usize>c << 3));
  for (let c = k; c < j; c++) swapF(at(a, pt, n, k, end, j, c), at(a, pt, n, k, end, p, c));
  swapF(at(a, pt, n, k, end, j, j), at(a, pt, n, k, end, p, p));
  for (let i = j + 1; i < p; i++) swapF(at(a, pt, n, k, end, i, j), at(a, pt, n, k, end, p, i));
  for (let i = p + 1; i < n; i++) swapF(at(a, pt, n, k, end, i, j), at(a, pt, n, k, end, i, p));
  swapF(work + (<usize>j << 3), work + (<usize>p << 3));
  const x = perm + (<usize>j << 2), y = perm + (<usize>p << 2);
  const t = load<i32>(x); store<i32>(x, load<i32>(y)); store<i32>(y, t);
}

// Column j of the panel (jj = j − k): l_ij = (a_ij − Σ_{t<jj} l_it l_jt) / ljj for i > j, rows in
// lanes; the diagonal (work) loses l_ij² as the reference's does.
function panelColumn(pt: usize, work: usize, n: i32, j: i32, jj: i32, ljj: f64): void {
  const sn = <usize>n << 3;
  const col = pt + <usize>jj * sn, prow = pt + (<usize>j << 3);
  const div = f64x2.splat(ljj);
  let i = j + 1;
  for (; i + 8 <= n; i += 8) {
    const o = <usize>i << 3;
    let s0 = v128.load(col + o), s1 = v128.load(col + o, 16);
    let s2 = v128.load(col + o, 32), s3 = v128.load(col + o, 48);
    let q = pt + o;
    for (let t = 0; t < jj; t++) {
      const x = f64x2.splat(load<f64>(prow + <usize>t * sn));
      s0 = f64x2.sub(s0, f64x2.mul(v128.load(q), x)); s1 = f64x2.sub(s1, f64x2.mul(v128.load(q, 16), x));
      s2 = f64x2.sub(s2, f64x2.mul(v128.load(q, 32), x)); s3 = f64x2.sub(s3, f64x2.mul(v128.load(q, 48), x));
      q += sn;
    }
    s0 = f64x2.div(s0, div); s1 = f64x2.div(s1, div); s2 = f64x2.div(s2, div); s3 = f64x2.div(s3, div);
    v128.store(col + o, s0); v128.store(col + o, s1, 16);
    v128.store(col + o, s2, 32); v128.store(col + o, s3, 48);
    const w = work + o;
    v128.store(w, f64x2.sub(v128.load(w), f64x2.mul(s0, s0)));
    v128.store(w, f64x2.sub(v128.load(w, 16), f64x2.mul(s1, s1)), 16);
    v128.store(w, f64x2.sub(v128.load(w, 32), f64x2.mul(s2, s2)), 32);
    v128.store(w, f64x2.sub(v128.load(w, 48), f64x2.mul(s3, s3)), 48);
  }
  for (; i < n; i++) {
    const o = <usize>i << 3;
    let s = load<f64>(col + o);
    let q = pt + o;
    for (let t = 0; t < jj; t++) { s -= load<f64>(q) * load<f64>(prow + <usize>t * sn); q += sn; }
    s /= ljj;
    store<f64>(col + o, s);
    store<f64>(work + o, load<f64>(work + o) - s * s);
  }
}

// Panel columns k..end−1 between a (row-major) and pt (transposed), lower triangle only.
function panelCopy(a: usize, pt: usize, n: i32, k: i32, end: i32, toPanel: bool): void {
  const sn = <usize>n << 3;
  for (let i = k; i < n; i++) {
    const row = a + <usize>i * sn, hi = i + 1 < end ? i + 1 : end;
    for (let c = k; c < hi; c++) {
      const x = row + (<usize>c << 3), y = pt + <usize>(c - k) * sn + (<usize>i << 3);
      if (toPanel) store<f64>(y, load<f64>(x)); else store<f64>(x, load<f64>(y));
    }
  }
}

// Trailing update of rows/columns ≥ end by the panel's w columns: a_il −= Σ_t a_it·pt[t][l] for
// l ≤ i (4×4 blocks, which also write a few upper entries: scratch). seq = 0 sums the panel first
// (blockedPivotedCholesky), seq = 1 subtracts term by term (pivotedCholesky). Inlined into two
// functions with seq constant, so that the inner loop has no branch.
// @ts-ignore: decorator
@inline function trailing(a: usize, pt: usize, n: i32, k: i32, end: i32, seq: bool): void {
  const sn = <usize>n << 3, w = end - k;
  let i = end;
  for (; i + 4 <= n; i += 4) {
    const r0 = a + <usize>i * sn;
    for (let l = end; l <= i; l += 4) {
      const c0 = r0 + (<usize>l << 3);
      let s00 = f64x2.splat(0), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
      if (seq) {
        let cp = c0;
        s00 = v128.load(cp); s01 = v128.load(cp, 16); cp += sn;
        s10 = v128.load(cp); s11 = v128.load(cp, 16); cp += sn;
        s20 = v128.load(cp); s21 = v128.load(cp, 16); cp += sn;
        s30 = v128.load(cp); s31 = v128.load(cp, 16);
      }
      let ap = r0 + (<usize>k << 3), bp = pt + (<usize>l << 3);
      for (let t = 0; t < w; t++) {
        const b0 = v128.load(bp), b1 = v128.load(bp, 16);
        let x = f64x2.splat(load<f64>(ap));
        let y = f64x2.splat(load<f64>(ap + sn));
        if (seq) {
          s00 = f64x2.sub(s00, f64x2.mul(x, b0)); s01 = f64x2.sub(s01, f64x2.mul(x, b1));
          s10 = f64x2.sub(s10, f64x2.mul(y, b0)); s11 = f64x2.sub(s11, f64x2.mul(y, b1));
        } else {
          s00 = f64x2.add(s00, f64x2.mul(x, b0)); s01 = f64x2.add(s01, f64x2.mul(x, b1));
          s10 = f64x2.add(s10, f64x2.mul(y, b0)); s11 = f64x2.add(s11, f64x2.mul(y, b1));
        }
        x = f64x2.splat(load<f64>(ap + 2 * sn));
        y = f64x2.splat(load<f64>(ap + 3 * sn));
        if (seq) {
          s20 = f64x2.sub(s20, f64x2.mul(x, b0)); s21 = f64x2.sub(s21, f64x2.mul(x, b1));
          s30 = f64x2.sub(s30, f64x2.mul(y, b0)); s31 = f64x2.sub(s31, f64x2.mul(y, b1));
        } else {
          s20 = f64x2.add(s20, f64x2.mul(x, b0)); s21 = f64x2.add(s21, f64x2.mul(x, b1));
          s30 = f64x2.add(s30, f64x2.mul(y, b0)); s31 = f64x2.add(s31, f64x2.mul(y, b1));
        }
        ap += 8; bp += sn;
      }
      let cp = c0;
      if (seq) {
        v128.store(cp, s00); v128.store(cp, s01, 16); cp += sn;
        v128.store(cp, s10); v128.store(cp, s11, 16); cp += sn;
        v128.store(cp, s20); v128.store(cp, s21, 16); cp += sn;
        v128.store(cp, s30); v128.store(cp, s31, 16);
      } else {
        v128.store(cp, f64x2.sub(v128.load(cp), s00)); v128.store(cp, f64x2.sub(v128.load(cp, 16), s01), 16);
        cp += sn;
        v128.store(cp, f64x2.sub(v128.load(cp), s10)); v128.store(cp, f64x2.sub(v128.load(cp, 16), s11), 16);
        cp += sn;
        v128.store(cp, f64x2.sub(v128.load(cp), s20)); v128.store(cp, f64x2.sub(v128.load(cp, 16), s21), 16);
        cp += sn;
        v128.store(cp, f64x2.sub(v128.load(cp), s30)); v128.store(cp, f64x2.sub(v128.load(cp, 16), s31), 16);
      }
    }
  }
  for (; i < n; i++) {
    const r0 = a + <usize>i * sn;
    for (let l = end; l <= i; l++) {
      const cp = r0 + (<usize>l << 3);
      let s: f64 = seq ? load<f64>(cp) : 0;
      let ap = r0 + (<usize>k << 3), bp = pt + (<usize>l << 3);
      for (let t = 0; t < w; t++) {
        if (seq) s -= load<f64>(ap) * load<f64>(bp); else s += load<f64>(ap) * load<f64>(bp);
        ap += 8; bp += sn;
      }
      store<f64>(cp, seq ? s : load<f64>(cp) - s);
    }
  }
}

function trailingSum(a: usize, pt: usize, n: i32, k: i32, end: i32): void {
  trailing(a, pt, n, k, end, false);
}
function trailingSeq(a: usize, pt: usize, n: i32, k: i32, end: i32): void {
  trailing(a, pt, n, k, end, true);
}

// Returns the rank. perm (i32, n) enters as the identity and leaves as position → original index;
// work (n) is mode 1's running diagonal d on entry; piv (n) receives the accepted pivots.
export function pstrf(
  a: usize, pt: usize, work: usize, perm: usize, piv: usize, n: i32, nb: i32, tol: f64, mode: i32,
): i32 {
  const seq = mode == 1;
  for (let k = 0; k < n; k += nb) {
    const end = k + nb < n ? k + nb : n;
    panelCopy(a, pt, n, k, end, true);
    if (!seq) {
      for (let i = k; i < n; i++) {
        store<f64>(work + (<usize>i << 3), load<f64>(a + ((<usize>i * <usize>n + <usize>i) << 3)));
      }
    }
    for (let j = k; j < end; j++) {
      let p = -1, best: f64 = seq ? tol : -Infinity;
      if (!seq) p = j;
      for (let i = j; i < n; i++) {
        const v = load<f64>(work + (<usize>i << 3));
        if (v > best) { best = v; p = i; }
        else if (seq && v == best && p >= 0
          && load<i32>(perm + (<usize>i << 2)) < load<i32>(perm + (<usize>p << 2))) p = i;
      }
      if (seq ? p < 0 : !(best > tol)) { panelCopy(a, pt, n, k, end, false); return j; }
      store<f64>(piv + (<usize>j << 3), best);
      if (p != j) swap(a, pt, work, perm, n, k, end, j, p);
      const ljj = Math.sqrt(best);
      store<f64>(pt + ((<usize>(j - k) * <usize>n + <usize>j) << 3), ljj);
      panelColumn(pt, work, n, j, j - k, ljj);
    }
    panelCopy(a, pt, n, k, end, false);
    if (seq) trailingSeq(a, pt, n, k, end); else trailingSum(a, pt, n, k, end);
  }
  return n;
}

// ---- envelope solves: L Lᵀ X = B for 8 right-hand sides at once --------------------------------
// x is n×8 with the 8 vectors interleaved (row i: unknown i of each), lanes ≥ m padding. Each lane
// gets solveEnvelope's operations in its order, including its skip of a zero in the back solve.
// The factor is the Envelope's arrays: row i holds columns first[i]..i at data[ptr[i]..].
export function envsolve(data: usize, first: usize, ptr: usize, x: usize, n: i32, m: i32): void {
  for (let i = 0; i < n; i++) {
    const fi = load<i32>(first + (<usize>i << 2));
    const row = data + (<usize>(load<i32>(ptr + (<usize>i << 2)) - fi) << 3);
    const xi = x + (<usize>i << 6);
    let s0 = v128.load(xi), s1 = v128.load(xi, 16), s2 = v128.load(xi, 32), s3 = v128.load(xi, 48);
    let xk = x + (<usize>fi << 6);
    for (let k = fi; k < i; k++) {
      const c = f64x2.splat(load<f64>(row + (<usize>k << 3)));
      s0 = f64x2.sub(s0, f64x2.mul(c, v128.load(xk))); s1 = f64x2.sub(s1, f64x2.mul(c, v128.load(xk, 16)));
      s2 = f64x2.sub(s2, f64x2.mul(c, v128.load(xk, 32)));
      s3 = f64x2.sub(s3, f64x2.mul(c, v128.load(xk, 48)));
      xk += 64;
    }
    const d = f64x2.splat(load<f64>(row + (<usize>i << 3)));
    v128.store(xi, f64x2.div(s0, d)); v128.store(xi, f64x2.div(s1, d), 16);
    v128.store(xi, f64x2.div(s2, d), 32); v128.store(xi, f64x2.div(s3, d), 48);
  }
  for (let i = n - 1; i >= 0; i--) {
    const fi = load<i32>(first + (<usize>i << 2));
    const row = data + (<usize>(load<i32>(ptr + (<usize>i << 2)) - fi) << 3);
    const xi = x + (<usize>i << 6);
    const d = f64x2.splat(load<f64>(row + (<usize>i << 3)));
    const v0 = f64x2.div(v128.load(xi), d), v1 = f64x2.div(v128.load(xi, 16), d);
    const v2 = f64x2.div(v128.load(xi, 32), d), v3 = f64x2.div(v128.load(xi, 48), d);
    v128.store(xi, v0); v128.store(xi, v1, 16); v128.store(xi, v2, 32); v128.store(xi, v3, 48);
    let zero = false;
    for (let r = 0; r < m; r++) if (load<f64>(xi + (<usize>r << 3)) == 0) zero = true;
    let xk = x + (<usize>fi << 6);
    if (!zero) {
      for (let k = fi; k < i; k++) {
        const c = f64x2.splat(load<f64>(row + (<usize>k << 3)));
        v128.store(xk, f64x2.sub(v128.load(xk), f64x2.mul(c, v0)));
        v128.store(xk, f64x2.sub(v128.load(xk, 16), f64x2.mul(c, v1)), 16);
        v128.store(xk, f64x2.sub(v128.load(xk, 32), f64x2.mul(c, v2)), 32);
        v128.store(xk, f64x2.sub(v128.load(xk, 48), f64x2.mul(c, v3)), 48);
        xk += 64;
      }
    } else {
      // rare: lane by lane, skipping the zeros as the reference does
      for (let r = 0; r < m; r++) {
        const v = load<f64>(xi + (<usize>r << 3));
        if (v == 0) continue;
        for (let k = fi; k < i; k++) {
          const p = x + (<usize>k << 6) + (<usize>r << 3);
          store<f64>(p, load<f64>(p) - load<f64>(row + (<usize>k << 3)) * v);
        }
      }
    }
  }
}

// ---- the Gram matrix RᵀR in its envelope, with its pattern (linalg/envgram.ts is the reference) ----
// R is CSR (i32 ptr and idx, f64 val); order maps R's columns to positions (−1: dropped); the envelope
// (first, eptr, data: zero on entry) and mark (u8, one per entry) are filled. Each row's kept entries
// are put in position order first (through slot, i32 per position, −1 on entry and on return), so
// that only its pairs b ≤ a are visited; an entry gets one product per row, rows in increasing
// order, as in the reference. buf/vbuf: scratch of the longest row. Returns 1, with the envelope
// unfinished, if a row lists a column twice (the host then runs the reference: the pairs of such a
// row come in another order), else 0.
export function gramenv(
  rptr: usize, ridx: usize, rval: usize, rows: i32, order: usize, first: usize, eptr: usize,
  data: usize, mark: usize, buf: usize, vbuf: usize, slot: usize,
): i32 {
  for (let row = 0; row < rows; row++) {
    const lo = load<i32>(rptr + (<usize>row << 2)), hi = load<i32>(rptr + (<usize>(row + 1) << 2));
    let pmin = 0x7fffffff, pmax = -1;
    for (let k = lo; k < hi; k++) {
      const p = load<i32>(order + (<usize>load<i32>(ridx + (<usize>k << 2)) << 2));
      if (p < 0) continue;
      const sp = slot + (<usize>p << 2);
      if (load<i32>(sp) >= 0) {
        for (let q = lo; q < k; q++) {
          const pq = load<i32>(order + (<usize>load<i32>(ridx + (<usize>q << 2)) << 2));
          if (pq >= 0) store<i32>(slot + (<usize>pq << 2), -1);
        }
        return 1;
      }
      store<i32>(sp, k);
      if (p < pmin) pmin = p;
      if (p > pmax) pmax = p;
    }
    let m = 0;
    for (let p = pmin; p <= pmax; p++) {
      const sp = slot + (<usize>p << 2), k = load<i32>(sp);
      if (k < 0) continue;
      store<i32>(sp, -1);
      store<i32>(buf + (<usize>m << 2), p);
      store<f64>(vbuf + (<usize>m << 3), load<f64>(rval + (<usize>k << 3)));
      m++;
    }
    // runs of consecutive positions (a pixel's channels) are done four or two entries at a time
    for (let a = 0; a < m; a++) {
      const pa = load<i32>(buf + (<usize>a << 2)), va = load<f64>(vbuf + (<usize>a << 3));
      const base = <usize>(load<i32>(eptr + (<usize>pa << 2)) - load<i32>(first + (<usize>pa << 2)));
      const vv = f64x2.splat(va);
      let b = 0;
      while (b <= a) {
        const pb = load<i32>(buf + (<usize>b << 2));
        const e = base + <usize>pb;
        const q = data + (e << 3);
        // sorted and distinct: b + 3 at pb + 3 means b..b+3 are consecutive
        if (b + 3 <= a && load<i32>(buf + (<usize>(b + 3) << 2)) == pb + 3) {
          const vb = vbuf + (<usize>b << 3);
          v128.store(q, f64x2.add(v128.load(q), f64x2.mul(vv, v128.load(vb))));
          v128.store(q, f64x2.add(v128.load(q, 16), f64x2.mul(vv, v128.load(vb, 16))), 16);
          store<u32>(mark + e, 0x01010101);
          b += 4;
        } else if (b < a && load<i32>(buf + (<usize>(b + 1) << 2)) == pb + 1) {
          v128.store(q, f64x2.add(v128.load(q), f64x2.mul(vv, v128.load(vbuf + (<usize>b << 3)))));
          store<u16>(mark + e, 0x0101);
          b += 2;
        } else {
          store<f64>(q, load<f64>(q) + va * load<f64>(vbuf + (<usize>b << 3)));
          store<u8>(mark + e, 1);
          b++;
        }
      }
    }
  }
  return 0;
}

// ---- envelope Cholesky, 16 rows at a time (choleskyEnvelope is the reference) -------------------
// A block of 16 consecutive rows is copied into pk, packed by column (128 B a column: lane t is row
// i0 + t), and computed column by column: entry (a, j) for every lane at once, lanes over rows, so
// each row of the factor above the block is read once per 16 rows instead of once per row. Every
// entry keeps the reference's chain: s = a_aj, then s −= l_ak·l_jk for k from max(first_a, first_j)
// in order, then s / l_jj (a lane whose envelope starts later is held by a select until its k);
// the diagonal of row j is taken when column j comes, before the rows below it use it. The block is
// written back to data when done, so a failing row leaves data as the reference does.
// fl: 16 f64 scratch (lane firsts). Returns as envchol.

// @ts-ignore: decorator
@inline function pkAt(pk: usize, kb: i32, k: i32): usize { return pk + (<usize>(k - kb) << 7); }

// rows i0..i0+rows−1 (lane t ↔ row i0 + t) back into data; `last` lane only up to column lastEnd
function commit(
  data: usize, first: usize, ptr: usize, pk: usize, kb: i32, i0: i32, rows: i32, lastEnd: i32,
): void {
  for (let t = 0; t < rows; t++) {
    const a = i0 + t, fa = load<i32>(first + (<usize>a << 2));
    const ba = data + (<usize>(load<i32>(ptr + (<usize>a << 2)) - fa) << 3);
    const hi = t == rows - 1 ? lastEnd : a + 1;
    for (let k = fa; k < hi; k++) {
      store<f64>(ba + (<usize>k << 3), load<f64>(pkAt(pk, kb, k) + (<usize>t << 3)));
    }
  }
}

export function envcholb(
  data: usize, first: usize, ptr: usize, dropped: usize, out: usize, n: i32, tol: f64, allowDrop: bool,
  pk: usize, fl: usize,
): i32 {
  let maxPivot: f64 = 0, minPivot: f64 = Infinity;
  const zero = f64x2.splat(0);
  const lane0 = f64x2(0, 1), lane1 = f64x2(2, 3), lane2 = f64x2(4, 5), lane3 = f64x2(6, 7);
  const lane4 = f64x2(8, 9), lane5 = f64x2(10, 11), lane6 = f64x2(12, 13), lane7 = f64x2(14, 15);
  for (let i0 = 0; i0 < n; i0 += 16) {
    const R = n - i0 < 16 ? n - i0 : 16;
    let kb = i0;
    for (let t = 0; t < 16; t++) {
      const f = t < R ? load<i32>(first + (<usize>(i0 + t) << 2)) : 0x3fffffff;
      store<f64>(fl + (<usize>t << 3), <f64>f);
      if (f < kb) kb = f;
    }
    const top = i0 + R;
    memory.fill(pk, 0, <usize>(top - kb) << 7);
    for (let t = 0; t < R; t++) {
      const a = i0 + t, fa = load<i32>(first + (<usize>a << 2));
      const ba = data + (<usize>(load<i32>(ptr + (<usize>a << 2)) - fa) << 3);
      for (let k = fa; k <= a; k++) {
        store<f64>(pkAt(pk, kb, k) + (<usize>t << 3), load<f64>(ba + (<usize>k << 3)));
      }
    }
    for (let j = kb; j < top; j++) {
      const jl = j - i0, fj = load<i32>(first + (<usize>j << 2));
      const pj = pkAt(pk, kb, j);
      if (jl >= 0) {
        // the diagonal of row j, its off-diagonal entries being final
        const lane = <usize>jl << 3;
        const aii = load<f64>(pj + lane);
        let d = aii;
        for (let k = fj; k < j; k++) { const v = load<f64>(pkAt(pk, kb, k) + lane); d -= v * v; }
        const rel = aii > 0 ? d / aii : 0;
        if (!(rel > tol)) {
          if (!allowDrop) {
            commit(data, first, ptr, pk, kb, i0, jl + 1, j);
            store<f64>(out, maxPivot); store<f64>(out, minPivot, 8);
            return j;
          }
          store<u8>(dropped + <usize>j, 1);
          for (let k = fj; k < j; k++) store<f64>(pkAt(pk, kb, k) + lane, 0);
          store<f64>(pj + lane, 1);
        } else {
          if (d > maxPivot) maxPivot = d;
          if (d < minPivot) minPivot = d;
          store<f64>(pj + lane, Math.sqrt(d));
        }
      }
      // lanes a > j whose envelope reaches column j
      let kmin = 0x3fffffff, kmax = -1;
      for (let t = jl + 1 > 0 ? jl + 1 : 0; t < R; t++) {
        const f = <i32>load<f64>(fl + (<usize>t << 3));
        if (f <= j) { if (f < kmin) kmin = f; if (f > kmax) kmax = f; }
      }
      if (kmax < 0) continue;
      const jv = f64x2.splat(<f64>j), jlv = f64x2.splat(<f64>jl);
      const m0 = v128.and(f64x2.le(v128.load(fl), jv), f64x2.gt(lane0, jlv));
      const m1 = v128.and(f64x2.le(v128.load(fl, 16), jv), f64x2.gt(lane1, jlv));
      const m2 = v128.and(f64x2.le(v128.load(fl, 32), jv), f64x2.gt(lane2, jlv));
      const m3 = v128.and(f64x2.le(v128.load(fl, 48), jv), f64x2.gt(lane3, jlv));
      const m4 = v128.and(f64x2.le(v128.load(fl, 64), jv), f64x2.gt(lane4, jlv));
      const m5 = v128.and(f64x2.le(v128.load(fl, 80), jv), f64x2.gt(lane5, jlv));
      const m6 = v128.and(f64x2.le(v128.load(fl, 96), jv), f64x2.gt(lane6, jlv));
      const m7 = v128.and(f64x2.le(v128.load(fl, 112), jv), f64x2.gt(lane7, jlv));
      const o0 = v128.load(pj), o1 = v128.load(pj, 16), o2 = v128.load(pj, 32), o3 = v128.load(pj, 48);
      const o4 = v128.load(pj, 64), o5 = v128.load(pj, 80), o6 = v128.load(pj, 96), o7 = v128.load(pj, 112);
      if (load<u8>(dropped + <usize>j) != 0) {
        v128.store(pj, v128.bitselect(zero, o0, m0)); v128.store(pj, v128.bitselect(zero, o1, m1), 16);
        v128.store(pj, v128.bitselect(zero, o2, m2), 32); v128.store(pj, v128.bitselect(zero, o3, m3), 48);
        v128.store(pj, v128.bitselect(zero, o4, m4), 64); v128.store(pj, v128.bitselect(zero, o5, m5), 80);
        v128.store(pj, v128.bitselect(zero, o6, m6), 96); v128.store(pj, v128.bitselect(zero, o7, m7), 112);
        continue;
      }
      // row j's factor: above the block in data (stride 8), inside it in pk (stride 128)
      let src: usize, stride: usize, ljj: f64;
      if (jl < 0) {
        src = data + (<usize>(load<i32>(ptr + (<usize>j << 2)) - fj) << 3); stride = 8;
        ljj = load<f64>(src + (<usize>j << 3));
      } else {
        src = pk - (<usize>kb << 7) + (<usize>jl << 3); stride = 128;
        ljj = load<f64>(pj + (<usize>jl << 3));
      }
      let s0 = o0, s1 = o1, s2 = o2, s3 = o3, s4 = o4, s5 = o5, s6 = o6, s7 = o7;
      const k0 = fj > kmin ? fj : kmin, k1 = fj > kmax ? fj : kmax;
      let k = k0;
      for (; k < k1 && k < j; k++) {
        // some lanes start later: each lane changes only from its own first k on
        const c = f64x2.splat(load<f64>(src + <usize>k * stride)), p = pkAt(pk, kb, k), kv = f64x2.splat(<f64>k);
        s0 = v128.bitselect(f64x2.sub(s0, f64x2.mul(v128.load(p), c)), s0, f64x2.le(v128.load(fl), kv));
        s1 = v128.bitselect(f64x2.sub(s1, f64x2.mul(v128.load(p, 16), c)), s1, f64x2.le(v128.load(fl, 16), kv));
        s2 = v128.bitselect(f64x2.sub(s2, f64x2.mul(v128.load(p, 32), c)), s2, f64x2.le(v128.load(fl, 32), kv));
        s3 = v128.bitselect(f64x2.sub(s3, f64x2.mul(v128.load(p, 48), c)), s3, f64x2.le(v128.load(fl, 48), kv));
        s4 = v128.bitselect(f64x2.sub(s4, f64x2.mul(v128.load(p, 64), c)), s4, f64x2.le(v128.load(fl, 64), kv));
        s5 = v128.bitselect(f64x2.sub(s5, f64x2.mul(v128.load(p, 80), c)), s5, f64x2.le(v128.load(fl, 80), kv));
        s6 = v128.bitselect(f64x2.sub(s6, f64x2.mul(v128.load(p, 96), c)), s6, f64x2.le(v128.load(fl, 96), kv));
        s7 = v128.bitselect(f64x2.sub(s7, f64x2.mul(v128.load(p, 112), c)), s7, f64x2.le(v128.load(fl, 112), kv));
      }
      let p = pkAt(pk, kb, k), q = src + <usize>k * stride;
      for (; k < j; k++) {
        const c = f64x2.splat(load<f64>(q));
        s0 = f64x2.sub(s0, f64x2.mul(v128.load(p), c)); s1 = f64x2.sub(s1, f64x2.mul(v128.load(p, 16), c));
        s2 = f64x2.sub(s2, f64x2.mul(v128.load(p, 32), c)); s3 = f64x2.sub(s3, f64x2.mul(v128.load(p, 48), c));
        s4 = f64x2.sub(s4, f64x2.mul(v128.load(p, 64), c)); s5 = f64x2.sub(s5, f64x2.mul(v128.load(p, 80), c));
        s6 = f64x2.sub(s6, f64x2.mul(v128.load(p, 96), c)); s7 = f64x2.sub(s7, f64x2.mul(v128.load(p, 112), c));
        p += 128; q += stride;
      }
      const dv = f64x2.splat(ljj);
      v128.store(pj, v128.bitselect(f64x2.div(s0, dv), o0, m0));
      v128.store(pj, v128.bitselect(f64x2.div(s1, dv), o1, m1), 16);
      v128.store(pj, v128.bitselect(f64x2.div(s2, dv), o2, m2), 32);
      v128.store(pj, v128.bitselect(f64x2.div(s3, dv), o3, m3), 48);
      v128.store(pj, v128.bitselect(f64x2.div(s4, dv), o4, m4), 64);
      v128.store(pj, v128.bitselect(f64x2.div(s5, dv), o5, m5), 80);
      v128.store(pj, v128.bitselect(f64x2.div(s6, dv), o6, m6), 96);
      v128.store(pj, v128.bitselect(f64x2.div(s7, dv), o7, m7), 112);
    }
    commit(data, first, ptr, pk, kb, i0, R, i0 + R);
  }
  store<f64>(out, maxPivot); store<f64>(out, minPivot, 8);
  return -1;
}

// ---- the row path's Schur complement in column tiles (linalg/schur.ts is the reference) ---------
// The same D = Gᵀ − SᵀY and Sc = G·D, one tile of up to 16 gradient rows (columns j of D and Sc) at
// a time, each element finished in registers: D[c][j] is 0, plus G's entries in column c (through Gᵀ,
// rows j increasing), minus s_rc·y_rj over the rows r of S in column c (through Sᵀ, r increasing; a
// zero y skipped as the reference does); Sc[i][j] is 0 plus g_ik·D[c_k][j] over G's row i in order.
// The same operations in the same order as schurColumns for every element, but no element of D or Sc is
// loaded and stored once per term. One call does the tiles of gradient rows jBeg..jEnd−1 (jBeg a
// multiple of 16): yt holds their Yᵀ tile by tile (ms rows of 16 values each, lanes past mg zero), so
// that a tile's rows are contiguous and a group of tiles bounds the copy of Y. dt: n × 16 values;
// zf: ms bytes (does row r of Y's tile hold a 0) and 144 of scratch; cur: n i32, kept between calls.
// @ts-ignore: decorator
@inline function sub8(s: v128, y: v128, v: v128, zero: v128, masked: bool): v128 {
  const t = f64x2.sub(s, f64x2.mul(v, y));
  return masked ? v128.bitselect(t, s, f64x2.ne(y, zero)) : t;
}

export function schurt(
  stptr: usize, stidx: usize, stval: usize, ms: i32, gptr: usize, gidx: usize, gval: usize, mg: i32,
  gtptr: usize, gtidx: usize, gtval: usize, yt: usize, dt: usize, sc: usize, n: i32, zf: usize, cur: usize,
  jBeg: i32, jEnd: i32,
): void {
  const row = <usize>mg << 3, zero = f64x2.splat(0), tile = <usize>ms << 7;
  for (let j0 = jBeg; j0 < jEnd; j0 += 16) {
    const w = jEnd - j0 < 16 ? jEnd - j0 : 16, off = <usize>j0 << 3;
    const yb = yt + <usize>((j0 - jBeg) >> 4) * tile;
    for (let r = 0; r < ms; r++) {
      const yr = yb + (<usize>r << 7);
      let z: u8 = 0;
      for (let j = 0; j < w; j++) if (load<f64>(yr + (<usize>j << 3)) == 0) z = 1;
      store<u8>(zf + <usize>r, z);
    }
    for (let c = 0; c < n; c++) {
      const dc = dt + (<usize>c << 7);
      memory.fill(dc, 0, 128);
      // Gᵀ's row c lists j increasing: cur[c] (from gtptr on entry) is where this tile's part starts
      const q1 = load<i32>(gtptr + (<usize>(c + 1) << 2)), qc = cur + (<usize>c << 2);
      let q = load<i32>(qc);
      for (; q < q1; q++) {
        const j = load<i32>(gtidx + (<usize>q << 2));
        if (j >= j0 + w) break;
        const p = dc + (<usize>(j - j0) << 3);
        store<f64>(p, load<f64>(p) + load<f64>(gtval + (<usize>q << 3)));
      }
      store<i32>(qc, q);
      let s0 = v128.load(dc), s1 = v128.load(dc, 16), s2 = v128.load(dc, 32), s3 = v128.load(dc, 48);
      let s4 = v128.load(dc, 64), s5 = v128.load(dc, 80), s6 = v128.load(dc, 96), s7 = v128.load(dc, 112);
      const k1 = load<i32>(stptr + (<usize>(c + 1) << 2));
      for (let k = load<i32>(stptr + (<usize>c << 2)); k < k1; k++) {
        const r = load<i32>(stidx + (<usize>k << 2));
        const v = f64x2.splat(load<f64>(stval + (<usize>k << 3)));
        const yr = yb + (<usize>r << 7);
        if (load<u8>(zf + <usize>r) == 0) {
          s0 = sub8(s0, v128.load(yr), v, zero, false); s1 = sub8(s1, v128.load(yr, 16), v, zero, false);
          s2 = sub8(s2, v128.load(yr, 32), v, zero, false); s3 = sub8(s3, v128.load(yr, 48), v, zero, false);
          s4 = sub8(s4, v128.load(yr, 64), v, zero, false); s5 = sub8(s5, v128.load(yr, 80), v, zero, false);
          s6 = sub8(s6, v128.load(yr, 96), v, zero, false); s7 = sub8(s7, v128.load(yr, 112), v, zero, false);
        } else {
          s0 = sub8(s0, v128.load(yr), v, zero, true); s1 = sub8(s1, v128.load(yr, 16), v, zero, true);
          s2 = sub8(s2, v128.load(yr, 32), v, zero, true); s3 = sub8(s3, v128.load(yr, 48), v, zero, true);
          s4 = sub8(s4, v128.load(yr, 64), v, zero, true); s5 = sub8(s5, v128.load(yr, 80), v, zero, true);
          s6 = sub8(s6, v128.load(yr, 96), v, zero, true); s7 = sub8(s7, v128.load(yr, 112), v, zero, true);
        }
      }
      v128.store(dc, s0); v128.store(dc, s1, 16); v128.store(dc, s2, 32); v128.store(dc, s3, 48);
      v128.store(dc, s4, 64); v128.store(dc, s5, 80); v128.store(dc, s6, 96); v128.store(dc, s7, 112);
    }
    for (let i = 0; i < mg; i++) {
      let a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;
      const k1 = load<i32>(gptr + (<usize>(i + 1) << 2));
      for (let k = load<i32>(gptr + (<usize>i << 2)); k < k1; k++) {
        const d = dt + (<usize>load<i32>(gidx + (<usize>k << 2)) << 7);
        const v = f64x2.splat(load<f64>(gval + (<usize>k << 3)));
        a0 = f64x2.add(a0, f64x2.mul(v, v128.load(d))); a1 = f64x2.add(a1, f64x2.mul(v, v128.load(d, 16)));
        a2 = f64x2.add(a2, f64x2.mul(v, v128.load(d, 32))); a3 = f64x2.add(a3, f64x2.mul(v, v128.load(d, 48)));
        a4 = f64x2.add(a4, f64x2.mul(v, v128.load(d, 64))); a5 = f64x2.add(a5, f64x2.mul(v, v128.load(d, 80)));
        a6 = f64x2.add(a6, f64x2.mul(v, v128.load(d, 96))); a7 = f64x2.add(a7, f64x2.mul(v, v128.load(d, 112)));
      }
      const o = zf + <usize>ms + 16; // 128 bytes of scratch after the flags: the tile's lanes
      v128.store(o, a0); v128.store(o, a1, 16); v128.store(o, a2, 32); v128.store(o, a3, 48);
      v128.store(o, a4, 64); v128.store(o, a5, 80); v128.store(o, a6, 96); v128.store(o, a7, 112);
      memory.copy(sc + <usize>i * row + off, o, <usize>w << 3);
    }
  }
}

// ---- a front of the multifrontal Cholesky (linalg/multifrontal.ts's loop is the reference) ----
// f: fm×fm column-major (lower triangle read and written), its first k columns eliminated in panels
// of 4 columns as the reference does: each column brought up to date from the panel's earlier ones,
// its pivot tested against diag (k values) and tol, scaled; then the panel updates every later
// column. Lanes run over the rows t of one column, so each entry sees the reference's operations in
// its order (a panel's four products summed left to right, then subtracted). dropped (k bytes)
// marks dropped pivots (allowDrop); out holds the running max and min pivot, in and out. Returns
// the failing column, or −1.
export function frontchol(
  f: usize, fm: i32, k: i32, diag: usize, tol: f64, allowDrop: i32, dropped: usize, out: usize,
): i32 {
  let maxPivot = load<f64>(out), minPivot = load<f64>(out, 8);
  const sm = <usize>fm << 3;
  for (let j0 = 0; j0 < k; j0 += 4) {
    const jb = k - j0 < 4 ? k - j0 : 4;
    for (let j = j0; j < j0 + jb; j++) {
      const cj = f + <usize>j * sm;
      for (let q = j0; q < j; q++) {
        const cq = f + <usize>q * sm, lq = load<f64>(cq + (<usize>j << 3));
        if (lq != 0) axpyDown(cj, cq, lq, j, fm);
      }
      const dj = load<f64>(cj + (<usize>j << 3)), dg = load<f64>(diag + (<usize>j << 3));
      const rel = dg > 0 ? dj / dg : 0;
      if (!(rel > tol)) {
        if (!allowDrop) { store<f64>(out, maxPivot); store<f64>(out, minPivot, 8); return j; }
        store<u8>(dropped + <usize>j, 1);
        for (let t = j + 1; t < fm; t++) store<f64>(cj + (<usize>t << 3), 0);
        store<f64>(cj + (<usize>j << 3), 1);
        continue;
      }
      if (dj > maxPivot) maxPivot = dj;
      if (dj < minPivot) minPivot = dj;
      const l = Math.sqrt(dj);
      store<f64>(cj + (<usize>j << 3), l);
      const lv = f64x2.splat(l);
      let t = j + 1;
      for (; t + 2 <= fm; t += 2) {
        const p = cj + (<usize>t << 3);
        v128.store(p, f64x2.div(v128.load(p), lv));
      }
      for (; t < fm; t++) { const p = cj + (<usize>t << 3); store<f64>(p, load<f64>(p) / l); }
    }
    if (jb == 4) panel4(f, fm, j0); else panelLess(f, fm, j0, jb);
  }
  store<f64>(out, maxPivot); store<f64>(out, minPivot, 8);
  return -1;
}

// column cs −= a·column cq over rows t ≥ from
// @ts-ignore: decorator
@inline function axpyDown(cs: usize, cq: usize, a: f64, from: i32, fm: i32): void {
  const av = f64x2.splat(a);
  let t = from;
  for (; t + 2 <= fm; t += 2) {
    const o = <usize>t << 3;
    v128.store(cs + o, f64x2.sub(v128.load(cs + o), f64x2.mul(av, v128.load(cq + o))));
  }
  for (; t < fm; t++) {
    const o = <usize>t << 3;
    store<f64>(cs + o, load<f64>(cs + o) - a * load<f64>(cq + o));
  }
}

// the last panel, narrower than 4: one column at a time, as the reference's fallback loop
function panelLess(f: usize, fm: i32, j0: i32, jb: i32): void {
  const sm = <usize>fm << 3;
  for (let s = j0 + jb; s < fm; s++) {
    const cs = f + <usize>s * sm;
    for (let q = j0; q < j0 + jb; q++) {
      const cq = f + <usize>q * sm, a = load<f64>(cq + (<usize>s << 3));
      if (a != 0) axpyDown(cs, cq, a, s, fm);
    }
  }
}

// column s −= a0·c0 + a1·c1 + a2·c2 + a3·c3 (the panel's columns, rows t ≥ s) for every s after it.
// Two columns s, s+1 share one pass over the panel's rows t ≥ s+1 (each entry's operations unchanged).
function panel4(f: usize, fm: i32, j0: i32): void {
  const sm = <usize>fm << 3;
  const c0 = f + <usize>j0 * sm, c1 = c0 + sm, c2 = c1 + sm, c3 = c2 + sm;
  let s = j0 + 4;
  for (; s + 1 < fm; s += 2) {
    const so = <usize>s << 3, to = so + 8;
    const a0 = load<f64>(c0 + so), a1 = load<f64>(c1 + so), a2 = load<f64>(c2 + so), a3 = load<f64>(c3 + so);
    const b0 = load<f64>(c0 + to), b1 = load<f64>(c1 + to), b2 = load<f64>(c2 + to), b3 = load<f64>(c3 + to);
    const liveA = !(a0 == 0 && a1 == 0 && a2 == 0 && a3 == 0);
    const liveB = !(b0 == 0 && b1 == 0 && b2 == 0 && b3 == 0);
    const cs = f + <usize>s * sm;
    if (!liveB) { if (liveA) column4(cs, c0, c1, c2, c3, a0, a1, a2, a3, s, fm); continue; }
    if (!liveA) { column4(cs + sm, c0, c1, c2, c3, b0, b1, b2, b3, s + 1, fm); continue; }
    const d0 = load<f64>(c0 + so), d1 = load<f64>(c1 + so), d2 = load<f64>(c2 + so), d3 = load<f64>(c3 + so);
    store<f64>(cs + so, load<f64>(cs + so) - (a0 * d0 + a1 * d1 + a2 * d2 + a3 * d3));
    pair4(cs, cs + sm, c0, c1, c2, c3, a0, a1, a2, a3, b0, b1, b2, b3, s + 1, fm);
  }
  if (s < fm) {
    const so = <usize>s << 3;
    const a0 = load<f64>(c0 + so), a1 = load<f64>(c1 + so), a2 = load<f64>(c2 + so), a3 = load<f64>(c3 + so);
    const cs = f + <usize>s * sm;
    if (!(a0 == 0 && a1 == 0 && a2 == 0 && a3 == 0)) column4(cs, c0, c1, c2, c3, a0, a1, a2, a3, s, fm);
  }
}

// column cs −= a0·c0 + a1·c1 + a2·c2 + a3·c3 over rows t ≥ from
// @ts-ignore: decorator
@inline function column4(
  cs: usize, c0: usize, c1: usize, c2: usize, c3: usize, a0: f64, a1: f64, a2: f64, a3: f64, from: i32, fm: i32,
): void {
  const v0 = f64x2.splat(a0), v1 = f64x2.splat(a1), v2 = f64x2.splat(a2), v3 = f64x2.splat(a3);
  let t = from;
  for (; t + 2 <= fm; t += 2) {
    const o = <usize>t << 3;
    const sum = f64x2.add(f64x2.add(f64x2.add(
      f64x2.mul(v0, v128.load(c0 + o)), f64x2.mul(v1, v128.load(c1 + o))),
      f64x2.mul(v2, v128.load(c2 + o))), f64x2.mul(v3, v128.load(c3 + o)));
    v128.store(cs + o, f64x2.sub(v128.load(cs + o), sum));
  }
  for (; t < fm; t++) {
    const o = <usize>t << 3;
    store<f64>(cs + o, load<f64>(cs + o)
      - (a0 * load<f64>(c0 + o) + a1 * load<f64>(c1 + o) + a2 * load<f64>(c2 + o) + a3 * load<f64>(c3 + o)));
  }
}

// column4 on two columns (cs with a, ct with b) over the same rows t ≥ from, the panel read once
// @ts-ignore: decorator
@inline function pair4(
  cs: usize, ct: usize, c0: usize, c1: usize, c2: usize, c3: usize, a0: f64, a1: f64, a2: f64, a3: f64,
  b0: f64, b1: f64, b2: f64, b3: f64, from: i32, fm: i32,
): void {
  const v0 = f64x2.splat(a0), v1 = f64x2.splat(a1), v2 = f64x2.splat(a2), v3 = f64x2.splat(a3);
  const w0 = f64x2.splat(b0), w1 = f64x2.splat(b1), w2 = f64x2.splat(b2), w3 = f64x2.splat(b3);
  let t = from;
  for (; t + 2 <= fm; t += 2) {
    const o = <usize>t << 3;
    const x0 = v128.load(c0 + o), x1 = v128.load(c1 + o), x2 = v128.load(c2 + o), x3 = v128.load(c3 + o);
    const sa = f64x2.add(f64x2.add(f64x2.add(f64x2.mul(v0, x0), f64x2.mul(v1, x1)), f64x2.mul(v2, x2)),
      f64x2.mul(v3, x3));
    const sb = f64x2.add(f64x2.add(f64x2.add(f64x2.mul(w0, x0), f64x2.mul(w1, x1)), f64x2.mul(w2, x2)),
      f64x2.mul(w3, x3));
    v128.store(cs + o, f64x2.sub(v128.load(cs + o), sa));
    v128.store(ct + o, f64x2.sub(v128.load(ct + o), sb));
  }
  for (; t < fm; t++) {
    const o = <usize>t << 3;
    const x0 = load<f64>(c0 + o), x1 = load<f64>(c1 + o), x2 = load<f64>(c2 + o), x3 = load<f64>(c3 + o);
    store<f64>(cs + o, load<f64>(cs + o) - (a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3));
    store<f64>(ct + o, load<f64>(ct + o) - (b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3));
  }
}

// ---- a Gram matrix made ready for pstrf in place (solve/layersolve.ts's and linalg/gram.ts's
// references) ----
// Lower entry (i, j) of the n × n row-major matrix becomes v·(d_j·d_i), the diagonal a_ii·(d_i·d_i),
// where v = 0.5·(a_ij + a_ji) when sym (the row path's Schur complement: the reference's symmetrise,
// then its column callback's out[i] *= d[i]·d[j]) and v = a_ij otherwise (the dense path's UᵀU, whose
// reference scales a_ij *= d_i·d_j). The upper triangle is read only when sym, never written (pstrf
// treats it as scratch). Tiles of 32 keep both sides in cache.
export function symscale(a: usize, n: i32, d: usize, sym: bool): void {
  const sn = <usize>n << 3;
  for (let i0 = 0; i0 < n; i0 += 32) {
    const i1 = i0 + 32 < n ? i0 + 32 : n;
    for (let j0 = 0; j0 <= i0; j0 += 32) {
      for (let i = i0; i < i1; i++) {
        const ri = a + <usize>i * sn, di = load<f64>(d + (<usize>i << 3));
        const j1 = j0 + 32 < i ? j0 + 32 : i;
        for (let j = j0; j < j1; j++) {
          const p = ri + (<usize>j << 3);
          const v = sym ? 0.5 * (load<f64>(p) + load<f64>(a + <usize>j * sn + (<usize>i << 3))) : load<f64>(p);
          store<f64>(p, v * (load<f64>(d + (<usize>j << 3)) * di));
        }
      }
    }
    for (let i = i0; i < i1; i++) {
      const p = a + <usize>i * sn + (<usize>i << 3), di = load<f64>(d + (<usize>i << 3));
      store<f64>(p, load<f64>(p) * (di * di));
    }
  }
}

// ---- the lower triangle of UᵀU on chosen columns (solve/layersolve.ts's denseGram is the reference) --
// U is CSR (rows listing their columns in increasing order; the host checks), Uᵀ its transpose (rows
// in increasing order); order maps U's columns to positions (−1: dropped, increasing otherwise) and
// back inverts it. Row p1 of a (n × n, zero on entry) gets, for each row r of U through column
// back[p1], u_r,back[p1] · u_rc at position order[c] ≤ p1: each entry's terms in the reference's order
// (rows r increasing), and the sorted rows end each pass at the first position past the diagonal.
export function gramlower(
  uptr: usize, uidx: usize, uval: usize, tptr: usize, tidx: usize, tval: usize, order: usize, back: usize,
  n: i32, a: usize,
): void {
  for (let p1 = 0; p1 < n; p1++) {
    const c = load<i32>(back + (<usize>p1 << 2)), row = a + <usize>p1 * (<usize>n << 3);
    const q1 = load<i32>(tptr + (<usize>(c + 1) << 2));
    for (let q = load<i32>(tptr + (<usize>c << 2)); q < q1; q++) {
      const r = load<i32>(tidx + (<usize>q << 2)), v1 = load<f64>(tval + (<usize>q << 3));
      const k1 = load<i32>(uptr + (<usize>(r + 1) << 2));
      for (let k = load<i32>(uptr + (<usize>r << 2)); k < k1; k++) {
        const p2 = load<i32>(order + (<usize>load<i32>(uidx + (<usize>k << 2)) << 2));
        if (p2 > p1) break;
        if (p2 >= 0) {
          const x = row + (<usize>p2 << 3);
          store<f64>(x, load<f64>(x) + v1 * load<f64>(uval + (<usize>k << 3)));
        }
      }
    }
  }
}

// ---- multifrontal solves, 8 right-hand sides at a time (linalg/multifrontal.ts's solveFrontal is
// the reference for each vector) ----
// The factor: nf fronts; front i has fm = rptr[i+1] − rptr[i] positions (rows, i32, from rptr[i])
// and own[i] columns of L (column-major, fm entries each, f64, from cptr[i] entries into cols).
// y: n positions × 8 vectors (interleaved, vector r of position p at p·8 + r); w: scratch of the
// largest front × 8. Lanes run over the vectors, so each vector sees solveFrontal's operations in
// its order; a vector whose w_j is zero skips column j (bitselect keeps the old value), as the
// reference's `if (wj === 0) continue` does.
export function frontsolve(
  nf: i32, rows: usize, rptr: usize, cols: usize, cptr: usize, own: usize, y: usize, w: usize,
): void {
  const zero = f64x2.splat(0);
  for (let i = 0; i < nf; i++) {
    const r0 = load<i32>(rptr + (<usize>i << 2)), fm = load<i32>(rptr + (<usize>(i + 1) << 2)) - r0;
    const rw = rows + (<usize>r0 << 2), c = cols + (<usize>load<i32>(cptr + (<usize>i << 2)) << 3);
    gather8(w, y, rw, fm);
    const k = load<i32>(own + (<usize>i << 2)), sm = <usize>fm << 3;
    for (let j = 0; j < k; j++) {
      const cj = c + <usize>j * sm, d = f64x2.splat(load<f64>(cj + (<usize>j << 3)));
      const wj = w + (<usize>j << 6);
      const x0 = f64x2.div(v128.load(wj), d), x1 = f64x2.div(v128.load(wj, 16), d);
      const x2 = f64x2.div(v128.load(wj, 32), d), x3 = f64x2.div(v128.load(wj, 48), d);
      v128.store(wj, x0); v128.store(wj, x1, 16); v128.store(wj, x2, 32); v128.store(wj, x3, 48);
      const m0 = f64x2.ne(x0, zero), m1 = f64x2.ne(x1, zero), m2 = f64x2.ne(x2, zero), m3 = f64x2.ne(x3, zero);
      if (!v128.any_true(v128.or(v128.or(m0, m1), v128.or(m2, m3)))) continue;
      for (let t = j + 1; t < fm; t++) {
        const l = f64x2.splat(load<f64>(cj + (<usize>t << 3))), wt = w + (<usize>t << 6);
        let o = v128.load(wt);
        v128.store(wt, v128.bitselect(f64x2.sub(o, f64x2.mul(l, x0)), o, m0));
        o = v128.load(wt, 16);
        v128.store(wt, v128.bitselect(f64x2.sub(o, f64x2.mul(l, x1)), o, m1), 16);
        o = v128.load(wt, 32);
        v128.store(wt, v128.bitselect(f64x2.sub(o, f64x2.mul(l, x2)), o, m2), 32);
        o = v128.load(wt, 48);
        v128.store(wt, v128.bitselect(f64x2.sub(o, f64x2.mul(l, x3)), o, m3), 48);
      }
    }
    scatter8(w, y, rw, fm);
  }
  for (let i = nf - 1; i >= 0; i--) {
    const r0 = load<i32>(rptr + (<usize>i << 2)), fm = load<i32>(rptr + (<usize>(i + 1) << 2)) - r0;
    const rw = rows + (<usize>r0 << 2), c = cols + (<usize>load<i32>(cptr + (<usize>i << 2)) << 3);
    gather8(w, y, rw, fm);
    const k = load<i32>(own + (<usize>i << 2)), sm = <usize>fm << 3;
    for (let j = k - 1; j >= 0; j--) {
      const cj = c + <usize>j * sm, wj = w + (<usize>j << 6);
      let s0 = v128.load(wj), s1 = v128.load(wj, 16), s2 = v128.load(wj, 32), s3 = v128.load(wj, 48);
      for (let t = j + 1; t < fm; t++) {
        const l = f64x2.splat(load<f64>(cj + (<usize>t << 3))), wt = w + (<usize>t << 6);
        s0 = f64x2.sub(s0, f64x2.mul(l, v128.load(wt)));
        s1 = f64x2.sub(s1, f64x2.mul(l, v128.load(wt, 16)));
        s2 = f64x2.sub(s2, f64x2.mul(l, v128.load(wt, 32)));
        s3 = f64x2.sub(s3, f64x2.mul(l, v128.load(wt, 48)));
      }
      const d = f64x2.splat(load<f64>(cj + (<usize>j << 3)));
      v128.store(wj, f64x2.div(s0, d)); v128.store(wj, f64x2.div(s1, d), 16);
      v128.store(wj, f64x2.div(s2, d), 32); v128.store(wj, f64x2.div(s3, d), 48);
    }
    scatter8(w, y, rw, k);
  }
}

// @ts-ignore: decorator
@inline function gather8(w: usize, y: usize, rw: usize, count: i32): void {
  for (let t = 0; t < count; t++) {
    const src = y + (<usize>load<i32>(rw + (<usize>t << 2)) << 6), dst = w + (<usize>t << 6);
    v128.store(dst, v128.load(src)); v128.store(dst, v128.load(src, 16), 16);
    v128.store(dst, v128.load(src, 32), 32); v128.store(dst, v128.load(src, 48), 48);
  }
}

// @ts-ignore: decorator
@inline function scatter8(w: usize, y: usize, rw: usize, count: i32): void {
  for (let t = 0; t < count; t++) {
    const dst = y + (<usize>load<i32>(rw + (<usize>t << 2)) << 6), src = w + (<usize>t << 6);
    v128.store(dst, v128.load(src)); v128.store(dst, v128.load(src, 16), 16);
    v128.store(dst, v128.load(src, 32), 32); v128.store(dst, v128.load(src, 48), 48);
  }
}

// ---- one vector through the multifrontal factor (linalg/multifrontal.ts's solveFrontal) ----
// The factor as frontsolve's; y: n positions (f64); w: scratch of the largest front. Forward, column
// j: w_j /= l_jj, then (unless zero) w_t −= l_tj·w_j below it, two rows a lane pair (each entry's
// operations as the reference's). Backward, w_j = (w_j − Σ_t l_tj·w_t)/l_jj with the terms taken one
// at a time in increasing t: the reference's chain, which no lane split may reorder.
export function frontsolve1(
  nf: i32, rows: usize, rptr: usize, cols: usize, cptr: usize, own: usize, y: usize, w: usize,
): void {
  for (let i = 0; i < nf; i++) {
    const r0 = load<i32>(rptr + (<usize>i << 2)), fm = load<i32>(rptr + (<usize>(i + 1) << 2)) - r0;
    const rw = rows + (<usize>r0 << 2), c = cols + (<usize>load<i32>(cptr + (<usize>i << 2)) << 3);
    gather1(w, y, rw, fm);
    const k = load<i32>(own + (<usize>i << 2)), sm = <usize>fm << 3;
    for (let j = 0; j < k; j++) {
      const cj = c + <usize>j * sm, at = w + (<usize>j << 3);
      const wj = load<f64>(at) / load<f64>(cj + (<usize>j << 3));
      store<f64>(at, wj);
      if (wj != 0) axpyDown(w, cj, wj, j + 1, fm);
    }
    scatter1(w, y, rw, fm);
  }
  for (let i = nf - 1; i >= 0; i--) {
    const r0 = load<i32>(rptr + (<usize>i << 2)), fm = load<i32>(rptr + (<usize>(i + 1) << 2)) - r0;
    const rw = rows + (<usize>r0 << 2), c = cols + (<usize>load<i32>(cptr + (<usize>i << 2)) << 3);
    gather1(w, y, rw, fm);
    const k = load<i32>(own + (<usize>i << 2)), sm = <usize>fm << 3;
    for (let j = k - 1; j >= 0; j--) {
      const cj = c + <usize>j * sm;
      let s = load<f64>(w + (<usize>j << 3));
      for (let t = j + 1; t < fm; t++) s -= load<f64>(cj + (<usize>t << 3)) * load<f64>(w + (<usize>t << 3));
      store<f64>(w + (<usize>j << 3), s / load<f64>(cj + (<usize>j << 3)));
    }
    scatter1(w, y, rw, k);
  }
}

// @ts-ignore: decorator
@inline function gather1(w: usize, y: usize, rw: usize, count: i32): void {
  for (let t = 0; t < count; t++) {
    store<f64>(w + (<usize>t << 3), load<f64>(y + (<usize>load<i32>(rw + (<usize>t << 2)) << 3)));
  }
}

// @ts-ignore: decorator
@inline function scatter1(w: usize, y: usize, rw: usize, count: i32): void {
  for (let t = 0; t < count; t++) {
    store<f64>(y + (<usize>load<i32>(rw + (<usize>t << 2)) << 3), load<f64>(w + (<usize>t << 3)));
  }
}
