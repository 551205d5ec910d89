import type { Kernels, Term, UnaryName } from '../../kernels/kernels.js';
import type { Shape, Tensor } from '../../tensor/tensor.js';

/**
 * Values built only when something reads `data`. The primitives that meet them most (add, mul,
 * scale) read what they stand for instead and compute the same values in one pass, without writing
 * and reading back an array the size of an activation.
 */

/**
 * A broadcast's value, built only when something reads `data`: add, mul and scale read `source`
 * instead (batch norm's per-channel vectors, and their adjoints summed back, would otherwise be written
 * out at full size a few hundred times per matching step). Same values either way.
 */
export class BroadcastTensor implements Tensor {
  private full: Float64Array | null = null;
  constructor(readonly shape: Shape, readonly source: Tensor, private readonly k: Kernels) {}
  get data(): Float64Array {
    return this.full ??= this.k.broadcastTo(this.source.data, this.source.shape, this.shape);
  }
}

/**
 * f⁽ᵒʳᵈᵉʳ⁾(x) for a piecewise-linear f's derivative (ReLU's 0/1 mask): in the matching step it is only
 * ever multiplied by an adjoint, which mul does in one pass (kernel mulUnary).
 */
export class DerivativeTensor implements Tensor {
  private full: Float64Array | null = null;
  constructor(
    readonly x: Tensor, readonly name: UnaryName, readonly order: number, readonly param: number,
    private readonly k: Kernels,
  ) {}
  get shape(): Shape { return this.x.shape; }
  get data(): Float64Array {
    return this.full ??= this.k.unary(this.name, this.order, this.param, this.x.data);
  }
}

/**
 * a ⊙ b of two tensors of one shape. Most products on the matching step's tape (a parameter's adjoint
 * g ⊙ x in mul's VJP) are only summed down to a parameter's shape next, which sum_to does in the same
 * pass (kernel sumToMul) without writing the product out.
 */
export class ProductTensor implements Tensor {
  private full: Float64Array | null = null;
  constructor(readonly a: Tensor, readonly b: Tensor, private readonly k: Kernels) {}
  get shape(): Shape { return this.a.shape; }
  get built(): boolean { return this.full !== null; }
  get data(): Float64Array {
    return this.full ??= this.k.mul(this.a.data, this.b.data);
  }
}

/**
 * a ⊙ a broadcast (batch norm's g ⊙ k and g ⊙ centred's per-channel adjoints). On the matching step's
 * tape nearly all of them are only added to another adjoint next, which add does in the same pass
 * (kernel addTerms) without writing the product out.
 */
export class BroadcastProductTensor implements Tensor {
  private full: Float64Array | null = null;
  constructor(readonly a: Tensor, readonly b: BroadcastTensor, private readonly k: Kernels) {}
  get shape(): Shape { return this.b.shape; }
  get built(): boolean { return this.full !== null; }
  get data(): Float64Array {
    return this.full ??= this.k.mulBroadcast(this.a.data, this.b.source.data, this.b.source.shape, this.b.shape);
  }
}

/**
 * ((t₀ + t₁) + t₂) + … built only when read: an adjoint accumulated from several uses is a chain of
 * adds whose partial sums nothing else reads, summed here in one pass with their products (kernel
 * addTerms). Same values, same order.
 */
export class SumTensor implements Tensor {
  private full: Float64Array | null = null;
  constructor(readonly shape: Shape, readonly terms: readonly Term[], private readonly k: Kernels) {}
  get built(): boolean { return this.full !== null; }
  get data(): Float64Array {
    return this.full ??= this.k.addTerms(this.terms, this.shape);
  }
}
