// gradleak's compute kernels in AssemblyScript, compiled to one WebAssembly module with SIMD
// (scripts/build-wasm.mjs). Written like assembly: raw byte pointers into the exported memory,
// which the host lays out per call (src/kernels/wasm/memory.ts). No allocator, no runtime.
//
// Every kernel exists for float64 (f64x2 lanes) and float32 (f32x4 lanes). Each output element is
// summed in one fixed order, k ascending from its initial value, with separate multiplies and adds
// (no fused multiply-add, no relaxed SIMD): the result does not depend on the lane width, the
// blocking or the run, and the float64 GEMM equals a plain JavaScript loop to the bit.

// ---- GEMM: C[M×N] += A[M×K] · B[K×N], row-major with leading dimensions in elements ----------

// float64: blocks of 4 rows × 4 columns in 8 accumulators; edges by 1-row and scalar loops.
export function gemm_f64(
  a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32,
): void {
  const sa = <usize>lda << 3, sb = <usize>ldb << 3, sc = <usize>ldc << 3;
  const kb = <usize>k << 3;
  const n4 = n & ~3;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = a + <usize>i * sa, c0 = c + <usize>i * sc;
    for (let j: usize = 0; j < (<usize>n4 << 3); j += 32) {
      let cp = c0 + j;
      let s00 = v128.load(cp), s01 = v128.load(cp, 16); cp += sc;
      let s10 = v128.load(cp), s11 = v128.load(cp, 16); cp += sc;
      let s20 = v128.load(cp), s21 = v128.load(cp, 16); cp += sc;
      let s30 = v128.load(cp), s31 = v128.load(cp, 16);
      let bp = b + j;
      for (let p: usize = 0; p < kb; p += 8) {
        const b0 = v128.load(bp), b1 = v128.load(bp, 16);
        let ap = a0 + p;
        let x = f64x2.splat(load<f64>(ap));
        s00 = f64x2.add(s00, f64x2.mul(x, b0)); s01 = f64x2.add(s01, f64x2.mul(x, b1));
        ap += sa; x = f64x2.splat(load<f64>(ap));
        s10 = f64x2.add(s10, f64x2.mul(x, b0)); s11 = f64x2.add(s11, f64x2.mul(x, b1));
        ap += sa; x = f64x2.splat(load<f64>(ap));
        s20 = f64x2.add(s20, f64x2.mul(x, b0)); s21 = f64x2.add(s21, f64x2.mul(x, b1));
        ap += sa; x = f64x2.splat(load<f64>(ap));
        s30 = f64x2.add(s30, f64x2.mul(x, b0)); s31 = f64x2.add(s31, f64x2.mul(x, b1));
        bp += sb;
      }
      cp = c0 + j;
      v128.store(cp, s00); v128.store(cp, s01, 16); cp += sc;
      v128.store(cp, s10); v128.store(cp, s11, 16); cp += sc;
      v128.store(cp, s20); v128.store(cp, s21, 16); cp += sc;
      v128.store(cp, s30); v128.store(cp, s31, 16);
    }
  }
  for (; i < m; i++) {
    const a0 = a + <usize>i * sa, c0 = c + <usize>i * sc;
    for (let j: usize = 0; j < (<usize>n4 << 3); j += 32) {
      let s0 = v128.load(c0 + j), s1 = v128.load(c0 + j, 16);
      let bp = b + j;
      for (let p: usize = 0; p < kb; p += 8) {
        const x = f64x2.splat(load<f64>(a0 + p));
        s0 = f64x2.add(s0, f64x2.mul(x, v128.load(bp)));
        s1 = f64x2.add(s1, f64x2.mul(x, v128.load(bp, 16)));
        bp += sb;
      }
      v128.store(c0 + j, s0); v128.store(c0 + j, s1, 16);
    }
  }
  for (let r = 0; r < m; r++) {
    const a0 = a + <usize>r * sa, c0 = c + <usize>r * sc;
    for (let j = n4; j < n; j++) {
      const cp = c0 + (<usize>j << 3);
      let s = load<f64>(cp);
      let bp = b + (<usize>j << 3);
      for (let p: usize = 0; p < kb; p += 8) { s += load<f64>(a0 + p) * load<f64>(bp); bp += sb; }
      store<f64>(cp, s);
    }
  }
}

// float32: blocks of 4 rows × 8 columns in 8 accumulators.
export function gemm_f32(
  a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32,
): void {
  const sa = <usize>lda << 2, sb = <usize>ldb << 2, sc = <usize>ldc << 2;
  const kb = <usize>k << 2;
  const n8 = n & ~7;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = a + <usize>i * sa, c0 = c + <usize>i * sc;
    for (let j: usize = 0; j < (<usize>n8 << 2); j += 32) {
      let cp = c0 + j;
      let s00 = v128.load(cp), s01 = v128.load(cp, 16); cp += sc;
      let s10 = v128.load(cp), s11 = v128.load(cp, 16); cp += sc;
      let s20 = v128.load(cp), s21 = v128.load(cp, 16); cp += sc;
      let s30 = v128.load(cp), s31 = v128.load(cp, 16);
      let bp = b + j;
      for (let p: usize = 0; p < kb; p += 4) {
        const b0 = v128.load(bp), b1 = v128.load(bp, 16);
        let ap = a0 + p;
        let x = f32x4.splat(load<f32>(ap));
        s00 = f32x4.add(s00, f32x4.mul(x, b0)); s01 = f32x4.add(s01, f32x4.mul(x, b1));
        ap += sa; x = f32x4.splat(load<f32>(ap));
        s10 = f32x4.add(s10, f32x4.mul(x, b0)); s11 = f32x4.add(s11, f32x4.mul(x, b1));
        ap += sa; x = f32x4.splat(load<f32>(ap));
        s20 = f32x4.add(s20, f32x4.mul(x, b0)); s21 = f32x4.add(s21, f32x4.mul(x, b1));
        ap += sa; x = f32x4.splat(load<f32>(ap));
        s30 = f32x4.add(s30, f32x4.mul(x, b0)); s31 = f32x4.add(s31, f32x4.mul(x, b1));
        bp += sb;
      }
      cp = c0 + j;
      v128.store(cp, s00); v128.store(cp, s01, 16); cp += sc;
      v128.store(cp, s10); v128.store(cp, s11, 16); cp += sc;
      v128.store(cp, s20); v128.store(cp, s21, 16); cp += sc;
      v128.store(cp, s30); v128.store(cp, s31, 16);
    }
  }
  for (; i < m; i++) {
    const a0 = a + <usize>i * sa, c0 = c + <usize>i * sc;
    for (let j: usize = 0; j < (<usize>n8 << 2); j += 32) {
      let s0 = v128.load(c0 + j), s1 = v128.load(c0 + j, 16);
      let bp = b + j;
      for (let p: usize = 0; p < kb; p += 4) {
        const x = f32x4.splat(load<f32>(a0 + p));
        s0 = f32x4.add(s0, f32x4.mul(x, v128.load(bp)));
        s1 = f32x4.add(s1, f32x4.mul(x, v128.load(bp, 16)));
        bp += sb;
      }
      v128.store(c0 + j, s0); v128.store(c0 + j, s1, 16);
    }
  }
  for (let r = 0; r < m; r++) {
    const a0 = a + <usize>r * sa, c0 = c + <usize>r * sc;
    for (let j = n8; j < n; j++) {
      const cp = c0 + (<usize>j << 2);
      let s = load<f32>(cp);
      let bp = b + (<usize>j << 2);
      for (let p: usize = 0; p < kb; p += 4) { s += load<f32>(a0 + p) * load<f32>(bp); bp += sb; }
      store<f32>(cp, s);
    }
  }
}

// ---- convolution helpers: unfold the input (im2col) and fold it back (col2im) -----------------
// Rows of the unfolded matrix are the kernel taps (c, i, j), columns the output positions (ho, wo)
// of output rows [ho0, ho1); taps that fall in the padding read zero.

// @ts-ignore: decorator
@inline function unfold<T>(
  x: usize, col: usize, inC: i32, inH: i32, inW: i32, outW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, ho0: i32, ho1: i32,
): void {
  const es = <usize>sizeof<T>();
  let dst = col;
  for (let c = 0; c < inC; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        for (let ho = ho0; ho < ho1; ho++) {
          const y = ho * sh - ph + i;
          if (y < 0 || y >= inH) { memory.fill(dst, 0, <usize>outW * es); dst += <usize>outW * es; continue; }
          const src = x + <usize>((c * inH + y) * inW) * es;
          for (let wo = 0; wo < outW; wo++) {
            const xx = wo * sw - pw + j;
            store<T>(dst, xx >= 0 && xx < inW ? load<T>(src + <usize>xx * es) : <T>0);
            dst += es;
          }
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
      for (let c = 0; c < inC; c++) {
        for (let i = 0; i < kh; i++) {
          const y = ho * sh - ph + i;
          const inside = y >= 0 && y < inH;
          const src = x + <usize>((c * inH + y) * inW) * es;
          for (let j = 0; j < kw; j++) {
            const xx = wo * sw - pw + j;
            store<T>(dst, inside && xx >= 0 && xx < inW ? load<T>(src + <usize>xx * es) : <T>0);
            dst += es;
          }
        }
      }
      row += <usize>ld * es;
    }
  }
}

// dx[c, y, x] += col[(c, i, j), (ho, wo)] for every tap that read (y, x).
// @ts-ignore: decorator
@inline function fold<T>(
  col: usize, dx: usize, inC: i32, inH: i32, inW: i32, outW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, ho0: i32, ho1: i32,
): void {
  const es = <usize>sizeof<T>();
  let src = col;
  for (let c = 0; c < inC; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        for (let ho = ho0; ho < ho1; ho++) {
          const y = ho * sh - ph + i;
          if (y < 0 || y >= inH) { src += <usize>outW * es; continue; }
          const dst = dx + <usize>((c * inH + y) * inW) * es;
          for (let wo = 0; wo < outW; wo++) {
            const xx = wo * sw - pw + j;
            if (xx >= 0 && xx < inW) {
              const p = dst + <usize>xx * es;
              store<T>(p, load<T>(p) + load<T>(src));
            }
            src += es;
          }
        }
      }
    }
  }
}

export function unfold_f64(
  x: usize, col: usize, inC: i32, inH: i32, inW: i32, outW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, ho0: i32, ho1: i32,
): void { unfold<f64>(x, col, inC, inH, inW, outW, kh, kw, sh, sw, ph, pw, ho0, ho1); }

export function unfold_f32(
  x: usize, col: usize, inC: i32, inH: i32, inW: i32, outW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, ho0: i32, ho1: i32,
): void { unfold<f32>(x, col, inC, inH, inW, outW, kh, kw, sh, sw, ph, pw, ho0, ho1); }

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
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, ho0: i32, ho1: i32,
): void { fold<f64>(col, dx, inC, inH, inW, outW, kh, kw, sh, sw, ph, pw, ho0, ho1); }

export function fold_f32(
  col: usize, dx: usize, inC: i32, inH: i32, inW: i32, outW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, ho0: i32, ho1: i32,
): void { fold<f32>(col, dx, inC, inH, inW, outW, kh, kw, sh, sw, ph, pw, ho0, ho1); }
