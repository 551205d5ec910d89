#!/usr/bin/python3
"""Make gradleak's training fixture with PyTorch (float64): test/fixtures/train/.

Usage (from the repository root, with Debian's PyTorch):

    /usr/bin/python3 scripts/make-train-fixture.py [--out DIR]

A small convolutional network with batch norm (conv, BN, ReLU, max-pool, conv, BN, ReLU, linear; 1x12x12
inputs, 3 classes) is trained for 2 epochs of mini-batch SGD (lr 0.05, momentum 0.9, weight decay 5e-4,
batches of 24, 24 and 16) on 64 fixed 8-bit images in their stored order (no shuffling), in train mode, as
a plain PyTorch loop does: zero_grad, mean cross-entropy, backward, step. gradleak trains the same model
from the same weights on the same files (`trainModel` with shuffle off) and must land on the same weights,
running statistics included. Writes:

  model.json                 the architecture in gradleak's graph spec format
  train-images-idx3-ubyte    the 64 images (IDX, unsigned bytes, 64x12x12)
  train-labels-idx1-ubyte    their labels (0..2)
  initial.safetensors        state_dict before training (F64, without num_batches_tracked)
  final.safetensors          state_dict after training
  reference.json             settings, per-epoch mean train loss, eval-mode accuracy, versions

The model input is pixel/255*1 + (-0.5) (gradleak's reference normalisation), computed in the same order.
Deterministic: fixed seeds, one thread, no timestamps; two runs give identical bytes.
"""

import argparse
import importlib.util
import json
import os
import platform
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = importlib.util.spec_from_file_location("graph_fixtures", os.path.join(HERE, "make-graph-fixtures.py"))
gf = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(gf)  # its writers and spec helpers; sets one thread, deterministic algorithms

COMMAND = "/usr/bin/python3 scripts/make-train-fixture.py"
FORMAT = "gradleak-train-fixture-1"
SEEDS = {"init": 7001, "images": 7002, "batch_norm": 7003}
SETTINGS = {"epochs": 2, "batch": 24, "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4, "count": 64,
            "classes": 3, "size": 12, "normalisation": {"scale": 1.0, "offset": -0.5}}


class TinyBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4, 6, 3), nn.BatchNorm2d(6), nn.ReLU(),
        )
        self.classifier = nn.Linear(6 * 4 * 4, SETTINGS["classes"])

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def spec_of(model):
    f = model.features
    nodes = [gf.conv("features.0", "input", f[0]), gf.bn("features.1", "features.0", f[1]),
             gf.simple("features.2", "relu", "features.1"), gf.maxpool("features.3", "features.2", f[3]),
             gf.conv("features.4", "features.3", f[4]), gf.bn("features.5", "features.4", f[5]),
             gf.simple("features.6", "relu", "features.5"), gf.simple("flatten", "flatten", "features.6"),
             gf.linear("classifier", "flatten", model.classifier)]
    return {"name": "tiny_bn", "input": [1, SETTINGS["size"], SETTINGS["size"]],
            "classes": SETTINGS["classes"], "nodes": nodes, "output": "classifier"}


def images_and_labels():
    """Three classes a little apart (a bright band at a class-dependent row) plus noise, as bytes."""
    g = torch.Generator().manual_seed(SEEDS["images"])
    n, s, k = SETTINGS["count"], SETTINGS["size"], SETTINGS["classes"]
    labels = torch.randint(0, k, (n,), generator=g)
    noise = torch.rand(n, s, s, generator=g, dtype=torch.float64) * 120
    band = torch.zeros(n, s, s, dtype=torch.float64)
    for i in range(n):
        r = 2 + 4 * int(labels[i])
        band[i, r:r + 3, :] = 110
    pixels = (noise + band).round().clamp(0, 255).to(torch.uint8)
    return pixels, labels


def idx_bytes(array, dims):
    head = bytes([0, 0, 0x08, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    return head + array.numpy().astype(np.uint8).tobytes()


def to_input(pixels):
    norm = SETTINGS["normalisation"]
    return (pixels.to(torch.float64).unsqueeze(1) / 255) * norm["scale"] + norm["offset"]


def state(model):
    return [(k, v) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "test", "fixtures", "train"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)

    torch.manual_seed(SEEDS["init"])
    model = TinyBN().double()
    g = torch.Generator().manual_seed(SEEDS["batch_norm"])
    with torch.no_grad():  # non-trivial BN parameters and statistics, so that their updates are tested
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=g, dtype=torch.float64) + 0.5)
                m.bias.copy_(torch.rand(c, generator=g, dtype=torch.float64) - 0.5)
                m.running_mean.copy_(torch.rand(c, generator=g, dtype=torch.float64) - 0.5)
                m.running_var.copy_(torch.rand(c, generator=g, dtype=torch.float64) * 1.5 + 0.5)
    spec = spec_of(model)
    with open(os.path.join(out, "model.json"), "w") as f:
        f.write(gf.spec_json(spec))
    gf.st_write(os.path.join(out, "initial.safetensors"), state(model))

    pixels, labels = images_and_labels()
    n, s = SETTINGS["count"], SETTINGS["size"]
    with open(os.path.join(out, "train-images-idx3-ubyte"), "wb") as f:
        f.write(idx_bytes(pixels, [n, s, s]))
    with open(os.path.join(out, "train-labels-idx1-ubyte"), "wb") as f:
        f.write(idx_bytes(labels, [n]))

    x_all = to_input(pixels)
    opt = torch.optim.SGD(model.parameters(), lr=SETTINGS["lr"], momentum=SETTINGS["momentum"],
                          weight_decay=SETTINGS["weight_decay"])
    model.train()
    losses = []
    for _ in range(SETTINGS["epochs"]):
        total = 0.0
        for start in range(0, n, SETTINGS["batch"]):
            x, y = x_all[start:start + SETTINGS["batch"]], labels[start:start + SETTINGS["batch"]]
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
        losses.append(total / n)
    gf.st_write(os.path.join(out, "final.safetensors"), state(model))
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_all).argmax(1) == labels).double().mean().item()

    reference = {
        "format": FORMAT, "command": COMMAND, "settings": SETTINGS, "seeds": SEEDS,
        "shuffle": False, "bn_momentum": 0.1, "train_loss_per_epoch": losses,
        "eval_accuracy_on_training_images": accuracy,
        "versions": {"torch": torch.__version__, "debian_python3_torch": gf.debian_torch_version(),
                     "numpy": np.__version__, "python": platform.python_version()},
    }
    with open(os.path.join(out, "reference.json"), "w") as f:
        f.write(json.dumps(reference, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}: losses {losses}, eval accuracy {accuracy}")


if __name__ == "__main__":
    main()
