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

/**
 * A defence the client applied, as the server may know it: the defence's name and its parameters
 * (defaults filled in). Never the images, the noise drawn or the other clients' data.
 */
export interface DefenceRecord {
  name: string;
  params: Readonly<Record<string, number | string>>;
}

/** What every shared update says besides its tensors. */
interface UpdateBase {
  /** The number of images the update was computed on (the client's batch). */
  batch: number;
  /** The labels, when the attacker is given them (in no particular order). */
  labels?: readonly number[];
  /** The defences in force, in the order the client applied them (absent or empty: none). */
  defences?: readonly DefenceRecord[];
}

/** The client shares gradients of its mean loss (possibly defended: clipped, noisy, pruned, ...). */
export interface GradientUpdate extends UpdateBase {
  kind?: 'gradients';
  /** For every trainable tensor, by name. */
  gradients: ParamMap;
}

/**
 * The client trained locally (FedAvg) and shares the change of its weights, θ_E − θ0, after `steps`
 * plain SGD steps at learning rate `lr` on its batch; the server knows θ0 (the weights it sent).
 */
export interface DeltaUpdate extends UpdateBase {
  kind: 'delta';
  /** θ_E − θ0 for every trainable tensor, by name. */
  delta: ParamMap;
  steps: number;
  lr: number;
}

export type SharedUpdate = GradientUpdate | DeltaUpdate;

/**
 * The gradients a naive attacker (one that ignores the defences) takes from an update: a gradient
 * update as it is (the same object), a weight delta as the gradient one SGD step would have needed to
 * move that far, −(θ_E − θ0)/(E·η) — exact for E = 1, the mean gradient along the path otherwise.
 */
export function naiveGradients(u: SharedUpdate): GradientUpdate {
  if (u.kind !== 'delta') return u;
  const scale = u.steps * u.lr;
  const gradients = new Map([...u.delta].map(([k, d]) => [k, d.map((v) => -v / scale)]));
  const { kind: _kind, delta: _delta, steps: _steps, lr: _lr, ...rest } = u;
  return { ...rest, gradients };
}

/** The tensors an update carries, whichever its kind. */
export function updateTensors(u: SharedUpdate): ParamMap {
  return u.kind === 'delta' ? u.delta : u.gradients;
}
