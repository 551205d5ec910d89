import type { Engine, Var } from '../autodiff/engine.js';
import type { LayerGeometry } from '../model/chain-spec.js';
import type { Kernels } from '../kernels/kernels.js';
import type { Shape } from '../tensor/tensor.js';
import type { Knowledge } from './knowledge.js';

/**
 * A graph op: one module holding its rules. `attrs` validates the spec's fields, `shape` infers the
 * per-sample output shape (no batch dimension), `params` declares the op's tensors, `apply` computes
 * the output from primitives (so its vector-Jacobian product and second order come from theirs),
 * and `layerwise` says how the layer-wise analysis passes knowledge back through it (docs/METHOD.md).
 */
export type BnMode = 'eval' | 'train';

export interface OpContext {
  e: Engine;
  /** Batch normalisation: running statistics (eval) or the batch's own (train). */
  bnMode: BnMode;
}

export interface ParamDecl {
  /** The suffix of the tensor's name: `<node>.<suffix>` (PyTorch's state_dict naming). */
  suffix: string;
  shape: Shape;
  /** Gradients are shared for trainable tensors; buffers (running statistics) are not trained. */
  trainable: boolean;
  /** PyTorch's default initialisation of this tensor, from a uniform(−1, 1) source. */
  init: (uniform: () => number) => number;
}

/** What an op's layer-wise rule sees: one sample's true input and the op's tensors (the what-if). */
export interface RuleContext {
  kernels: Kernels;
  bnMode: BnMode;
  /** The input without its batch dimension, and its values. */
  inShape: Shape;
  input: Float64Array;
  params: Readonly<Record<string, Float64Array>>;
}

/**
 * The layer-wise analysis recovers a layer's pre-activation from the input of the next weighted layer,
 * walking back through the ops between. Given what is known of an op's output — values, and sums of
 * values (ops/knowledge.ts) — `knownInputs` says what that makes known of its input, or why it has no
 * rule.
 */
export interface LayerwiseRule<A> {
  knownInputs(a: A, ctx: RuleContext, known: Knowledge): Knowledge | { reason: string };
}

/** The rule of an op that moves values unchanged (reshapes, identity, dropout at evaluation). */
export const ONE_TO_ONE: LayerwiseRule<unknown> = { knownInputs: (_a, _ctx, known) => known };

/**
 * The rule of a strictly monotone, nonlinear activation (tanh, sigmoid, softplus): each known value
 * gives its input, but a known sum of outputs is not linear in the inputs, and is dropped.
 */
export const INVERTIBLE: LayerwiseRule<unknown> = {
  knownInputs: (_a, _ctx, known) => ({ values: known.values, sums: null }),
};

/**
 * A weighted op affine in its input (conv2d, linear): its layer-wise system — weight, gradient and
 * padding rows over its padded input (solve/system.ts) — is set by this geometry.
 */
export interface LayerSystemRule<A> {
  geometry(a: A, inShape: Shape, index: number): LayerGeometry | { reason: string };
}

export interface Op<A = unknown> {
  readonly name: string;
  /** Number of inputs. */
  readonly arity: number;
  /** The attribute fields a node of this op may have, beside name, op and inputs. */
  readonly fields: readonly string[];
  attrs(raw: Readonly<Record<string, unknown>>, where: (s: string) => string): A;
  shape(a: A, inputs: readonly Shape[], where: (s: string) => string): Shape;
  params(a: A, inputs: readonly Shape[]): ParamDecl[];
  apply(ctx: OpContext, inputs: readonly Var[], params: Readonly<Record<string, Var>>, a: A): Var;
  /** Absent: the op has no layer-wise rule (the analysis names it; optimisation attacks still run). */
  readonly layerwise?: LayerwiseRule<A>;
  /** Present on the weighted ops whose inputs the layer-wise analysis solves for. */
  readonly system?: LayerSystemRule<A>;
}
