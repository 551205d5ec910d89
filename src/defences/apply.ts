import { Rng } from '../core/rng.js';
import type { Kernels } from '../kernels/kernels.js';
import { batchGradients } from '../model/gradients.js';
import type { Graph, ParamMap } from '../model/graph.js';
import type { BnMode } from '../ops/op.js';
import type { DefenceRecord, SharedUpdate } from '../threat/payload.js';
import { getDefence } from './registry.js';
import { checkDefences } from './spec.js';
import type { ClientBatch, ClientOutput, ClientStep } from './types.js';

/** What a defended client needs besides its batch: its model and weights, and the defences' inputs. */
export interface DefendedClient {
  kernels: Kernels;
  model: Graph;
  /** θ0, the weights the server sent (and the batch-norm buffers). */
  params: ParamMap;
  bnMode: BnMode;
  defences: readonly DefenceRecord[];
  /** Seed of the defences' randomness (noise). */
  seed: number;
  /** The other clients' images and labels (secure aggregation). */
  population?: ClientBatch;
}

/** The plain client step: the mean cross-entropy gradients of the batch at the given weights. */
export function gradientStep(kernels: Kernels, model: Graph, bnMode: BnMode): ClientStep {
  return (params, batch) => {
    const { loss, gradients } = batchGradients(kernels, model, params, batch.images, batch.labels, bnMode);
    return { tensors: gradients, form: { kind: 'gradients' }, loss };
  };
}

/**
 * Runs the client with its defences, the first listed innermost (types.ts), and declares them in the
 * update. Without defences the update is the plain step's, with no declaration.
 */
export function applyDefences(c: DefendedClient, batch: ClientBatch): { update: SharedUpdate; loss: number } {
  checkDefences(c.defences);
  const ctx = { rng: new Rng(c.seed), population: c.population };
  const step = c.defences.reduce<ClientStep>(
    (inner, r) => getDefence(r.name).wrap(inner, r.params, ctx), gradientStep(c.kernels, c.model, c.bnMode));
  const out: ClientOutput = step(c.params, batch);
  const batchSize = batch.labels.length;
  const declared = c.defences.length > 0 ? { defences: c.defences.map((r) => ({ ...r })) } : {};
  const update: SharedUpdate = out.form.kind === 'delta'
    ? {
      kind: 'delta', delta: out.tensors, steps: out.form.steps, lr: out.form.lr, batch: batchSize, ...declared,
    }
    : { gradients: out.tensors, batch: batchSize, ...declared };
  return { update, loss: out.loss };
}
