// The 34 target architectures defined in the authors' code (arXiv:2210.13231), in gradleak's spec
// format. Data, transcribed from test/fixtures/reference/architectures.json.
import type { ModelSpec } from './chain-spec.js';

export const PRESETS: Readonly<Record<string, ModelSpec>> = {
  "LeNet": {"name": "LeNet", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 12, "kernel": 5, "stride": 2, "padding": 2, "bias": true,
      "activation": "leaky_relu"},
    {"type": "conv", "out": 12, "kernel": 5, "stride": 2, "padding": 2, "bias": true,
      "activation": "leaky_relu"},
    {"type": "conv", "out": 12, "kernel": 5, "stride": 1, "padding": 2, "bias": true,
      "activation": "leaky_relu"},
    {"type": "linear", "out": 10, "bias": true, "activation": "identity"}
  ]},
  "LeNet2": {"name": "LeNet2", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 12, "kernel": 3, "stride": 2, "padding": 1, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 12, "kernel": 5, "stride": 2, "padding": 2, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 12, "kernel": 5, "stride": 1, "padding": 2, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "identity"}
  ]},
  "cnn2_c0": {"name": "cnn2_c0", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 1, "kernel": 3, "stride": 2, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "tanh"}
  ]},
  "cnn2_c1": {"name": "cnn2_c1", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "identity"}
  ]},
  "cnn2_c11": {"name": "cnn2_c11", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false,
      "activation": "leaky_relu"},
    {"type": "linear", "out": 10, "bias": true, "activation": "sigmoid"}
  ]},
  "cnn2_c2": {"name": "cnn2_c2", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 4, "stride": 2, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "identity"}
  ]},
  "cnn2_c21": {"name": "cnn2_c21", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 4, "stride": 2, "padding": 0, "bias": false,
      "activation": "leaky_relu"},
    {"type": "linear", "out": 10, "bias": true, "activation": "sigmoid"}
  ]},
  "cnn2_c4": {"name": "cnn2_c4", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 1, "kernel": 3, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "tanh"}
  ]},
  "cnn2_c41": {"name": "cnn2_c41", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 1, "kernel": 3, "stride": 1, "padding": 0, "bias": false,
      "activation": "leaky_relu"},
    {"type": "linear", "out": 10, "bias": true, "activation": "sigmoid"}
  ]},
  "cnn2_c5": {"name": "cnn2_c5", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 3, "kernel": 3, "stride": 1, "padding": 1, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "tanh"}
  ]},
  "cnn2_c6": {"name": "cnn2_c6", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 12, "kernel": 5, "stride": 2, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "identity"}
  ]},
  "cnn3_c1": {"name": "cnn3_c1", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 3, "kernel": 4, "stride": 2, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "identity"}
  ]},
  "cnn3_c11": {"name": "cnn3_c11", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false,
      "activation": "leaky_relu"},
    {"type": "conv", "out": 3, "kernel": 4, "stride": 2, "padding": 0, "bias": false,
      "activation": "leaky_relu"},
    {"type": "linear", "out": 10, "bias": true, "activation": "sigmoid"}
  ]},
  "cnn3_c12": {"name": "cnn3_c12", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false,
      "activation": "softplus"},
    {"type": "conv", "out": 3, "kernel": 4, "stride": 2, "padding": 0, "bias": false,
      "activation": "softplus"},
    {"type": "linear", "out": 10, "bias": true, "activation": "sigmoid"}
  ]},
  "cnn3_c13": {"name": "cnn3_c13", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 3, "kernel": 4, "stride": 2, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "sigmoid"}
  ]},
  "cnn3_c14": {"name": "cnn3_c14", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false,
      "activation": "identity"},
    {"type": "conv", "out": 3, "kernel": 4, "stride": 2, "padding": 0, "bias": false,
      "activation": "identity"},
    {"type": "linear", "out": 10, "bias": true, "activation": "sigmoid"}
  ]},
  "cnn3_c15": {"name": "cnn3_c15", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false,
      "activation": "identity"},
    {"type": "conv", "out": 3, "kernel": 4, "stride": 2, "padding": 0, "bias": false,
      "activation": "identity"},
    {"type": "linear", "out": 10, "bias": true, "activation": "tanh"}
  ]},
  "cnn3_c2": {"name": "cnn3_c2", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 4, "stride": 2, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 3, "kernel": 3, "stride": 2, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "identity"}
  ]},
  "cnn3_c21": {"name": "cnn3_c21", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 4, "stride": 2, "padding": 0, "bias": false,
      "activation": "leaky_relu"},
    {"type": "conv", "out": 3, "kernel": 3, "stride": 2, "padding": 0, "bias": false,
      "activation": "leaky_relu"},
    {"type": "linear", "out": 10, "bias": true, "activation": "sigmoid"}
  ]},
  "cnn3_c22": {"name": "cnn3_c22", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 4, "stride": 2, "padding": 0, "bias": false,
      "activation": "softplus"},
    {"type": "conv", "out": 3, "kernel": 3, "stride": 2, "padding": 0, "bias": false,
      "activation": "softplus"},
    {"type": "linear", "out": 10, "bias": true, "activation": "sigmoid"}
  ]},
  "cnn3_c3": {"name": "cnn3_c3", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 9, "kernel": 3, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "identity"}
  ]},
  "cnn3_c31": {"name": "cnn3_c31", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false,
      "activation": "leaky_relu"},
    {"type": "conv", "out": 9, "kernel": 3, "stride": 1, "padding": 0, "bias": false,
      "activation": "leaky_relu"},
    {"type": "linear", "out": 10, "bias": true, "activation": "sigmoid"}
  ]},
  "cnn3_c32": {"name": "cnn3_c32", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false,
      "activation": "softplus"},
    {"type": "conv", "out": 9, "kernel": 3, "stride": 1, "padding": 0, "bias": false,
      "activation": "softplus"},
    {"type": "linear", "out": 10, "bias": true, "activation": "sigmoid"}
  ]},
  "cnn3_c4": {"name": "cnn3_c4", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 1, "kernel": 3, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "identity"}
  ]},
  "cnn3_c41": {"name": "cnn3_c41", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 1, "kernel": 3, "stride": 1, "padding": 0, "bias": false,
      "activation": "leaky_relu"},
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false,
      "activation": "leaky_relu"},
    {"type": "linear", "out": 10, "bias": true, "activation": "sigmoid"}
  ]},
  "cnn3_c42": {"name": "cnn3_c42", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 1, "kernel": 3, "stride": 1, "padding": 0, "bias": false,
      "activation": "softplus"},
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false,
      "activation": "softplus"},
    {"type": "linear", "out": 10, "bias": true, "activation": "sigmoid"}
  ]},
  "cnn3_c6": {"name": "cnn3_c6", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false,
      "activation": "leaky_relu"},
    {"type": "conv", "out": 3, "kernel": 4, "stride": 2, "padding": 0, "bias": false,
      "activation": "leaky_relu"},
    {"type": "linear", "out": 10, "bias": true, "activation": "tanh"}
  ]},
  "cnn3_c7": {"name": "cnn3_c7", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 3, "kernel": 4, "stride": 2, "padding": 0, "bias": false,
      "activation": "leaky_relu"},
    {"type": "linear", "out": 10, "bias": true, "activation": "tanh"}
  ]},
  "cnn3_c8": {"name": "cnn3_c8", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 9, "kernel": 3, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 3, "kernel": 4, "stride": 2, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "tanh"}
  ]},
  "cnn3_c9": {"name": "cnn3_c9", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 5, "kernel": 3, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 7, "kernel": 3, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "tanh"}
  ]},
  "cnn4_c1": {"name": "cnn4_c1", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 3, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 5, "kernel": 4, "stride": 2, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 3, "kernel": 4, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "identity"}
  ]},
  "cnn4_c2": {"name": "cnn4_c2", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 16, "kernel": 5, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 6, "kernel": 5, "stride": 2, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 32, "kernel": 5, "stride": 1, "padding": 2, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "identity"}
  ]},
  "cnn4_c3": {"name": "cnn4_c3", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 6, "kernel": 5, "stride": 1, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 16, "kernel": 5, "stride": 2, "padding": 0, "bias": false, "activation": "tanh"},
    {"type": "conv", "out": 16, "kernel": 5, "stride": 1, "padding": 2, "bias": false, "activation": "tanh"},
    {"type": "linear", "out": 10, "bias": true, "activation": "identity"}
  ]},
  "cnn6d": {"name": "cnn6d", "input": [3, 32, 32], "classes": 10, "layers": [
    {"type": "conv", "out": 12, "kernel": 4, "stride": 2, "padding": 2, "bias": false,
      "activation": "leaky_relu", "slope": 0.2},
    {"type": "conv", "out": 20, "kernel": 3, "stride": 2, "padding": 1, "bias": false,
      "activation": "leaky_relu", "slope": 0.2},
    {"type": "conv", "out": 36, "kernel": 3, "stride": 1, "padding": 1, "bias": false,
      "activation": "leaky_relu", "slope": 0.2},
    {"type": "conv", "out": 36, "kernel": 3, "stride": 1, "padding": 1, "bias": false,
      "activation": "leaky_relu", "slope": 0.2},
    {"type": "conv", "out": 64, "kernel": 3, "stride": 2, "padding": 1, "bias": false,
      "activation": "leaky_relu", "slope": 0.2},
    {"type": "conv", "out": 128, "kernel": 3, "stride": 1, "padding": 1, "bias": false,
      "activation": "leaky_relu", "slope": 0.2},
    {"type": "linear", "out": 10, "bias": true, "activation": "identity"}
  ]},
};
