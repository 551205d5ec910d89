import type { Engine, Var } from '../autodiff/engine.js';
import type { Shape } from '../tensor/tensor.js';

/**
 * A graph op: one module holding its rules. `attrs` validates the spec's fields, `shape` infers the
 * per-sample output shape (no batch dimension), `params` declares the op's tensors, `apply` computes
 * the output from primitives (so its vector-Jacobian product and second order come from theirs),
 * and `analysis` says how the layer-wise reconstruction treats it (ops/analysis.ts).
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
}
