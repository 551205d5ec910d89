/**
 * Zeroes the `count` entries of smallest magnitude among `segments` taken together (one tensor for
 * pruning, all of them for top-k). Ties are broken by position — the earlier segment, then the lower
 * index, is zeroed first — so the result is the same on every run and exactly `count` entries go.
 */
export function zeroSmallest(segments: readonly Float64Array[], count: number): void {
  if (count <= 0) return;
  const total = segments.reduce((s, v) => s + v.length, 0);
  const mags = new Float64Array(total);
  let at = 0;
  for (const v of segments) for (let k = 0; k < v.length; k++) mags[at++] = Math.abs(v[k]);
  // the largest magnitude that goes: entries below it all go, entries equal to it go in order
  const threshold = mags.slice().sort()[Math.min(count, total) - 1];
  let below = 0;
  for (let k = 0; k < total; k++) if (mags[k] < threshold) below++;
  let ties = Math.min(count, total) - below;
  for (const v of segments) {
    for (let k = 0; k < v.length; k++) {
      const m = Math.abs(v[k]);
      if (m < threshold) v[k] = 0;
      else if (m === threshold && ties > 0) { v[k] = 0; ties--; }
    }
  }
}

/** round(f·n): the number of entries a fraction f of n means (halves up). */
export function fractionCount(f: number, n: number): number {
  return Math.floor(f * n + 0.5);
}
