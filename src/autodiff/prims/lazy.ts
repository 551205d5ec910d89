import type { Kernels, Term, UnaryName } from '../../kernels/kernels.js';
import type { Shape, Tensor } from '../../tensor/tensor.js';

/**
 * Values built only when something reads `data`. The primitives that meet them most (add, mul,
 * scale, sum_to) read what they stand for instead and compute the same values in one pass, without
 * writing and reading back an array the size of an activation.
 */
abstract class Lazy implements Tensor {
  private full: Float64Array | null = null;
  abstract readonly shape: Shape;
  /** Whether its values have been built (then reading them is cheaper than forming them again). */
  get built(): boolean { return this.full !== null; }
  get data(): Float64Array { return this.full ??= this.build(); }
  protected abstract build(): Float64Array;
}

/**
 * A broadcast's value: add, mul and scale read `source` instead (batch norm's per-channel vectors,
 * and their adjoints summed back, would otherwise be written out at full size a few hundred times
 * per matching step). Same values either way.
 */
export class BroadcastTensor extends Lazy {
  constructor(readonly shape: Shape, readonly source: Tensor, private readonly k: Kernels) { super(); }
  protected build() { return this.k.broadcastTo(this.source.data, this.source.shape, this.shape); }
}

/**
 * f⁽ᵒʳᵈᵉʳ⁾(x) for a piecewise-linear f's derivative (ReLU's 0/1 mask): in the matching step it is only
 * ever multiplied by an adjoint, which mul does in one pass (kernel mulUnary).
 */
export class DerivativeTensor extends Lazy {
  constructor(
    readonly x: Tensor, readonly name: UnaryName, readonly order: number, readonly param: number,
    private readonly k: Kernels,
  ) { super(); }
  get shape(): Shape { return this.x.shape; }
  protected build() { return this.k.unary(this.name, this.order, this.param, this.x.data); }
}

/**
 * a ⊙ b of two tensors of one shape. Most products on the matching step's tape (a parameter's adjoint
 * g ⊙ x in mul's VJP) are only summed down to a parameter's shape next, which sum_to does in the same
 * pass (kernel sumToMul) without writing the product out; most others are added, which add does.
 */
export class ProductTensor extends Lazy {
  constructor(readonly a: Tensor, readonly b: Tensor, private readonly k: Kernels) { super(); }
  get shape(): Shape { return this.a.shape; }
  protected build() { return this.k.mul(this.a.data, this.b.data); }
}

/**
 * a ⊙ a broadcast (batch norm's g ⊙ k and g ⊙ centred's per-channel adjoints). On the matching step's
 * tape nearly all of them are only added to another adjoint next, which add does in the same pass
 * (kernel addTerms) without writing the product out.
 */
export class BroadcastProductTensor extends Lazy {
  constructor(readonly a: Tensor, readonly b: BroadcastTensor, private readonly k: Kernels) { super(); }
  get shape(): Shape { return this.b.shape; }
  protected build() {
    const { source, shape } = this.b;
    return this.k.mulBroadcast(this.a.data, source.data, source.shape, shape);
  }
}

/**
 * ((t₀ + t₁) + t₂) + …: an adjoint accumulated from several uses is a chain of adds whose partial sums
 * nothing else reads, summed here in one pass with their products and broadcasts (kernel addTerms).
 * Same values, same order.
 */
export class SumTensor extends Lazy {
  constructor(readonly shape: Shape, readonly terms: readonly Term[], private readonly k: Kernels) { super(); }
  protected build() { return this.k.addTerms(this.terms, this.shape); }
}
