#!/usr/bin/python3
"""Make gradleak's graph-spec test fixtures with PyTorch (float64).

Usage (from the repository root, with Debian's PyTorch):

    /usr/bin/python3 scripts/make-graph-fixtures.py [--out DIR]

Writes, for each of four models (lenet_zhu, convnet_bn, resnet8, mlp), to
test/fixtures/graphs/<name>/ (or DIR/<name>/):

  model.json            the architecture in gradleak's graph spec format
  weights.safetensors   model.state_dict() in F64, without num_batches_tracked
  batch1.safetensors    images, labels and, per BN mode (eval, train): logits, mean
  batch8.safetensors    cross-entropy loss, its gradients, and the gradient-matching
                        oracle (cosine and L2 distances and their gradients w.r.t. x')
  reference.json        versions, seeds, command, parameter count, description

Deterministic: fixed seeds, one thread, no timestamps; two runs give identical bytes.
The safetensors files are written (and re-read for the self-check) by the small
writer/reader below, since the `safetensors` package is not available.
"""

import argparse
import copy
import hashlib
import json
import os
import platform
import struct
import subprocess

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

COMMAND = "/usr/bin/python3 scripts/make-graph-fixtures.py"
FORMAT = "gradleak-graph-fixture-1"
MODES = ("eval", "train")
BATCHES = (1, 8)

SEEDS = {
    # torch.manual_seed before constructing each model (PyTorch default / Kaiming init)
    "init": {"lenet_zhu": 1001, "convnet_bn": 1002, "resnet8": 1003, "mlp": 1004},
    # torch.Generator seed for the BN weight, bias, running_mean, running_var of each model
    "batch_norm": {"convnet_bn": 2002, "resnet8": 2003},
    # torch.Generator seeds for the data; the same images / labels for every model
    "images": {"1": 3001, "8": 3008},
    "labels": {"1": 4001, "8": 4008},
    "match_images": {"1": 5001, "8": 5008},
}

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


# ----------------------------------------------------------------------------- models

class LeNetZhu(nn.Module):
    """DLG's LeNet (Zhu et al. 2019) as in the breaching library, PyTorch default init."""

    def __init__(self, num_classes=10, num_channels=3):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(num_channels, 12, kernel_size=5, padding=2, stride=2), nn.Sigmoid(),
            nn.Conv2d(12, 12, kernel_size=5, padding=2, stride=2), nn.Sigmoid(),
            nn.Conv2d(12, 12, kernel_size=5, padding=2, stride=1), nn.Sigmoid(),
        )
        self.fc = nn.Sequential(nn.Linear(768, num_classes))

    def forward(self, x):
        return self.fc(torch.flatten(self.body(x), 1))


class ConvNetBN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(512, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class BasicBlock(nn.Module):
    """torchvision's BasicBlock (expansion 1); module names as there."""

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet8(nn.Module):
    """CIFAR ResNet (He et al. 2016) with one BasicBlock per stage, widths 16/32/64."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.layer1 = nn.Sequential(BasicBlock(16, 16, 1))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2))
        self.layer3 = nn.Sequential(BasicBlock(32, 64, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():  # as torchvision.models.resnet.ResNet.__init__
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class MLP(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.fc1 = nn.Linear(3072, 64)
        self.fc2 = nn.Linear(64, 32)
        self.fc3 = nn.Linear(32, num_classes)

    def forward(self, x):
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


# ----------------------------------------------------------------------------- graph specs

def conv(name, inp, m):
    assert isinstance(m, nn.Conv2d) and m.dilation == (1, 1) and m.groups == 1
    assert m.padding_mode == "zeros"

    def sq(v):
        v = list(v)
        return v[0] if v[0] == v[1] else v
    return {"name": name, "op": "conv2d", "inputs": [inp], "out": m.out_channels,
            "kernel": sq(m.kernel_size), "stride": sq(m.stride), "padding": sq(m.padding),
            "bias": m.bias is not None}


def linear(name, inp, m):
    assert isinstance(m, nn.Linear)
    return {"name": name, "op": "linear", "inputs": [inp], "out": m.out_features, "bias": m.bias is not None}


def bn(name, inp, m):
    assert isinstance(m, nn.BatchNorm2d) and m.affine and m.track_running_stats
    return {"name": name, "op": "batch_norm2d", "inputs": [inp], "eps": m.eps}


def maxpool(name, inp, m):
    assert isinstance(m, nn.MaxPool2d) and m.dilation == 1 and not m.ceil_mode
    return {"name": name, "op": "max_pool2d", "inputs": [inp], "kernel": m.kernel_size,
            "stride": m.stride, "padding": m.padding}


def simple(name, op, *inputs):
    return {"name": name, "op": op, "inputs": list(inputs)}


def spec_lenet_zhu(model):
    mods = dict(model.named_modules())
    nodes, prev = [], "input"
    for i in range(6):
        name = f"body.{i}"
        m = mods[name]
        nodes.append(conv(name, prev, m) if isinstance(m, nn.Conv2d) else simple(name, "sigmoid", prev))
        prev = name
    nodes.append(simple("flatten", "flatten", prev))
    nodes.append(linear("fc.0", "flatten", mods["fc.0"]))
    return nodes, "fc.0"


def spec_convnet_bn(model):
    mods = dict(model.named_modules())
    nodes, prev = [], "input"
    for i in range(12):
        name = f"features.{i}"
        m = mods[name]
        if isinstance(m, nn.Conv2d):
            nodes.append(conv(name, prev, m))
        elif isinstance(m, nn.BatchNorm2d):
            nodes.append(bn(name, prev, m))
        elif isinstance(m, nn.ReLU):
            nodes.append(simple(name, "relu", prev))
        else:
            nodes.append(maxpool(name, prev, m))
        prev = name
    nodes.append(simple("flatten", "flatten", prev))
    nodes.append(linear("classifier", "flatten", mods["classifier"]))
    return nodes, "classifier"


def spec_resnet8(model):
    mods = dict(model.named_modules())
    nodes = [conv("conv1", "input", mods["conv1"]), bn("bn1", "conv1", mods["bn1"]), simple("relu", "relu", "bn1")]
    prev = "relu"
    for layer in ("layer1.0", "layer2.0", "layer3.0"):
        p = layer + "."
        nodes += [
            conv(p + "conv1", prev, mods[p + "conv1"]), bn(p + "bn1", p + "conv1", mods[p + "bn1"]),
            simple(p + "relu", "relu", p + "bn1"),
            conv(p + "conv2", p + "relu", mods[p + "conv2"]), bn(p + "bn2", p + "conv2", mods[p + "bn2"]),
        ]
        if mods[layer].downsample is not None:
            nodes += [conv(p + "downsample.0", prev, mods[p + "downsample.0"]),
                      bn(p + "downsample.1", p + "downsample.0", mods[p + "downsample.1"])]
            shortcut = p + "downsample.1"
        else:
            shortcut = prev
        nodes += [simple(p + "add", "add", p + "bn2", shortcut), simple(p + "relu2", "relu", p + "add")]
        prev = p + "relu2"
    nodes += [simple("avgpool", "global_avg_pool", prev), simple("flatten", "flatten", "avgpool"),
              linear("fc", "flatten", mods["fc"])]
    return nodes, "fc"


def spec_mlp(model):
    nodes = [simple("flatten", "flatten", "input"), linear("fc1", "flatten", model.fc1),
             simple("relu1", "relu", "fc1"), linear("fc2", "relu1", model.fc2),
             simple("relu2", "relu", "fc2"), linear("fc3", "relu2", model.fc3)]
    return nodes, "fc3"


MODELS = [
    ("lenet_zhu", LeNetZhu, spec_lenet_zhu,
     "DLG's LeNet (Zhu et al. 2019, as in the breaching library): three 5x5 convs (stride 2, 2, 1; "
     "padding 2) with sigmoid, then a linear layer 768->10. PyTorch default initialisation (not DLG's "
     "uniform(-0.5, 0.5) weights_init), seeded. No BN: eval and train entries are identical."),
    ("convnet_bn", ConvNetBN, spec_convnet_bn,
     "Three conv3x3(+bias)-BN-ReLU-maxpool2 stages (16, 32, 32 channels), then linear 512->10. "
     "PyTorch default init, seeded; BN weight/bias/running stats set to seeded random values."),
    ("resnet8", ResNet8, spec_resnet8,
     "CIFAR ResNet (He et al. 2016) with one BasicBlock per stage (16, 32, 64 channels; stride 1, 2, 2; "
     "1x1-conv+BN shortcut where the shape changes), global average pooling, linear 64->10. "
     "Kaiming-normal (fan_out, relu) conv init as torchvision, default linear init, seeded; BN "
     "weight/bias/running stats set to seeded random values."),
    ("mlp", MLP, spec_mlp,
     "Multilayer perceptron on the flattened image: 3072->64->32->10 with ReLU. PyTorch default init, "
     "seeded. No BN: eval and train entries are identical."),
]


def debian_torch_version():
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-torch"], capture_output=True,
                              text=True, check=True).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def build(name, cls):
    torch.manual_seed(SEEDS["init"][name])
    model = cls().double()
    if name in SEEDS["batch_norm"]:
        g = torch.Generator().manual_seed(SEEDS["batch_norm"][name])
        with torch.no_grad():
            for _, m in model.named_modules():
                if isinstance(m, nn.BatchNorm2d):
                    c = m.num_features
                    m.weight.copy_(torch.rand(c, generator=g, dtype=torch.float64) + 0.5)          # U(0.5, 1.5)
                    m.bias.copy_(torch.rand(c, generator=g, dtype=torch.float64) - 0.5)            # U(-0.5, 0.5)
                    m.running_mean.copy_(torch.rand(c, generator=g, dtype=torch.float64) - 0.5)    # U(-0.5, 0.5)
                    m.running_var.copy_(torch.rand(c, generator=g, dtype=torch.float64) * 1.5 + 0.5)  # U(0.5, 2)
    return model


def spec_json(spec):
    """The spec as JSON with one node per line."""
    j = lambda v: json.dumps(v, separators=(", ", ": "))
    head = ", ".join(f"{j(k)}: {j(spec[k])}" for k in ("name", "input", "classes"))
    nodes = ",\n".join("  " + j(n) for n in spec["nodes"])
    text = "{" + head + ",\n \"nodes\": [\n" + nodes + "\n ],\n \"output\": " + j(spec["output"]) + "}\n"
    assert json.loads(text) == spec
    return text


# ----------------------------------------------------------------------------- spec interpreter (self-check)

def run_spec(spec, state, x, mode):
    """Evaluate a graph spec with torch.nn.functional on the given weights (checks the export)."""
    def pair(v, default):
        v = default if v is None else v
        return tuple(v) if isinstance(v, list) else (v, v)
    vals = {"input": x}
    for n in spec["nodes"]:
        a = [vals[i] for i in n["inputs"]]
        op, nm = n["op"], n["name"]
        if op == "conv2d":
            y = F.conv2d(a[0], state[nm + ".weight"], state.get(nm + ".bias") if n["bias"] else None,
                         stride=pair(n.get("stride"), 1), padding=pair(n.get("padding"), 0))
        elif op == "linear":
            assert a[0].dim() == 2
            y = F.linear(a[0], state[nm + ".weight"], state.get(nm + ".bias") if n["bias"] else None)
        elif op == "batch_norm2d":
            y = F.batch_norm(a[0], state[nm + ".running_mean"].clone(), state[nm + ".running_var"].clone(),
                             state[nm + ".weight"], state[nm + ".bias"], training=(mode == "train"),
                             eps=n.get("eps", 1e-5))
        elif op == "relu":
            y = F.relu(a[0])
        elif op == "sigmoid":
            y = torch.sigmoid(a[0])
        elif op == "max_pool2d":
            k = pair(n["kernel"], None)
            y = F.max_pool2d(a[0], k, pair(n.get("stride"), k), pair(n.get("padding"), 0))
        elif op == "global_avg_pool":
            y = a[0].mean(dim=(2, 3), keepdim=True)
        elif op == "flatten":
            y = torch.flatten(a[0], 1)
        elif op == "add":
            assert a[0].shape == a[1].shape
            y = a[0] + a[1]
        else:
            raise ValueError(op)
        vals[nm] = y
    return vals[spec["output"]]


# ----------------------------------------------------------------------------- safetensors

def st_write(path, tensors, metadata=None):
    """tensors: list of (name, torch tensor); written F64 little-endian in this order."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors:
        assert name not in header, name
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f8"))
        b = a.tobytes()
        header[name] = {"dtype": "F64", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((-(8 + len(h))) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def st_read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert (8 + n) % 8 == 0, "header not padded to 8"
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    meta = header.pop("__metadata__", None)
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in header.items())
    pos = 0
    out = {}
    for begin, end, k in spans:
        v = header[k]
        assert begin == pos, f"{path}: gap/overlap at {k}"
        assert v["dtype"] == "F64"
        count = int(np.prod(v["shape"])) if v["shape"] else 1
        assert end - begin == 8 * count, f"{path}: size of {k}"
        out[k] = np.frombuffer(data[begin:end], dtype="<f8").reshape(v["shape"])
        pos = end
    assert pos == len(data), f"{path}: trailing bytes"
    return out, meta


# ----------------------------------------------------------------------------- computations

def trainable(model):
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def forward_and_grads(base, mode, images, labels):
    model = copy.deepcopy(base)  # start from the saved weights (train mode updates running stats)
    model.train(mode == "train")
    named = trainable(model)
    logits = model(images)
    loss = F.cross_entropy(logits, labels, reduction="mean")
    grads = torch.autograd.grad(loss, [p for _, p in named])
    return logits.detach(), loss.detach(), [(n, g.detach()) for (n, _), g in zip(named, grads)]


def match_distance(base, mode, x, labels, target, kind, exclude=(), create_graph=True):
    """D(x') = sum over parameter tensors (minus `exclude`) of 1 - cos(g_t, target_t) or |g_t - target_t|^2."""
    model = copy.deepcopy(base)  # start from the saved weights
    model.train(mode == "train")
    params = [p for _, p in trainable(model)]
    loss = F.cross_entropy(model(x), labels, reduction="mean")
    g = torch.autograd.grad(loss, params, create_graph=create_graph)
    d = x.new_zeros(())
    for gi, (n, ti) in zip(g, target):
        if n in exclude:
            continue
        gi, ti = gi.reshape(-1), ti.reshape(-1)
        if kind == "cosine":
            d = d + (1 - (gi * ti).sum() / (gi.norm() * ti.norm()))
        else:
            d = d + ((gi - ti) ** 2).sum()
    return d


def matching(base, mode, match_images, labels, target, exclude=()):
    """Cosine / L2 gradient distances of candidate x' against the target gradients, and d/dx'."""
    out = {}
    for kind in ("cosine", "l2"):
        x = match_images.clone().requires_grad_(True)
        d = match_distance(base, mode, x, labels, target, kind, exclude)
        (dx,) = torch.autograd.grad(d, x)
        out[kind] = (d.detach(), dx.detach())
    return out


def directional_check(base, mode, match_images, labels, target, kind, grad, exclude=(), seed=0, h=1e-6):
    """Relative error of <grad, v> against a central difference of D along a seeded unit direction v."""
    v = torch.randn(match_images.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    v /= v.norm()
    with torch.enable_grad():
        dp = match_distance(base, mode, match_images + h * v, labels, target, kind, exclude, False).item()
        dm = match_distance(base, mode, match_images - h * v, labels, target, kind, exclude, False).item()
    fd, an = (dp - dm) / (2 * h), (grad * v).sum().item()
    return abs(fd - an) / max(abs(fd), abs(an), 1e-300), an


def degenerate_tensors(spec, mode):
    """Parameters whose gradient is zero in exact arithmetic: the bias of a conv (or linear) whose
    only consumer is a batch_norm2d in train mode (the batch mean removes it). Computed in floating
    point their gradient is rounding noise (~1e-16), so a cosine against it is not reproducible."""
    if mode != "train":
        return []
    consumers = {}
    for n in spec["nodes"]:
        for i in n["inputs"]:
            consumers.setdefault(i, []).append(n["op"])
    return [n["name"] + ".bias" for n in spec["nodes"]
            if n["op"] in ("conv2d", "linear") and n["bias"] and consumers.get(n["name"]) == ["batch_norm2d"]]


def data(batch):
    b = str(batch)
    gi = torch.Generator().manual_seed(SEEDS["images"][b])
    images = torch.rand(batch, 3, 32, 32, generator=gi, dtype=torch.float64) * 2 - 1
    gl = torch.Generator().manual_seed(SEEDS["labels"][b])
    labels = torch.randint(0, 10, (batch,), generator=gl)
    if batch > 1 and len(set(labels.tolist())) == batch:
        labels[-1] = labels[0]  # make sure a label repeats
    gm = torch.Generator().manual_seed(SEEDS["match_images"][b])
    match_images = torch.rand(batch, 3, 32, 32, generator=gm, dtype=torch.float64) * 2 - 1
    return images, labels, match_images


# ----------------------------------------------------------------------------- main

def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(root, "test", "fixtures", "graphs"))
    args = ap.parse_args()

    written = {}  # path -> dict of tensors in memory (for the self-check)
    summary = []
    for name, cls, spec_fn, description in MODELS:
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        base = build(name, cls)
        nodes, output = spec_fn(base)
        spec = {"name": name, "input": [3, 32, 32], "classes": 10, "nodes": nodes, "output": output}

        # every parameter / buffer named by the spec exists, and vice versa
        state = {k: v.detach().clone() for k, v in base.state_dict().items() if not k.endswith("num_batches_tracked")}
        assert all(v.dtype == torch.float64 for v in state.values())
        named_nodes = {n["name"] for n in nodes}
        for k in state:
            assert k.rsplit(".", 1)[0] in named_nodes, f"{name}: {k} has no node"

        with open(os.path.join(d, "model.json"), "w") as f:
            f.write(spec_json(spec))
        weights = list(state.items())
        st_write(os.path.join(d, "weights.safetensors"), weights,
                 {"format": FORMAT, "model": name, "content": "weights"})
        written[os.path.join(d, "weights.safetensors")] = dict(weights)

        n_params = sum(p.numel() for _, p in trainable(base))
        n_buffers = sum(v.numel() for k, v in state.items()) - n_params
        losses = {}
        grad_norms = {}
        excluded = {}
        fd_checks = {}
        for batch in BATCHES:
            images, labels, match_images = data(batch)
            tensors = [("images", images), ("labels", labels.double())]
            mtensors = [("match.images", match_images)]
            for mode in MODES:
                logits, loss, grads = forward_and_grads(base, mode, images, labels)
                # the exported spec computes the same logits
                with torch.no_grad():
                    ref = run_spec(spec, state, images, mode)
                err = (ref - logits).abs().max().item()
                assert err < 1e-12, f"{name} b{batch} {mode}: spec interpreter differs by {err}"
                tensors += [(f"logits.{mode}", logits), (f"loss.{mode}", loss.reshape(1))]
                tensors += [(f"grad.{mode}.{n}", g) for n, g in grads]
                m = matching(base, mode, match_images, labels, grads)
                mtensors += [(f"match.{mode}.cosine_value", m["cosine"][0].reshape(1)),
                             (f"match.{mode}.cosine_grad", m["cosine"][1]),
                             (f"match.{mode}.l2_value", m["l2"][0].reshape(1)),
                             (f"match.{mode}.l2_grad", m["l2"][1])]
                losses[f"batch{batch}.{mode}"] = loss.item()
                losses[f"batch{batch}.{mode}.match.cosine"] = m["cosine"][0].item()
                losses[f"batch{batch}.{mode}.match.l2"] = m["l2"][0].item()
                # exactly-zero-in-theory target gradients (conv bias before a train-mode BN)
                degenerate = degenerate_tensors(spec, mode)
                for n, g in grads:
                    if n in degenerate:
                        assert g.norm() < 1e-12, f"{name} {mode}: {n} expected ~0, |g| = {g.norm()}"
                    else:
                        assert g.norm() > 1e-6, f"{name} b{batch} {mode}: {n} unexpectedly small, |g| = {g.norm()}"
                checks = [(f"batch{batch}.{mode}.{k}", k, m[k][1], ()) for k in ("cosine", "l2")]
                if degenerate:
                    excluded[mode] = degenerate
                    s = matching(base, mode, match_images, labels, grads, exclude=degenerate)["cosine"]
                    mtensors += [(f"match.{mode}.cosine_nondegenerate_value", s[0].reshape(1)),
                                 (f"match.{mode}.cosine_nondegenerate_grad", s[1])]
                    losses[f"batch{batch}.{mode}.match.cosine_nondegenerate"] = s[0].item()
                    checks.append((f"batch{batch}.{mode}.cosine_nondegenerate", "cosine", s[1], degenerate))
                for label, kind, grad, excl in checks:
                    err, an = directional_check(base, mode, match_images, labels, grads, kind, grad, excl,
                                                seed=batch)
                    fd_checks[label] = (err, an)
                    # the plain cosine with a degenerate (noise) term is expected to fail this check
                    assert err < 1e-3 or (kind == "cosine" and degenerate and not excl), f"{name} {label}: {err}"
                grad_norms[f"batch{batch}.{mode}"] = {n: g.norm().item() for n, g in grads}
            # base must be untouched by the computations
            for k, v in base.state_dict().items():
                if k in state:
                    assert torch.equal(v, state[k]), f"{name}: {k} changed"
            path = os.path.join(d, f"batch{batch}.safetensors")
            meta = {"format": FORMAT, "model": name, "batch": str(batch)}
            for mode, ex in excluded.items():
                meta[f"match.{mode}.cosine_nondegenerate.excludes"] = ",".join(ex)
            st_write(path, tensors + mtensors, meta)
            written[path] = dict(tensors + mtensors)

        ref = {
            "model": name,
            "description": description,
            "format": FORMAT,
            "command": COMMAND,
            "torch": torch.__version__,
            "debian_python3_torch": debian_torch_version(),
            "numpy": np.__version__,
            "python": platform.python_version(),
            "threads": torch.get_num_threads(),
            "seeds": {
                "init": SEEDS["init"][name],
                "batch_norm": SEEDS["batch_norm"].get(name),
                "images": SEEDS["images"],
                "labels": SEEDS["labels"],
                "match_images": SEEDS["match_images"],
            },
            "data": "images / match.images: torch.rand(B,3,32,32, generator=torch.Generator().manual_seed(seed), "
                    "dtype=float64)*2-1; labels: torch.randint(0,10,(B,), generator=...), last label set to "
                    "the first if none repeats",
            "parameters": n_params,
            "buffers": n_buffers,
            "parameter_tensors": [n for n, _ in trainable(base)],
            "has_batch_norm": name in SEEDS["batch_norm"],
            "loss": "cross-entropy, reduction mean over the batch",
            "values": losses,
            "cosine_nondegenerate_excludes": excluded,
            "target_gradient_norms": grad_norms,
        }
        with open(os.path.join(d, "reference.json"), "w") as f:
            f.write(json.dumps(ref, indent=1) + "\n")
        summary.append((name, n_params, n_buffers, d, losses, fd_checks))

    # ------------------------------------------------------------------ self-check
    for path, mem in written.items():
        got, meta = st_read(path)
        assert meta and meta.get("format") == FORMAT
        assert list(got.keys()) == list(mem.keys()), path  # written in order, so sorted by offset
        for k, v in mem.items():
            a = v.detach().cpu().numpy().astype("<f8")
            assert got[k].shape == a.shape and np.array_equal(got[k].view("<u8"), a.view("<u8")), f"{path}: {k}"
    for name, n_params, n_buffers, d, losses, fd_checks in summary:
        print(f"== {name}: {n_params} trainable parameters, {n_buffers} buffer values")
        for fn in sorted(os.listdir(d)):
            p = os.path.join(d, fn)
            print(f"   {fn:22s} {os.path.getsize(p):>10d} B  sha256 {hashlib.sha256(open(p, 'rb').read()).hexdigest()[:16]}")
        for k, v in losses.items():
            print(f"   {k:45s} {v:.17g}")
        for k, (err, an) in fd_checks.items():
            print(f"   finite-difference check {k:38s} <grad,v> = {an: .6e}  rel. err {err:.1e}")
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(args.out) for f in fs)
    print(f"self-check passed: {len(written)} safetensors files re-read bit-exactly; total under {args.out}: {total} B")


if __name__ == "__main__":
    main()
