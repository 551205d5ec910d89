/** Dense vector helpers shared by the solvers and optimisers. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function squaredNorm(v: ArrayLike<number>): number {
  return dot(v, v);
}
