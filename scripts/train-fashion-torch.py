#!/usr/bin/python3
"""PyTorch's side of docs/DESIGN.md's Fashion-MNIST figures: DLG's LeNet (lenet_zhu) trained as
`gradleak train` trains it (images bilinearly resampled to 32x32, grey repeated to RGB,
pixel/255 - 0.5; SGD with momentum 0.9, batches of 64, a random order per epoch), one thread,
float32, with its own seed; prints mean train loss and t10k accuracy per epoch.
Usage: /usr/bin/python3 scripts/train-fashion-torch.py [count 60000] [lr 0.01] [epochs 4]"""
import gzip
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist/"
torch.set_num_threads(1)
torch.manual_seed(0)


def idx(name):
    b = gzip.open(DATA + name).read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


def images(name, n=None):
    x = torch.tensor(idx(name)[:n]).float().unsqueeze(1) / 255 - 0.5
    return F.interpolate(x, size=32, mode="bilinear", align_corners=False).repeat(1, 3, 1, 1)


def main():
    n, lr, epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 60000, \
        float(sys.argv[2]) if len(sys.argv) > 2 else 0.01, int(sys.argv[3]) if len(sys.argv) > 3 else 4
    x, y = images("train-images-idx3-ubyte.gz", n), torch.tensor(idx("train-labels-idx1-ubyte.gz")[:n]).long()
    xt, yt = images("t10k-images-idx3-ubyte.gz"), torch.tensor(idx("t10k-labels-idx1-ubyte.gz")).long()
    model = nn.Sequential(nn.Conv2d(3, 12, 5, 2, 2), nn.Sigmoid(), nn.Conv2d(12, 12, 5, 2, 2), nn.Sigmoid(),
                          nn.Conv2d(12, 12, 5, 1, 2), nn.Sigmoid(), nn.Flatten(), nn.Linear(768, 10))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for e in range(epochs):
        t, order, total = time.time(), torch.randperm(n), 0.0
        for s in range(0, n, 64):
            i = order[s:s + 64]
            opt.zero_grad()
            loss = F.cross_entropy(model(x[i]), y[i])
            loss.backward()
            opt.step()
            total += loss.item() * len(i)
        with torch.no_grad():
            acc = (model(xt).argmax(1) == yt).float().mean().item()
        print(f"epoch {e + 1}: train loss {total / n:.4f}, t10k accuracy {100 * acc:.2f} %, "
              f"{time.time() - t:.1f} s", flush=True)


if __name__ == "__main__":
    main()
