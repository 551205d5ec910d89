import blobs from '../../samples/blobs.png?inline';
import face from '../../samples/face.png?inline';
import hills from '../../samples/hills.png?inline';
import rings from '../../samples/rings.png?inline';
import stripes from '../../samples/stripes.png?inline';

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
