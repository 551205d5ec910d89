/**
 * A ReLU output at most this fraction of the layer's largest is taken as zero, an inactive unit: an
 * exactly determined layer above still carries solver round-off (≈1e-9 seen), and calling a unit
 * inactive only drops its row, while calling it active adds a wrong one.
 */
export const ACTIVE = 1e-7;

/** The units above ACTIVE of the largest magnitude: a ReLU's active set as estimated from values. */
export function activeUnits(values: Float64Array): Uint8Array {
  const max = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return Uint8Array.from(values, (v) => (v > ACTIVE * max ? 1 : 0));
}
