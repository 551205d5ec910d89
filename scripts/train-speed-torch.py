#!/usr/bin/python3
"""The PyTorch side of scripts/train-speed.mjs: CPU ms of one SGD step (momentum 0.9) on 64 random
3x32x32 images, one thread, float32 and float64, min of 3 runs of 8 steps.
Usage: /usr/bin/python3 scripts/train-speed-torch.py [lenet_zhu] [convnet_bn]"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)


def lenet_zhu():
    return nn.Sequential(nn.Conv2d(3, 12, 5, 2, 2), nn.Sigmoid(), nn.Conv2d(12, 12, 5, 2, 2), nn.Sigmoid(),
                         nn.Conv2d(12, 12, 5, 1, 2), nn.Sigmoid(), nn.Flatten(), nn.Linear(768, 10))


def convnet_bn():
    layers, c = [], 3
    for w in (16, 32, 32):
        layers += [nn.Conv2d(c, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
        c = w
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 10))


MODELS = {"lenet_zhu": lenet_zhu, "convnet_bn": convnet_bn}
for name in sys.argv[1:] or list(MODELS):
    if name not in MODELS:
        continue
    for dtype in (torch.float32, torch.float64):
        model = MODELS[name]().to(dtype)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = torch.rand(8, 64, 3, 32, 32, dtype=dtype) - 0.5
        y = torch.randint(0, 10, (8, 64))
        best = float("inf")
        for _ in range(3):
            t = time.process_time()
            for s in range(8):
                opt.zero_grad()
                F.cross_entropy(model(x[s]), y[s]).backward()
                opt.step()
            best = min(best, (time.process_time() - t) / 8 * 1000)
        print(f"{name} PyTorch {str(dtype).replace('torch.', '')}: {best:.1f} ms per step of 64")
