#!/usr/bin/python3
"""Make gradleak's ONNX test fixtures with PyTorch (float64).

Usage (from the repository root, with Debian's PyTorch; the python `onnx` package is not needed):

    /usr/bin/python3 scripts/make-onnx-fixtures.py [--out DIR]

Writes to test/fixtures/onnx/ (or DIR):

  <model>.onnx                  lenet_zhu, convnet_bn, resnet8, mlp: the models of test/fixtures/graphs
                                with their weights (weights.safetensors), exported in eval mode, opset 13,
                                constant folding off, BN kept as a node, a dynamic batch axis. Their
                                reference values are test/fixtures/graphs/<model>/batch{1,8}.safetensors
                                (logits.eval, grad.eval.<name>: initializer names are state_dict names).
  convnet_bn_folded.onnx        convnet_bn exported with constant folding on (each BN folded into its conv)
  convnet_bn_folded.batch{1,8}.safetensors
                                its logits and the gradients of the mean cross-entropy by initializer name,
                                on the images and labels of the graph fixtures (PyTorch, float64)
  unsupported.onnx              a small model with an Elu, which gradleak does not support
  ops.onnx, ops.batch{1,8}.safetensors
                                the operators the four models do not use, and their references
  matmul.onnx                   conv → tanh → x @ w + b on [N, 3, 16, 16] (the linear layer exported as
                                MatMul + Add, its factor w an [in, out] initializer)
  matmul.grads.safetensors      what a user saves from a PyTorch training step: each parameter's
                                gradient under its name, in its own layout (w: [in, out]), nothing else
  matmul.reference.safetensors  the image and label of that step

Deterministic: one thread, fixed seeds, no timestamps; two runs give identical bytes (sha256).
"""

import argparse
import importlib.util
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRAPHS = os.path.join(ROOT, "test", "fixtures", "graphs")
spec = importlib.util.spec_from_file_location("graphs", os.path.join(ROOT, "scripts/make-graph-fixtures.py"))
graphs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(graphs)  # models, safetensors reader/writer; sets one thread and determinism

OPSET = 13
CLASSES = {"lenet_zhu": graphs.LeNetZhu, "convnet_bn": graphs.ConvNetBN, "resnet8": graphs.ResNet8,
           "mlp": graphs.MLP}


def load(name):
    """The graph fixture's model with its saved weights, in eval mode."""
    model = CLASSES[name]().double()
    state, _ = graphs.st_read(os.path.join(GRAPHS, name, "weights.safetensors"))
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()},
                                                strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    return model.eval()


def export(model, path, fold):
    torch.onnx.export(
        model, torch.zeros(1, 3, 32, 32, dtype=torch.float64), path, opset_version=OPSET,
        do_constant_folding=fold,
        # PRESERVE keeps BN a node (EVAL would fuse it into the conv even without constant folding)
        training=torch.onnx.TrainingMode.EVAL if fold else torch.onnx.TrainingMode.PRESERVE,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})




# ----------------------------------------------------------------------------- a minimal ONNX reader

def fields(buf):
    """The (field number, wire type, value) of one protobuf message."""
    out, at = [], 0

    def varint():
        nonlocal at
        v, shift = 0, 0
        while True:
            b = buf[at]
            at += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v
    while at < len(buf):
        tag = varint()
        no, wire = tag >> 3, tag & 7
        if wire == 0:
            out.append((no, wire, varint()))
        elif wire == 2:
            n = varint()
            out.append((no, wire, buf[at:at + n]))
            at += n
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            out.append((no, wire, buf[at:at + size]))
            at += size
        else:
            raise ValueError(wire)
    return out


def initializers_and_convs(path):
    """Initializers {name: tensor} (raw float64) and each Conv node's input names, in node order."""
    with open(path, "rb") as f:
        model = f.read()
    graph = next(v for no, _, v in fields(model) if no == 7)
    inits, convs = {}, []
    for no, _, v in fields(graph):
        if no == 5:
            t = fields(v)
            name = next(x for n, _, x in t if n == 8).decode()
            dims = [x for n, w, x in t if n == 1 and w == 0]
            assert next(x for n, _, x in t if n == 2) == 11, name  # double
            raw = next(x for n, _, x in t if n == 9)
            values = struct.unpack(f"<{len(raw) // 8}d", raw)
            inits[name] = torch.tensor(values, dtype=torch.float64).reshape(dims)
        elif no == 1:
            node = fields(v)
            if next(x for n, _, x in node if n == 4) == b"Conv":
                convs.append([x.decode() for n, _, x in node if n == 1])
    return inits, convs


# ----------------------------------------------------------------------------- fixtures

def folded_references(path, out_dir):
    """PyTorch's logits and gradients of the folded model, run from the ONNX file's own initializers."""
    inits, convs = initializers_and_convs(path)
    base = load("convnet_bn")
    params = {k: v.clone().requires_grad_(True) for k, v in inits.items()}
    linear = {"classifier.weight", "classifier.bias"}
    assert len(convs) == 3 and set(params) == {n for c in convs for n in c[1:]} | linear

    def forward(x):
        for (_, w, b) in convs:
            x = F.max_pool2d(F.relu(F.conv2d(x, params[w], params[b], padding=1)), 2)
        return F.linear(torch.flatten(x, 1), params["classifier.weight"], params["classifier.bias"])
    files = []
    for batch in (1, 8):
        ref, _ = graphs.st_read(os.path.join(GRAPHS, "convnet_bn", f"batch{batch}.safetensors"))
        images = torch.from_numpy(ref["images"].copy())
        labels = torch.from_numpy(ref["labels"].copy()).long()
        logits = forward(images)
        with torch.no_grad():  # the folded model computes what the unfolded one does in eval mode
            assert torch.allclose(logits, base(images), rtol=1e-12, atol=1e-12)
        loss = F.cross_entropy(logits, labels, reduction="mean")
        names = list(params)
        grads = torch.autograd.grad(loss, [params[n] for n in names])
        tensors = [("images", images), ("labels", labels.double()), ("logits", logits)]
        tensors += [("grad." + n, g) for n, g in zip(names, grads)]
        file = os.path.join(out_dir, f"convnet_bn_folded.batch{batch}.safetensors")
        graphs.st_write(file, tensors, {"format": "gradleak-onnx-fixture-1", "model": "convnet_bn_folded",
                                        "batch": str(batch)})
        files.append(file)
    return files


class OpsNet(nn.Module):
    """The operators the four models do not use: LeakyRelu, AveragePool (as torch 1.13 writes a padded
    or count-including AvgPool2d: Pad + AveragePool; and a plain one), Tanh, Softplus, a Reshape that
    flattens, and MatMul + Add (a product with a [in, out] parameter, not nn.Linear)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1)
        self.pool2 = nn.AvgPool2d(2, count_include_pad=False)  # the same without padding; no Pad node
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.w = nn.Parameter(torch.randn(64, 10, dtype=torch.float64) / 8)
        self.b = nn.Parameter(torch.randn(10, dtype=torch.float64) / 4)

    def forward(self, x):
        x = self.pool(F.leaky_relu(self.conv1(x), 0.1))
        x = self.pool2(F.softplus(torch.tanh(self.conv2(x))))
        return x.reshape(-1, 64) @ self.w + self.b


def ops_references(model, out_dir):
    """PyTorch's logits and gradients by initializer name, each in its parameter's layout (the MatMul
    factor w as [in, out]: files keep an ONNX initializer's name and layout)."""
    for batch in (1, 8):
        ref, _ = graphs.st_read(os.path.join(GRAPHS, "convnet_bn", f"batch{batch}.safetensors"))
        images = torch.from_numpy(ref["images"].copy())
        labels = torch.from_numpy(ref["labels"].copy()).long()
        logits = model(images)
        named = list(model.named_parameters())
        grads = torch.autograd.grad(F.cross_entropy(logits, labels), [p for _, p in named])
        tensors = [("images", images), ("labels", labels.double()), ("logits", logits)]
        tensors += [("grad." + n, g) for (n, _), g in zip(named, grads)]
        graphs.st_write(os.path.join(out_dir, f"ops.batch{batch}.safetensors"), tensors,
                        {"format": "gradleak-onnx-fixture-1", "model": "ops", "batch": str(batch)})


class MatMulNet(nn.Module):
    """cnn2_c1's layout on 16×16 images (conv 6@3×3, tanh, linear; every layer determined, so rgap
    recovers the image exactly) with the linear layer as `x @ w + b`: MatMul + Add in ONNX."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, bias=False)
        self.w = nn.Parameter(torch.randn(6 * 14 * 14, 10, dtype=torch.float64) / 32)
        self.b = nn.Parameter(torch.randn(10, dtype=torch.float64) / 4)

    def forward(self, x):
        return torch.flatten(torch.tanh(self.conv(x)), 1) @ self.w + self.b


def matmul_fixture(out_dir):
    """The model, one training step's gradients as a user saves them, and that step's image and label."""
    torch.manual_seed(7003)
    model = MatMulNet().double().eval()
    torch.onnx.export(
        model, torch.zeros(1, 3, 16, 16, dtype=torch.float64), os.path.join(out_dir, "matmul.onnx"),
        opset_version=OPSET, do_constant_folding=False, input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    image = torch.rand(1, 3, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(7004)) - 0.5
    label = torch.tensor([3])
    model.zero_grad()
    F.cross_entropy(model(image), label).backward()
    # the user's side: every parameter's .grad under its state_dict name, as it is
    graphs.st_write(os.path.join(out_dir, "matmul.grads.safetensors"),
                    [(n, p.grad) for n, p in model.named_parameters()])
    graphs.st_write(os.path.join(out_dir, "matmul.reference.safetensors"),
                    [("images", image), ("labels", label.double())],
                    {"format": "gradleak-onnx-fixture-1", "model": "matmul"})


class Unsupported(nn.Module):
    """A conv followed by an Elu, which gradleak does not support (the refusal test)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, stride=2)
        self.fc = nn.Linear(2 * 15 * 15, 10)

    def forward(self, x):
        return self.fc(torch.flatten(F.elu(self.conv(x)), 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "onnx"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in CLASSES:
        model = load(name)
        export(model, os.path.join(args.out, f"{name}.onnx"), fold=False)
    folded = os.path.join(args.out, "convnet_bn_folded.onnx")
    export(load("convnet_bn"), folded, fold=True)
    folded_references(folded, args.out)
    torch.manual_seed(7001)
    export(Unsupported().double().eval(), os.path.join(args.out, "unsupported.onnx"), fold=False)
    torch.manual_seed(7002)
    ops = OpsNet().double().eval()
    export(ops, os.path.join(args.out, "ops.onnx"), fold=False)
    ops_references(ops, args.out)
    matmul_fixture(args.out)
    for f in sorted(os.listdir(args.out)):
        print(f"{os.path.getsize(os.path.join(args.out, f)):>9} {f}")


if __name__ == "__main__":
    main()
