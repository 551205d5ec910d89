import type { Rng } from '../core/rng.js';
import type { ParamMap } from '../model/graph.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AdaptiveRule, ReceivedUpdate } from './adaptive.js';

/**
 * One interface for every defence. A defence runs on the client: it wraps the client's step — how
 * weights and a batch become the tensors it shares — in another step. The plain step computes the
 * mean cross-entropy gradients (model/gradients.ts); a chain of defences wraps it in the order given,
 * so the first defence is innermost: `--defence clip:1 --defence prune:0.9` clips, then prunes.
 * Wrapping (rather than transforming the final tensors) lets a defence call the step beneath it as
 * it needs: once per example (per-example clipping), once per local step (FedAvg), once per client
 * (secure aggregation, whose other clients apply the defences beneath it too).
 */

/** One client's data, in the model's input space: images [N, C, H, W] and a label for each. */
export interface ClientBatch {
  images: Tensor;
  labels: readonly number[];
}

/** How the shared tensors are to be read. */
export type UpdateForm =
  | { kind: 'gradients' }
  | { kind: 'delta'; steps: number; lr: number };

/** What one client step produces. */
export interface ClientOutput {
  /** For every trainable tensor, by name: gradients of the mean loss, or a weight delta (`form`). */
  tensors: Map<string, Float64Array>;
  form: UpdateForm;
  /** The client's mean loss at the weights it received (before any local step). */
  loss: number;
}

export type ClientStep = (params: ParamMap, batch: ClientBatch) => ClientOutput;

/** What a defence may use besides the step it wraps. */
export interface DefenceContext {
  /** The client's seeded randomness (noise); drawn in a fixed order, so same seed, same bytes. */
  rng: Rng;
  /** The other clients' data for secure aggregation, taken in order, a batch per client. */
  population?: ClientBatch;
}

/** A defence's parameters, checked and with defaults filled in (spec.ts). */
export type DefenceParams = Readonly<Record<string, number | string>>;

/** One declared option: how it is written, checked and documented. */
export interface DefenceOption {
  name: string;
  help: string;
  kind: 'number' | 'int' | 'choice';
  /** Used when the option is not given; without one the option is required. */
  default?: number | string;
  /** Inclusive bounds of a number or int (exclusive at `min` with `aboveMin`, at `max` with `belowMax`). */
  min?: number;
  max?: number;
  aboveMin?: boolean;
  belowMax?: boolean;
  /** The values of a choice. */
  choices?: readonly string[];
}

export interface Defence {
  name: string;
  description: string;
  options: readonly DefenceOption[];
  /**
   * The option a sweep varies and a bare value sets (`prune:0.9`), and which way is stronger: a
   * larger number, or for a choice a later one in `choices`.
   */
  strength: { option: string; stronger: 'higher' | 'lower' };
  /** At most one in a chain: a second would change what the update is (a delta of a delta, a sum of sums). */
  once?: boolean;
  /** Checks across options, beyond each option's own bounds (one-line errors through fail()). */
  check?(params: DefenceParams): void;
  wrap(inner: ClientStep, params: DefenceParams, ctx: DefenceContext): ClientStep;
  /**
   * What an adaptive attacker does about this defence (adaptive.ts), given what it received (the whole
   * update, as declared: gradients or a weight delta). Absent: the defence is read naively.
   */
  adapt?(params: DefenceParams, received: ReceivedUpdate): AdaptiveRule;
}

/** A number parameter (spec.ts has checked its kind). */
export function num(params: DefenceParams, name: string): number {
  return params[name] as number;
}

/** A choice parameter. */
export function str(params: DefenceParams, name: string): string {
  return params[name] as string;
}
