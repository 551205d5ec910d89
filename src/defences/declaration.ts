import { fail } from '../core/errors.js';
import type { ParamMap } from '../model/graph.js';
import type { DefenceRecord, SharedUpdate } from '../threat/payload.js';
import { checkDefences, formatDefence } from './spec.js';

/**
 * An update's declaration — its kind and its defences — as the string metadata of a safetensors file
 * (so it cannot be separated from the tensors it describes): `update` = "delta" with `steps` and `lr`
 * for a weight delta (absent for gradients), `defences` = the records as JSON. An undefended gradient
 * update adds nothing, so its file is what it always was.
 */
export function declarationMetadata(u: SharedUpdate): Record<string, string> {
  return {
    ...(u.kind === 'delta' ? { update: 'delta', steps: String(u.steps), lr: String(u.lr) } : {}),
    ...(u.defences?.length ? { defences: JSON.stringify(u.defences) } : {}),
  };
}

/** The update a file holds: its tensors read as its metadata declares (checked by checkUpdate). */
export function updateFromMetadata(
  tensors: ParamMap, meta: Readonly<Record<string, string>>, batch: number, what: string,
): SharedUpdate {
  let defences: DefenceRecord[] | undefined;
  if (meta.defences !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(meta.defences);
    } catch {
      fail(`${what}: metadata "defences" is not valid JSON`);
    }
    if (!Array.isArray(parsed)) fail(`${what}: metadata "defences" must be a list of {name, params}`);
    checkDefences(parsed as DefenceRecord[]);
    defences = parsed as DefenceRecord[];
  }
  const declared = defences ? { defences } : {};
  const kind = meta.update ?? 'gradients';
  if (kind === 'gradients') return { gradients: tensors, batch, ...declared };
  if (kind !== 'delta') fail(
    `${what}: metadata "update" must be gradients or delta, got ${JSON.stringify(kind.slice(0, 20))}`);
  const steps = Number(meta.steps), lr = Number(meta.lr);
  return { kind: 'delta', delta: tensors, steps, lr, batch, ...declared };
}

/**
 * The declaration agrees with itself: valid defences, and a declared fedavg matches the update — a
 * weight delta of its steps and learning rate.
 */
export function checkDeclaration(u: SharedUpdate): void {
  if (!u.defences) return;
  checkDefences(u.defences);
  const fed = u.defences.find((r) => r.name === 'fedavg');
  if (fed && (u.kind !== 'delta' || u.steps !== fed.params.steps || u.lr !== fed.params.lr)) fail(
    `the update declares ${formatDefence(fed)} but is ${u.kind === 'delta'
      ? `a weight delta of ${u.steps} step(s) at rate ${u.lr}` : 'gradients, not a weight delta'}`);
}
