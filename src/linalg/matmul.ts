/**
 * C[m×n] += A[m×k] · B[k×n], row-major and contiguous. Each entry adds its k products to its initial
 * value in ascending order, as the WebAssembly GEMM of wasm/kernels.ts does, so the two agree to the bit.
 */
export function matmulAdd(
  c: Float64Array, a: Float64Array, b: Float64Array, m: number, n: number, k: number,
): void {
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const v = a[i * k + p], bp = p * n;
      for (let j = 0; j < n; j++) c[ci + j] += v * b[bp + j];
    }
  }
}
