import blobs from '../../samples/blobs.png?inline';
import face from '../../samples/face.png?inline';
import hills from '../../samples/hills.png?inline';
import rings from '../../samples/rings.png?inline';
import stripes from '../../samples/stripes.png?inline';
import type { PlanImage } from '../../src/app/defend.js';
import { decodeImage } from '../../src/formats/image.js';

/**
 * The bundled sample images, inlined into the bundle as data URLs at build time and decoded from
 * there: choosing one fetches nothing.
 */
const SAMPLES: Readonly<Record<string, string>> = { hills, blobs, face, rings, stripes };

export const SAMPLE_NAMES: readonly string[] = Object.keys(SAMPLES);

/** A sample's PNG bytes, or null for an unknown name. */
export function sampleBytes(name: string): Uint8Array | null {
  const url = SAMPLES[name];
  if (url === undefined) return null;
  const base64 = url.slice(url.indexOf(',') + 1);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

/**
 * The samples as an image set, in the CLI's order for `samples` (by file name) and with no labels, so
 * that secure aggregation's other clients are the ones `defend --population samples` takes; ids are
 * the page's names for them (hills, …), so a sample chosen as the target is left out of its own sum.
 */
export function sampleSet(): PlanImage[] {
  return [...SAMPLE_NAMES].sort()
    .map((id) => ({ id, bitmap: decodeImage(sampleBytes(id)!, `sample ${id}`), label: null }));
}
