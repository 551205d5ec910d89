import { assertFinite, fail } from '../core/errors.js';
import { checkDeclaration } from '../defences/declaration.js';
import type { Graph } from '../model/graph.js';
import { naiveGradients, updateTensors, type GradientUpdate, type SharedUpdate } from '../threat/payload.js';

/**
 * Checks that an update fits the model — a tensor of the right size for every trainable tensor,
 * finite; a weight delta with its steps and learning rate; defences the registry knows, with valid
 * parameters — and returns the gradients a naive attacker uses (threat/payload.ts: an undefended
 * gradient update is returned as it is).
 */
export function checkUpdate(g: Graph, u: SharedUpdate): GradientUpdate {
  if (!Number.isInteger(u.batch) || u.batch < 1) fail(
    `the update's batch size must be a whole number of at least 1, got ${u.batch}`);
  if (u.labels && u.labels.length !== u.batch) fail(
    `${u.labels.length} label(s) given for a batch of ${u.batch}`);
  const what = u.kind === 'delta' ? 'weight delta' : 'gradients';
  if (u.kind === 'delta') {
    if (!Number.isInteger(u.steps) || u.steps < 1) fail(
      `the weight delta's local steps must be a whole number of at least 1, got ${u.steps}`);
    if (!(u.lr > 0) || !Number.isFinite(u.lr)) fail(
      `the weight delta's learning rate must be a positive number, got ${u.lr}`);
  }
  const tensors = updateTensors(u);
  for (const p of g.params.filter((q) => q.trainable)) {
    const v = tensors.get(p.name);
    if (!v) fail(`${what}: missing tensor ${p.name}`);
    if (v.length !== p.shape.reduce((a, b) => a * b, 1)) fail(
      `${what}: ${p.name} has ${v.length} values, the model needs [${p.shape.join(',')}]`);
    assertFinite(v, `${what}: ${p.name}`);
  }
  for (const y of u.labels ?? []) if (!Number.isInteger(y) || y < 0 || y >= g.classes) fail(
    `label must be an integer in 0..${g.classes - 1}, got ${y}`);
  checkDeclaration(u);
  return naiveGradients(u);
}
