// gradleak's compute kernels in AssemblyScript, compiled to one WebAssembly module with SIMD
// (scripts/build-wasm.mjs). Written like assembly: raw byte pointers into the imported memory,
// which the host lays out per call (src/kernels/wasm/module.ts, conv.ts). No allocator, no runtime.
//
// Every kernel exists for float64 (f64x2 lanes) and float32 (f32x4 lanes). Each output element is
// summed in one fixed order, k ascending from its initial value, with separate multiplies and adds
// (no fused multiply-add, no relaxed SIMD): the result does not depend on the lane width, the
// blocking or the run, and the float64 GEMM equals a plain JavaScript loop to the bit.

// ---- GEMM: C[M×N] += A[M×K] · B[K×N], row-major with leading dimensions in elements ----------
// Loop order: panels of MC rows of A; in each, a strip of columns of B (K × 32 bytes, kept in L1)
// is used by every 4-row block of the panel before the next strip (A's panel stays in L2). Columns
// of B in the outer loop would instead stream all of B from memory once per 4 rows of A.

const MC = 64;

// Blocks of 4 rows × 2 vectors (4 columns in f64x2 lanes, 8 in f32x4) in 8 accumulators.
// @ts-ignore: decorator
@inline function block<T>(a0: usize, bp: usize, cp: usize, sa: usize, sb: usize, sc: usize, kb: usize): void {
  const es = <usize>sizeof<T>();
  let c = cp;
  let s00 = v128.load(c), s01 = v128.load(c, 16); c += sc;
  let s10 = v128.load(c), s11 = v128.load(c, 16); c += sc;
  let s20 = v128.load(c), s21 = v128.load(c, 16); c += sc;
  let s30 = v128.load(c), s31 = v128.load(c, 16);
  for (let p: usize = 0; p < kb; p += es) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let ap = a0 + p;
    let x = v128.load_splat<T>(ap);
    s00 = v128.add<T>(s00, v128.mul<T>(x, b0)); s01 = v128.add<T>(s01, v128.mul<T>(x, b1));
    ap += sa; x = v128.load_splat<T>(ap);
    s10 = v128.add<T>(s10, v128.mul<T>(x, b0)); s11 = v128.add<T>(s11, v128.mul<T>(x, b1));
    ap += sa; x = v128.load_splat<T>(ap);
    s20 = v128.add<T>(s20, v128.mul<T>(x, b0)); s21 = v128.add<T>(s21, v128.mul<T>(x, b1));
    ap += sa; x = v128.load_splat<T>(ap);
    s30 = v128.add<T>(s30, v128.mul<T>(x, b0)); s31 = v128.add<T>(s31, v128.mul<T>(x, b1));
    bp += sb;
  }
  c = cp;
  v128.store(c, s00); v128.store(c, s01, 16); c += sc;
  v128.store(c, s10); v128.store(c, s11, 16); c += sc;
  v128.store(c, s20); v128.store(c, s21, 16); c += sc;
  v128.store(c, s30); v128.store(c, s31, 16);
}

// The whole product: 4-row blocks, then the rows left over a row at a time (2 vectors), then the
// columns left over one at a time.
// @ts-ignore: decorator
@inline function gemm<T>(
  a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32,
): void {
  const es = <usize>sizeof<T>();
  const width = <i32>(32 / es); // columns per block: two vectors
  const sa = <usize>lda * es, sb = <usize>ldb * es, sc = <usize>ldc * es;
  const kb = <usize>k * es;
  const nv = n - n % width, m4 = m & ~3;
  const nb = <usize>nv * es;
  for (let i0 = 0; i0 < m4; i0 += MC) {
    const i1 = min(i0 + MC, m4);
    for (let j: usize = 0; j < nb; j += 32) {
      for (let i = i0; i < i1; i += 4) block<T>(a + <usize>i * sa, b + j, c + <usize>i * sc + j, sa, sb, sc, kb);
    }
  }
  for (let i = m4; i < m; i++) {
    const a0 = a + <usize>i * sa, c0 = c + <usize>i * sc;
    for (let j: usize = 0; j < nb; j += 32) {
      let s0 = v128.load(c0 + j), s1 = v128.load(c0 + j, 16);
      let bp = b + j;
      for (let p: usize = 0; p < kb; p += es) {
        const x = v128.load_splat<T>(a0 + p);
        s0 = v128.add<T>(s0, v128.mul<T>(x, v128.load(bp)));
        s1 = v128.add<T>(s1, v128.mul<T>(x, v128.load(bp, 16)));
        bp += sb;
      }
      v128.store(c0 + j, s0); v128.store(c0 + j, s1, 16);
    }
  }
  for (let r = 0; r < m; r++) {
    const a0 = a + <usize>r * sa, c0 = c + <usize>r * sc;
    for (let j = nv; j < n; j++) {
      const cp = c0 + <usize>j * es;
      let s = load<T>(cp);
      let bp = b + <usize>j * es;
      for (let p: usize = 0; p < kb; p += es) { s += load<T>(a0 + p) * load<T>(bp); bp += sb; }
      store<T>(cp, s);
    }
  }
}

export function gemm_f64(
  a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32,
): void { gemm<f64>(a, b, c, m, n, k, lda, ldb, ldc); }

export function gemm_f32(
  a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32,
): void { gemm<f32>(a, b, c, m, n, k, lda, ldb, ldc); }

// ---- convolution helpers: unfold the input (im2col) and fold it back (col2im) -----------------
// Rows of the unfolded matrix are the kernel taps (c, i, j), `ld` elements apart, columns the output
// positions (ho, wo) of output rows [ho0, ho1) (ld may exceed their count: several samples' columns
// side by side in one matrix); taps that fall in the padding read zero. For a tap column j, the output
// columns that land inside the input are [woLo, woHi): only the ends of a row need bounds.

// First output column whose tap j lands at x ≥ 0: wo·sw − pw + j ≥ 0.
// @ts-ignore: decorator
@inline function firstInside(j: i32, sw: i32, pw: i32): i32 {
  const need = pw - j;
  return need <= 0 ? 0 : (need + sw - 1) / sw;
}

// One past the last output column whose tap j lands at x < inW.
// @ts-ignore: decorator
@inline function endInside(j: i32, sw: i32, pw: i32, inW: i32, outW: i32): i32 {
  const room = inW - 1 + pw - j; // wo·sw ≤ room
  if (room < 0) return 0;
  const e = room / sw + 1;
  return e < outW ? e : outW;
}

// @ts-ignore: decorator
@inline function unfold<T>(
  x: usize, col: usize, inC: i32, inH: i32, inW: i32, outW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, ho0: i32, ho1: i32, ld: i32,
): void {
  const es = <usize>sizeof<T>();
  let tap = col;
  for (let c = 0; c < inC; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        // a tap column left of the whole input (kernel wider than it) has lo past the row's end
        const lo = min(firstInside(j, sw, pw), outW);
        let hi = endInside(j, sw, pw, inW, outW);
        if (hi < lo) hi = lo;
        let dst = tap;
        tap += <usize>ld * es;
        for (let ho = ho0; ho < ho1; ho++) {
          const y = ho * sh - ph + i;
          if (y < 0 || y >= inH) { memory.fill(dst, 0, <usize>outW * es); dst += <usize>outW * es; continue; }
          const src = x + <usize>((c * inH + y) * inW - pw + j) * es;
          if (lo > 0) memory.fill(dst, 0, <usize>lo * es);
          if (sw == 1) {
            memory.copy(dst + <usize>lo * es, src + <usize>lo * es, <usize>(hi - lo) * es);
          } else {
            for (let wo = lo; wo < hi; wo++) store<T>(dst + <usize>wo * es, load<T>(src + <usize>(wo * sw) * es));
          }
          if (hi < outW) memory.fill(dst + <usize>hi * es, 0, <usize>(outW - hi) * es);
          dst += <usize>outW * es;
        }
      }
    }
  }
}

// The transpose: rows are output positions, columns the taps (row stride ld ≥ taps).
// @ts-ignore: decorator
@inline function unfoldT<T>(
  x: usize, col: usize, inC: i32, inH: i32, inW: i32, outW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, ho0: i32, ho1: i32, ld: i32,
): void {
  const es = <usize>sizeof<T>();
  let row = col;
  for (let ho = ho0; ho < ho1; ho++) {
    for (let wo = 0; wo < outW; wo++) {
      let dst = row;
      const x0 = wo * sw - pw;
      const inside = x0 >= 0 && x0 + kw <= inW;
      for (let c = 0; c < inC; c++) {
        for (let i = 0; i < kh; i++) {
          const y = ho * sh - ph + i;
          if (y < 0 || y >= inH) { memory.fill(dst, 0, <usize>kw * es); dst += <usize>kw * es; continue; }
          const src = x + <usize>((c * inH + y) * inW + x0) * es;
          if (inside) {
            for (let j = 0; j < kw; j++) store<T>(dst + <usize>j * es, load<T>(src + <usize>j * es));
          } else {
            for (let j = 0; j < kw; j++) {
              const xx = x0 + j;
              store<T>(dst + <usize>j * es, xx >= 0 && xx < inW ? load<T>(src + <usize>j * es) : <T>0);
            }
          }
          dst += <usize>kw * es;
        }
      }
      row += <usize>ld * es;
    }
  }
}

// dx[c, y, x] += col[(c, i, j), (ho, wo)] for every tap that read (y, x). Each dx element receives
// its terms in the same order however the row is walked (lanes are distinct elements).
// @ts-ignore: decorator
@inline function fold<T>(
  col: usize, dx: usize, inC: i32, inH: i32, inW: i32, outW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, ho0: i32, ho1: i32, ld: i32,
): void {
  const es = <usize>sizeof<T>();
  const lanes = <i32>(16 / es);
  let tap = col;
  for (let c = 0; c < inC; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const lo = firstInside(j, sw, pw);
        let hi = endInside(j, sw, pw, inW, outW);
        if (hi < lo) hi = lo;
        let src = tap;
        tap += <usize>ld * es;
        for (let ho = ho0; ho < ho1; ho++) {
          const y = ho * sh - ph + i;
          if (y < 0 || y >= inH) { src += <usize>outW * es; continue; }
          const dst = dx + <usize>((c * inH + y) * inW - pw + j) * es;
          let wo = lo;
          if (sw == 1) {
            for (; wo + lanes <= hi; wo += lanes) {
              const p = dst + <usize>wo * es, q = src + <usize>wo * es;
              if (sizeof<T>() == 8) v128.store(p, f64x2.add(v128.load(p), v128.load(q)));
              else v128.store(p, f32x4.add(v128.load(p), v128.load(q)));
            }
          }
          for (; wo < hi; wo++) {
            const p = dst + <usize>(wo * sw) * es;
            store<T>(p, load<T>(p) + load<T>(src + <usize>wo * es));
          }
          src += <usize>outW * es;
        }
      }
    }
  }
}

export function unfold_f64(
  x: usize, col: usize, inC: i32, inH: i32, inW: i32, outW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, ho0: i32, ho1: i32, ld: i32,
): void { unfold<f64>(x, col, inC, inH, inW, outW, kh, kw, sh, sw, ph, pw, ho0, ho1, ld); }

export function unfold_f32(
  x: usize, col: usize, inC: i32, inH: i32, inW: i32, outW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, ho0: i32, ho1: i32, ld: i32,
): void { unfold<f32>(x, col, inC, inH, inW, outW, kh, kw, sh, sw, ph, pw, ho0, ho1, ld); }

export function unfoldT_f64(
  x: usize, col: usize, inC: i32, inH: i32, inW: i32, outW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, ho0: i32, ho1: i32, ld: i32,
): void { unfoldT<f64>(x, col, inC, inH, inW, outW, kh, kw, sh, sw, ph, pw, ho0, ho1, ld); }

export function unfoldT_f32(
  x: usize, col: usize, inC: i32, inH: i32, inW: i32, outW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, ho0: i32, ho1: i32, ld: i32,
): void { unfoldT<f32>(x, col, inC, inH, inW, outW, kh, kw, sh, sw, ph, pw, ho0, ho1, ld); }

export function fold_f64(
  col: usize, dx: usize, inC: i32, inH: i32, inW: i32, outW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, ho0: i32, ho1: i32, ld: i32,
): void { fold<f64>(col, dx, inC, inH, inW, outW, kh, kw, sh, sw, ph, pw, ho0, ho1, ld); }

export function fold_f32(
  col: usize, dx: usize, inC: i32, inH: i32, inW: i32, outW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, ho0: i32, ho1: i32, ld: i32,
): void { fold<f32>(col, dx, inC, inH, inW, outW, kh, kw, sh, sw, ph, pw, ho0, ho1, ld); }

// ---- transpose: dst[c × rows + r] = src[r × cols + c] (the weights for the input gradient) ----
// @ts-ignore: decorator
@inline function transpose<T>(src: usize, dst: usize, rows: i32, cols: i32): void {
  const es = <usize>sizeof<T>();
  for (let r = 0; r < rows; r++) {
    const s = src + <usize>(r * cols) * es;
    for (let c = 0; c < cols; c++) store<T>(dst + <usize>(c * rows + r) * es, load<T>(s + <usize>c * es));
  }
}

export function transpose_f64(src: usize, dst: usize, rows: i32, cols: i32): void {
  transpose<f64>(src, dst, rows, cols);
}

export function transpose_f32(src: usize, dst: usize, rows: i32, cols: i32): void {
  transpose<f32>(src, dst, rows, cols);
}

// ---- float64 ↔ float32 (round to nearest, as a Float32Array store rounds; widening is exact) ----
// @ts-ignore: decorator
@inline function demoteRun(src: usize, dst: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = src + <usize>i * 8;
    const lo = f32x4.demote_f64x2_zero(v128.load(p)), hi = f32x4.demote_f64x2_zero(v128.load(p, 16));
    v128.store(dst + <usize>i * 4, f32x4.shuffle(lo, hi, 0, 1, 4, 5));
  }
  for (; i < n; i++) store<f32>(dst + <usize>i * 4, <f32>load<f64>(src + <usize>i * 8));
}

// @ts-ignore: decorator
@inline function promoteRun(src: usize, dst: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(src + <usize>i * 4), p = dst + <usize>i * 8;
    v128.store(p, f64x2.promote_low_f32x4(v));
    v128.store(p, f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 2, 3)), 16);
  }
  for (; i < n; i++) store<f64>(dst + <usize>i * 8, <f64>load<f32>(src + <usize>i * 4));
}

export function demote(src: usize, dst: usize, n: i32): void { demoteRun(src, dst, n); }

export function promote(src: usize, dst: usize, n: i32): void { promoteRun(src, dst, n); }

// A batch [n][c][len] to channel-major rows (channel o's row at o·ld, sample s's block at s·len in
// it) and back, converting on the way; ld ≥ n·len (a padded row stride keeps the rows of a GEMM's
// operand off one cache set when n·len is a power of two).
export function demote_to_channels(src: usize, dst: usize, n: i32, c: i32, len: i32, ld: i32): void {
  for (let s = 0; s < n; s++) {
    for (let o = 0; o < c; o++) {
      demoteRun(src + <usize>((s * c + o) * len) * 8, dst + <usize>(o * ld + s * len) * 4, len);
    }
  }
}

export function promote_from_channels(src: usize, dst: usize, n: i32, c: i32, len: i32, ld: i32): void {
  for (let s = 0; s < n; s++) {
    for (let o = 0; o < c; o++) {
      promoteRun(src + <usize>(o * ld + s * len) * 4, dst + <usize>((s * c + o) * len) * 8, len);
    }
  }
}

export function copy_to_channels(src: usize, dst: usize, n: i32, c: i32, len: i32, ld: i32): void {
  const b = <usize>len * 8;
  for (let s = 0; s < n; s++) {
    for (let o = 0; o < c; o++) {
      memory.copy(dst + <usize>(o * ld + s * len) * 8, src + <usize>(s * c + o) * b, b);
    }
  }
}

export function copy_from_channels(src: usize, dst: usize, n: i32, c: i32, len: i32, ld: i32): void {
  const b = <usize>len * 8;
  for (let s = 0; s < n; s++) {
    for (let o = 0; o < c; o++) {
      memory.copy(dst + <usize>(s * c + o) * b, src + <usize>(o * ld + s * len) * 8, b);
    }
  }
}
