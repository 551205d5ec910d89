import { fail } from '../core/errors.js';
import { clip } from './clip.js';
import { fedavg } from './fedavg.js';
import { noise } from './noise.js';
import { prune } from './prune.js';
import { quantise } from './quantise.js';
import { secagg } from './secagg.js';
import { topk } from './topk.js';
import type { Defence } from './types.js';

/** Every defence gradleak knows, by name. A new defence is a module plus one entry here. */
export const DEFENCES: readonly Defence[] = [clip, noise, prune, topk, quantise, fedavg, secagg];

export function getDefence(name: string): Defence {
  const d = DEFENCES.find((x) => x.name === name);
  if (!d) fail(`unknown defence "${name.slice(0, 40)}" `
    + `(available: ${DEFENCES.map((x) => x.name).join(', ')})`);
  return d;
}
