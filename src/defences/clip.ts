import { clippedSumVars, scaledVars } from './adaptive.js';
import { batchSlice, divided, l2Norm, scaled, sumOutputs, type Tensors } from './tensors.js';
import type { ClientBatch, ClientOutput, ClientStep, Defence, DefenceOption } from './types.js';
import { num, str } from './types.js';

/**
 * L2 clipping: the update, all its tensors as one vector, is scaled down to norm at most C. Per
 * example (DP-SGD's convention), each example's update is computed alone and clipped, and the client
 * shares their mean; per batch, the batch's update is clipped as a whole.
 */
export const PER_OPTION: DefenceOption = {
  name: 'per', kind: 'choice', choices: ['example', 'batch'], default: 'example',
  help: 'clip each example\'s update (example) or the batch\'s as a whole (batch)',
};

/** Scales the tensors to norm min(‖g‖, C): a factor C/‖g‖ when ‖g‖ > C, else unchanged. */
export function clipToNorm(m: Tensors, C: number): Tensors {
  const norm = l2Norm(m);
  return norm > C ? scaled(m, C / norm) : m;
}

/**
 * Per example: Σ_i clip(update of example i), each example alone through the step beneath (a batch
 * of one, so batch norm in train mode sees one example), with `count` = the batch size; per batch:
 * clip(update of the batch), `count` = 1. Either way one example changes the sum by at most C
 * (per batch: the whole batch is the unit that may change).
 */
export function clippedSum(
  inner: ClientStep, params: Parameters<ClientStep>[0], batch: ClientBatch, C: number, per: string,
): { output: ClientOutput; count: number } {
  if (per === 'batch') {
    const out = inner(params, batch);
    return { output: { ...out, tensors: clipToNorm(out.tensors, C) }, count: 1 };
  }
  const outputs = batch.labels.map((_, i) => {
    const out = inner(params, batchSlice(batch, i, 1));
    return { ...out, tensors: clipToNorm(out.tensors, C) };
  });
  return { output: sumOutputs(outputs), count: outputs.length };
}

export const clip: Defence = {
  name: 'clip',
  description: 'L2 clipping to norm C, per example (the mean of the clipped examples) or per batch',
  options: [
    { name: 'norm', kind: 'number', min: 0, aboveMin: true, max: 1e8, help: 'the clipping norm C' },
    PER_OPTION,
  ],
  strength: { option: 'norm', stronger: 'lower' },
  wrap: (inner, p) => (params, batch) => {
    const { output, count } = clippedSum(inner, params, batch, num(p, 'norm'), str(p, 'per'));
    return count === 1 ? output : { ...output, tensors: divided(output.tensors, count) };
  },
  // the clipping replayed on the candidate: its scale C/‖g‖ depends on the candidate, differentiably
  adapt: (p) => ({
    simulate: (inner, e) => (theta, batch) => {
      const { tensors, count } = clippedSumVars(e, inner, theta, batch, num(p, 'norm'), str(p, 'per'));
      return count === 1 ? tensors : scaledVars(e, tensors, 1 / count);
    },
    scalesOnly: true,
  }),
};
