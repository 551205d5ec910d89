import { assertFinite, fail } from '../core/errors.js';
import type { Graph } from '../model/graph.js';
import type { SharedUpdate } from '../threat/payload.js';

/** Checks that an update fits the model: a gradient of the right size for every trainable tensor, finite. */
export function checkUpdate(g: Graph, u: SharedUpdate): void {
  if (!Number.isInteger(u.batch) || u.batch < 1) fail(
    `the update's batch size must be a whole number of at least 1, got ${u.batch}`);
  if (u.labels && u.labels.length !== u.batch) fail(
    `${u.labels.length} label(s) given for a batch of ${u.batch}`);
  for (const p of g.params.filter((q) => q.trainable)) {
    const v = u.gradients.get(p.name);
    if (!v) fail(`gradients: missing tensor ${p.name}`);
    if (v.length !== p.shape.reduce((a, b) => a * b, 1)) fail(
      `gradients: ${p.name} has ${v.length} values, the model needs [${p.shape.join(',')}]`);
    assertFinite(v, `gradients: ${p.name}`);
  }
  for (const y of u.labels ?? []) if (!Number.isInteger(y) || y < 0 || y >= g.classes) fail(
    `label must be an integer in 0..${g.classes - 1}, got ${y}`);
}
