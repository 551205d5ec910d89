import { copa } from './layerwise/copa.js';
import { hybrid } from './layerwise/hybrid.js';
import { rgap } from './layerwise/rgap.js';
import { fail } from '../core/errors.js';
import { dlg } from './matching/dlg.js';
import { ig } from './matching/ig.js';
import { igWhole } from './matching/ig-whole.js';
import type { Attack } from './types.js';

/** Every attack gradleak knows, by name. A new attack is a module plus one entry here. */
export const ATTACKS: readonly Attack[] = [rgap, hybrid, copa, ig, igWhole, dlg];

export function getAttack(name: string): Attack {
  const a = ATTACKS.find((x) => x.name === name);
  if (!a) fail(`unknown method "${name}" (available: ${ATTACKS.map((x) => x.name).join(', ')})`);
  return a;
}
