import type { GraphSpec, NodeSpec } from './graph.js';

/**
 * Models of the gradient-leakage literature as graph specs, for 3×32×32 inputs and 10 classes. Node
 * names follow the PyTorch modules' names, so a state_dict saved from the PyTorch definitions in
 * scripts/make-graph-fixtures.py loads as it is.
 */
interface Node { name: string; op: string; inputs?: string[]; [attr: string]: unknown }

/** Fills in each node's input as the node before it where not given. */
function sequence(name: string, nodes: Node[], output?: string): GraphSpec {
  let previous = 'input';
  const filled = nodes.map((n) => {
    const node = { ...n, inputs: n.inputs ?? [previous] } as NodeSpec;
    previous = n.name;
    return node;
  });
  return { name, input: [3, 32, 32], classes: 10, nodes: filled, ...(output ? { output } : {}) };
}

/** DLG's LeNet (Zhu et al. 2019): three sigmoid convolutions, 12 channels each, and one linear layer. */
export function lenetZhu(): GraphSpec {
  return sequence('lenet_zhu', [
    { name: 'body.0', op: 'conv2d', out: 12, kernel: 5, stride: 2, padding: 2 },
    { name: 'body.1', op: 'sigmoid' },
    { name: 'body.2', op: 'conv2d', out: 12, kernel: 5, stride: 2, padding: 2 },
    { name: 'body.3', op: 'sigmoid' },
    { name: 'body.4', op: 'conv2d', out: 12, kernel: 5, stride: 1, padding: 2 },
    { name: 'body.5', op: 'sigmoid' },
    { name: 'flatten', op: 'flatten' },
    { name: 'fc.0', op: 'linear', out: 10 },
  ]);
}

/**
 * A small ConvNet: three conv → batch norm → ReLU → 2×2 max-pool blocks (16, 32, 32 channels),
 * linear.
 */
export function convnetBn(): GraphSpec {
  const widths = [16, 32, 32];
  const nodes: Node[] = widths.flatMap((out, b) => [
    { name: `features.${4 * b}`, op: 'conv2d', out, kernel: 3, padding: 1 },
    { name: `features.${4 * b + 1}`, op: 'batch_norm2d' },
    { name: `features.${4 * b + 2}`, op: 'relu' },
    { name: `features.${4 * b + 3}`, op: 'max_pool2d', kernel: 2 },
  ]);
  return sequence('convnet_bn', [
    ...nodes, { name: 'flatten', op: 'flatten' }, { name: 'classifier', op: 'linear', out: 10 },
  ]);
}

/**
 * The CIFAR ResNet of He et al. (2016): a 3×3 convolution (16 channels), three stages of `blocks`
 * basic blocks (16, 32, 64 channels; the first block of stages 2 and 3 halves the resolution, its
 * shortcut a 1×1 convolution with batch norm), global mean pooling and a linear layer. Depth 6n+2:
 * resnet8 (n = 1), resnet20 (n = 3).
 */
export function resnet(name: string, blocks: number): GraphSpec {
  const nodes: Node[] = [
    { name: 'conv1', op: 'conv2d', out: 16, kernel: 3, padding: 1, bias: false },
    { name: 'bn1', op: 'batch_norm2d' },
    { name: 'relu', op: 'relu' },
  ];
  let channels = 16, last = 'relu';
  [16, 32, 64].forEach((out, stage) => {
    for (let b = 0; b < blocks; b++) {
      const p = `layer${stage + 1}.${b}`;
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const block: Node[] = [
        { name: `${p}.conv1`, op: 'conv2d', out, kernel: 3, stride, padding: 1, bias: false, inputs: [last] },
        { name: `${p}.bn1`, op: 'batch_norm2d' },
        { name: `${p}.relu`, op: 'relu' },
        { name: `${p}.conv2`, op: 'conv2d', out, kernel: 3, padding: 1, bias: false },
        { name: `${p}.bn2`, op: 'batch_norm2d' },
      ];
      let shortcut = last;
      if (stride !== 1 || channels !== out) {
        block.push(
          { name: `${p}.downsample.0`, op: 'conv2d', out, kernel: 1, stride, bias: false, inputs: [last] },
          { name: `${p}.downsample.1`, op: 'batch_norm2d' },
        );
        shortcut = `${p}.downsample.1`;
      }
      block.push(
        { name: `${p}.add`, op: 'add', inputs: [`${p}.bn2`, shortcut] }, { name: `${p}.relu2`, op: 'relu' },
      );
      nodes.push(...block);
      channels = out;
      last = `${p}.relu2`;
    }
  });
  nodes.push(
    { name: 'avgpool', op: 'global_avg_pool', inputs: [last] }, { name: 'flatten', op: 'flatten' },
    { name: 'fc', op: 'linear', out: 10 },
  );
  return sequence(name, nodes);
}

/** A multilayer perceptron: 3072 → 64 → 32 → 10 with ReLUs. */
export function mlp(): GraphSpec {
  return sequence('mlp', [
    { name: 'flatten', op: 'flatten' },
    { name: 'fc1', op: 'linear', out: 64 },
    { name: 'relu1', op: 'relu' },
    { name: 'fc2', op: 'linear', out: 32 },
    { name: 'relu2', op: 'relu' },
    { name: 'fc3', op: 'linear', out: 10 },
  ]);
}

/** The graph presets by name (besides the 34 chain presets of the architecture study). */
export const GRAPH_PRESETS: Readonly<Record<string, () => GraphSpec>> = Object.freeze({
  lenet_zhu: lenetZhu,
  convnet_bn: convnetBn,
  resnet8: () => resnet('resnet8', 1),
  resnet20: () => resnet('resnet20', 3),
  mlp,
});
