import { fail } from '../errors.js';
import { copa } from './copa.js';
import { dlg } from './dlg.js';
import { hybrid } from './hybrid.js';
import { ig } from './ig.js';
import { rgap } from './rgap.js';
import type { Attack } from './types.js';

/** Every attack gradleak knows, by name. A new attack is a module plus one entry here. */
export const ATTACKS: readonly Attack[] = [rgap, hybrid, copa, ig, dlg];

export function getAttack(name: string): Attack {
  const a = ATTACKS.find((x) => x.name === name);
  if (!a) fail(`unknown method "${name}" (available: ${ATTACKS.map((x) => x.name).join(', ')})`);
  return a;
}
