import { fromBase64 } from '../../formats/base64.js';
import {
  blockedPivotedCholesky, pivotedCholesky, type PivotedCholesky,
} from '../dense.js';
import {
  solveEnvelopeMany, type Envelope,
} from '../envelope.js';
import { LINALG_WASM_BASE64 } from './binary.js';

/**
 * The pivoted Cholesky factorisations of linalg/dense.ts in WebAssembly SIMD (wasm/linalg.ts), equal
 * to their JavaScript references to the bit: same rank, pivot order and factor (each entry is computed
 * with the same operations in the same order). The `…Fast` functions are what the solver calls: they
 * fall back to the references where WebAssembly SIMD or its memory is not available.
 */

export type Pstrf = (a: number, pt: number, work: number, perm: number, piv: number,
  n: number, nb: number, tol: number, mode: number) => number;
type EnvSolve = (data: number, first: number, ptr: number, x: number, n: number, m: number) => void;
interface Exports { pstrf: Pstrf; envsolve: EnvSolve }

const PAGE = 65536;
/** wasm32 addresses 4 GiB; stay below so that offsets fit a signed 32-bit argument. */
const MAX_BYTES = 2 ** 31 - PAGE;
const ALIGN = 16;

/** One module instance over a memory sized for one call (nothing is kept between calls). */
export function instantiate(bytes: number): { fn: Exports; buffer: ArrayBuffer } {
  if (bytes > MAX_BYTES) {
    throw new RangeError(`a dense factorisation needs ${Math.ceil(bytes / 2 ** 20)} MiB, `
      + 'more than WebAssembly\'s 2 GiB');
  }
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE)) });
  const module = new WebAssembly.Module(fromBase64(LINALG_WASM_BASE64));
  const instance = new WebAssembly.Instance(module, { env: { memory, abort: () => {} } });
  return { fn: instance.exports as unknown as Exports, buffer: memory.buffer };
}

/**
 * Byte offsets, from `base`, of the matrix (n×n), the transposed panel (nb×n), work (n), perm (n, i32)
 * and the pivots (n).
 */
export function pstrfLayout(n: number, nb: number, base = 0) {
  const up = (b: number) => Math.ceil(b / ALIGN) * ALIGN;
  const a = base, pt = a + up(n * n * 8), work = pt + up(nb * n * 8);
  const perm = work + up(n * 8), piv = perm + up(n * 4);
  return { a, pt, work, perm, piv, end: piv + up(n * 8) };
}

/** The kernel reads the lower triangle only: the reference's swaps also read the upper one. */
function symmetric(a: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) {
    if (!Object.is(a[i * n + j], a[j * n + i])) return false;
  }
  return true;
}

/**
 * blockedPivotedCholesky in WebAssembly: same arguments and results. Only the lower triangle of `a`
 * is defined on return (it equals the reference's; the upper triangle is scratch, which no caller
 * reads). A matrix that is not exactly symmetric goes to the reference. Throws RangeError when the
 * memory cannot be had.
 */
export function blockedPivotedCholeskyWasm(
  a: Float64Array, n: number, tol: number, nb = 48,
): { rank: number; perm: Int32Array; pivots: Float64Array } {
  const o = pstrfLayout(n, nb);
  if (o.end <= MAX_BYTES && !symmetric(a, n)) return blockedPivotedCholesky(a, n, tol, nb);
  const { fn: { pstrf }, buffer } = instantiate(o.end);
  new Float64Array(buffer, o.a, n * n).set(a);
  const perm = new Int32Array(buffer, o.perm, n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const rank = pstrf(o.a, o.pt, o.work, o.perm, o.piv, n, nb, tol, 0);
  a.set(new Float64Array(buffer, o.a, n * n));
  return { rank, perm: perm.slice(), pivots: new Float64Array(buffer, o.piv, rank).slice() };
}

/**
 * pivotedCholesky in WebAssembly: same arguments and results (a matrix that is not exactly symmetric
 * goes to the reference). Right-looking and blocked, it asks for every column once, where the reference
 * asks for the pivot columns only. Throws RangeError when the memory cannot be had.
 */
export function pivotedCholeskyWasm(
  n: number, column: (j: number, out: Float64Array) => void, diag: Float64Array, tol: number, nb = 48,
): PivotedCholesky {
  const o = pstrfLayout(n, nb);
  const { fn: { pstrf }, buffer } = instantiate(o.end);
  // row j holds column j: by symmetry, lower entry (i, j) is then column j's entry i
  for (let j = 0; j < n; j++) column(j, new Float64Array(buffer, o.a + j * n * 8, n));
  if (!symmetric(new Float64Array(buffer, o.a, n * n), n)) return pivotedCholesky(n, column, diag, tol);
  return pstrfPivoted(pstrf, buffer, o, n, diag, tol, nb);
}

/**
 * pstrf in pivotedCholesky's mode on the symmetric matrix already at o.a (lower triangle read), with
 * pivotedCholesky's result: the factor's rows back in the original order, a pivot's row zero after its
 * own step, as in the reference (or no factor, l empty, when only the rank and pivots are wanted).
 */
export function pstrfPivoted(
  pstrf: Pstrf, buffer: ArrayBuffer, o: ReturnType<typeof pstrfLayout>, n: number, diag: Float64Array,
  tol: number, nb: number, keepFactor = true,
): PivotedCholesky {
  new Float64Array(buffer, o.work, n).set(diag);
  const perm = new Int32Array(buffer, o.perm, n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const r = pstrf(o.a, o.pt, o.work, o.perm, o.piv, n, nb, tol, 1);
  const m = new Float64Array(buffer, o.a, n * n);
  const l = new Float64Array(keepFactor ? n * r : 0);
  if (keepFactor) for (let q = 0; q < n; q++) {
    const row = perm[q] * r, hi = Math.min(r, q + 1);
    for (let t = 0; t < hi; t++) l[row + t] = m[q * n + t];
  }
  return { rank: r, pivots: perm.slice(0, r), l, pivotValues: new Float64Array(buffer, o.piv, r).slice() };
}

/** Vectors per pass of envsolve (wasm/linalg.ts): four f64x2 lanes. */
const MANY = 8;

/**
 * solveEnvelopeMany in WebAssembly: each vector of `bs` becomes (LLᵀ)⁻¹ itself, with the bits
 * solveEnvelope gives it. Throws RangeError when the memory cannot be had.
 */
export function solveEnvelopeManyWasm(l: Envelope, bs: Float64Array[]): void {
  const { n } = l;
  const up = (b: number) => Math.ceil(b / ALIGN) * ALIGN;
  const data = 0, first = up(l.data.length * 8), ptr = first + up(n * 4), x = ptr + up((n + 1) * 4);
  const { fn: { envsolve }, buffer } = instantiate(x + n * MANY * 8);
  new Float64Array(buffer, data, l.data.length).set(l.data);
  new Int32Array(buffer, first, n).set(l.first);
  new Int32Array(buffer, ptr, n + 1).set(l.ptr);
  const xs = new Float64Array(buffer, x, n * MANY);
  for (let c0 = 0; c0 < bs.length; c0 += MANY) {
    const m = Math.min(MANY, bs.length - c0);
    if (m < MANY) xs.fill(0);
    for (let r = 0; r < m; r++) { const b = bs[c0 + r]; for (let i = 0; i < n; i++) xs[i * MANY + r] = b[i]; }
    envsolve(data, first, ptr, x, n, m);
    for (let r = 0; r < m; r++) { const b = bs[c0 + r]; for (let i = 0; i < n; i++) b[i] = xs[i * MANY + r]; }
  }
}

/** Whether this engine validates the module (WebAssembly with SIMD). */
function available(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(fromBase64(LINALG_WASM_BASE64));
  } catch {
    return false;
  }
}

/** Runs the WebAssembly version, or the reference where WebAssembly or its memory is missing. */
export function withFallback<T>(wasm: () => T, reference: () => T): T {
  if (!available()) return reference();
  try {
    return wasm();
  } catch (e) {
    // no SIMD, a memory V8 could not reserve (ulimit -v), or beyond wasm32's 2 GiB
    if (e instanceof RangeError || e instanceof WebAssembly.CompileError) return reference();
    throw e;
  }
}

export function blockedPivotedCholeskyFast(
  a: Float64Array, n: number, tol: number, nb = 48,
): { rank: number; perm: Int32Array; pivots: Float64Array } {
  return withFallback(
    () => blockedPivotedCholeskyWasm(a, n, tol, nb), () => blockedPivotedCholesky(a, n, tol, nb));
}

export function pivotedCholeskyFast(
  n: number, column: (j: number, out: Float64Array) => void, diag: Float64Array, tol: number,
): PivotedCholesky {
  return withFallback(
    () => pivotedCholeskyWasm(n, column, diag, tol), () => pivotedCholesky(n, column, diag, tol));
}

export function solveEnvelopeManyFast(l: Envelope, bs: Float64Array[]): void {
  withFallback(() => solveEnvelopeManyWasm(l, bs), () => solveEnvelopeMany(l, bs));
}
