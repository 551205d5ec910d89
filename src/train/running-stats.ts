import type { Graph } from '../model/graph.js';
import type { Tensor } from '../tensor/tensor.js';

/** PyTorch's default BatchNorm momentum: the weight of the new batch in the running averages. */
export const BN_MOMENTUM = 0.1;

/**
 * Updates every batch norm's running statistics from one train-mode batch, as PyTorch does:
 * r ← (1 − m)·r + m·s, with s the batch's per-channel mean and its unbiased variance (divided by
 * n − 1, n = N·H·W values per channel; the forward pass normalised with the biased one). `outputs` are
 * the batch's node outputs by index (the graph's input where a batch norm reads it directly).
 */
export function updateRunningStats(
  g: Graph, params: Map<string, Float64Array>, input: Tensor, outputs: readonly (Tensor | undefined)[],
  momentum = BN_MOMENTUM,
): void {
  for (const node of g.nodes) {
    if (node.op.name !== 'batch_norm2d') continue;
    const from = node.inputs[0];
    const x = from < 0 ? input : outputs[from];
    if (!x) throw new Error(`batch norm "${node.name}": its input was not computed`);
    const [n, c, h, w] = x.shape, plane = h * w, count = n * plane;
    const named = (suffix: string) => params.get(node.params.find((p) => p.decl.suffix === suffix)!.name)!;
    const runningMean = named('running_mean'), runningVar = named('running_var');
    for (let ch = 0; ch < c; ch++) {
      let sum = 0;
      for (let s = 0; s < n; s++) {
        const at = (s * c + ch) * plane;
        for (let p = 0; p < plane; p++) sum += x.data[at + p];
      }
      const mean = sum / count;
      let squares = 0;
      for (let s = 0; s < n; s++) {
        const at = (s * c + ch) * plane;
        for (let p = 0; p < plane; p++) squares += (x.data[at + p] - mean) ** 2;
      }
      runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * mean;
      runningVar[ch] = (1 - momentum) * runningVar[ch] + momentum * (squares / (count - 1));
    }
  }
}

/**
 * Whether a train-mode batch of `size` images has at least two values per channel at every batch
 * norm (PyTorch refuses one: its unbiased variance is undefined).
 */
export function batchNormCanTrain(g: Graph, size: number): boolean {
  return g.nodes.every((node) => node.op.name !== 'batch_norm2d'
    || size * node.shape[1] * node.shape[2] >= 2);
}
