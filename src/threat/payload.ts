import type { Normalisation } from '../formats/image.js';
import type { Graph, ParamMap } from '../model/graph.js';
import type { BnMode } from '../ops/op.js';

/**
 * The threat model as data (after breaching's server payload and shared data). The server, which is
 * the attacker, knows what it sent — the architecture, the weights, the data normalisation and which
 * batch-norm statistics the client uses — and receives the shared update. The images never appear in
 * either: only the simulated client (client.ts) and evaluation code hold them.
 */
export interface ServerPayload {
  model: Graph;
  /** The weights it sent, and the batch-norm buffers, by name. */
  params: ParamMap;
  normalisation: Normalisation;
  bnMode: BnMode;
}

export interface SharedUpdate {
  /** Gradients of the mean loss over the client's batch, for every trainable tensor, by name. */
  gradients: ParamMap;
  /** The number of images the update was computed on. */
  batch: number;
  /** The labels, when the attacker is given them (in no particular order). */
  labels?: readonly number[];
}
