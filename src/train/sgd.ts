/**
 * Stochastic gradient descent as PyTorch's torch.optim.SGD (dampening 0, not Nesterov), so that a
 * model trained here and one trained there from the same weights on the same batches agree:
 * d = g + λ·w (weight decay), b = μ·b + d (b = d at the first step), w ← w − η·b.
 */
export interface SgdSettings {
  /** η */
  lr: number;
  /** μ; 0 is plain SGD. */
  momentum: number;
  /** λ, the L2 penalty's coefficient folded into the gradient. */
  weightDecay: number;
}

export class Sgd {
  /** The momentum buffers, one per trained tensor, created at its first step. */
  private readonly buffers = new Map<string, Float64Array>();

  constructor(readonly settings: SgdSettings) {}

  /** One step: updates `params` in place from `gradients` (trainable tensors only). */
  step(params: Map<string, Float64Array>, gradients: ReadonlyMap<string, Float64Array>): void {
    const { lr, momentum, weightDecay } = this.settings;
    for (const [name, g] of gradients) {
      const w = params.get(name)!;
      const d = weightDecay === 0 ? g.slice() : g.map((v, k) => v + weightDecay * w[k]);
      let b: Float64Array = d;
      if (momentum !== 0) {
        const old = this.buffers.get(name);
        if (old) {
          for (let k = 0; k < d.length; k++) old[k] = momentum * old[k] + d[k];
          b = old;
        } else this.buffers.set(name, d);
      }
      for (let k = 0; k < w.length; k++) w[k] -= lr * b[k];
    }
  }
}
