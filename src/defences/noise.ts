import { fail } from '../core/errors.js';
import { clippedSumVars, scaledVars, squaredDistance } from './adaptive.js';
import { clippedSum, PER_OPTION } from './clip.js';
import { divided } from './tensors.js';
import type { Defence } from './types.js';
import { num, str } from './types.js';

/**
 * The Gaussian mechanism in DP-SGD's convention: clip each example's update to norm C, add
 * N(0, (z·C)²) to every coordinate of the clipped sum, then divide by the batch size so the update
 * stays a mean gradient. One example moves the clipped sum by at most C, so the noise is z times that
 * sensitivity (z, the noise multiplier, is the strength); accounting.ts turns z into (ε, δ). Per batch,
 * the batch's update is clipped and noised as a whole and not divided (client-level privacy).
 * `delta` and `rounds` change nothing in the update: they are what the accounting reports ε for.
 */
export const noise: Defence = {
  name: 'noise',
  description: 'DP-SGD: clip to norm C per example, add N(0, (z·C)²) to the clipped sum, divide by the batch',
  options: [
    { name: 'z', kind: 'number', min: 0, aboveMin: true, max: 1e6, help: 'the noise multiplier z (std / C)' },
    {
      name: 'clip', kind: 'number', min: 0, aboveMin: true, max: 1e8, default: 1, help: 'the clipping norm C',
    },
    PER_OPTION,
    {
      name: 'delta', kind: 'number', min: 0, aboveMin: true, max: 1, belowMax: true, default: 1e-5,
      help: 'the δ that ε is reported for',
    },
    {
      name: 'rounds', kind: 'int', min: 1, max: 1e9, default: 1,
      help: 'training rounds T the accounting composes (the update itself is one round)',
    },
  ],
  once: true,
  strength: { option: 'z', stronger: 'higher' },
  check: (p) => {
    if (num(p, 'z') * num(p, 'clip') > 1e8) fail(
      `noise: z·clip = ${num(p, 'z') * num(p, 'clip')} is beyond any gradient's scale (at most 1e8)`);
  },
  wrap: (inner, p, ctx) => (params, batch) => {
    const C = num(p, 'clip'), sd = num(p, 'z') * C;
    const { output, count } = clippedSum(inner, params, batch, C, str(p, 'per'));
    // drawn tensor by tensor, entry by entry, in the model's order: same seed, same noise
    const tensors = new Map(
      [...output.tensors].map(([k, v]) => [k, v.map((x) => x + sd * ctx.rng.normal())]));
    return { ...output, tensors: count === 1 ? tensors : divided(tensors, count) };
  },
  /**
   * The clipping replayed, the noise's mean (zero) taken: received = simulated + N(0, s²) per
   * coordinate with s = z·C / count, so the Gaussian negative log-likelihood ‖r − ĝ‖² / (2s²) is the
   * distance (the prior's weight, fixed in nats, then weighs more against the data as s grows).
   */
  adapt: (p, received) => {
    const C = num(p, 'clip'), per = str(p, 'per');
    const s = num(p, 'z') * C / (per === 'batch' ? 1 : received.batch);
    return {
      simulate: (inner, e) => (theta, batch) => {
        const { tensors, count } = clippedSumVars(e, inner, theta, batch, C, per);
        return count === 1 ? tensors : scaledVars(e, tensors, 1 / count);
      },
      distance: squaredDistance(1 / (2 * s * s)),
      noiseStd: s,
    };
  },
};
