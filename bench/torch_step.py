"""Times one gradient-matching step in PyTorch for a gradleak graph spec, for `npm run bench`.

Reads {"spec": <graph spec>, "batch": B, "distance": "cosine"|"l2", "dtype": "float64"|"float32",
"steps": N, "bn_mode": "train"|"eval", "threads": T (optional)} on stdin and prints {"ms": <median ms per step>, "threads": T}.
With "serve": true the job comes as the first argument instead, and stdin then asks for runs of steps
(scripts/step-ab.mjs).
A step is what gradleak's matching step computes: the candidate batch's gradients of the mean
cross-entropy with create_graph=True, the distance to fixed target gradients, and its gradient with
respect to the candidate (double backprop). The model is built from the spec itself (the same ops
and shapes), so no architecture is written twice.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def pair(v):
    return tuple(v) if isinstance(v, list) else (v, v)


class Graph(torch.nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        self.mods = torch.nn.ModuleDict()
        shapes = {"input": tuple(spec["input"])}
        for n in spec["nodes"]:
            x = shapes[n["inputs"][0]]
            op, key = n["op"], n["name"].replace(".", "_")
            if op == "conv2d":
                m = torch.nn.Conv2d(x[0], n["out"], pair(n["kernel"]), pair(n.get("stride", 1)), pair(n.get("padding", 0)), bias=n.get("bias", True))
                self.mods[key] = m
                with torch.no_grad():
                    shapes[n["name"]] = tuple(m(torch.zeros(1, *x)).shape[1:])
                continue
            if op == "linear":
                self.mods[key] = torch.nn.Linear(x[0], n["out"], bias=n.get("bias", True))
                shapes[n["name"]] = (n["out"],)
                continue
            if op == "batch_norm2d":
                self.mods[key] = torch.nn.BatchNorm2d(x[0], eps=n.get("eps", 1e-5))
            if op in ("max_pool2d", "avg_pool2d"):
                k = pair(n["kernel"])
                cls = torch.nn.MaxPool2d if op == "max_pool2d" else torch.nn.AvgPool2d
                self.mods[key] = cls(k, pair(n.get("stride", n["kernel"])), pair(n.get("padding", 0)))
                with torch.no_grad():
                    shapes[n["name"]] = tuple(self.mods[key](torch.zeros(1, *x)).shape[1:])
                continue
            if op == "global_avg_pool":
                shapes[n["name"]] = (x[0], 1, 1)
            elif op == "flatten":
                size = 1
                for d in x:
                    size *= d
                shapes[n["name"]] = (size,)
            else:
                shapes[n["name"]] = x

    def forward(self, x):
        values = {"input": x}
        for n in self.spec["nodes"]:
            a = [values[i] for i in n["inputs"]]
            op, key = n["op"], n["name"].replace(".", "_")
            if key in self.mods:
                y = self.mods[key](a[0])
            elif op == "relu":
                y = F.relu(a[0])
            elif op == "leaky_relu":
                y = F.leaky_relu(a[0], n.get("slope", 0.01))
            elif op == "tanh":
                y = torch.tanh(a[0])
            elif op == "sigmoid":
                y = torch.sigmoid(a[0])
            elif op == "softplus":
                y = F.softplus(a[0])
            elif op == "global_avg_pool":
                y = a[0].mean(dim=(2, 3), keepdim=True)
            elif op == "flatten":
                y = a[0].flatten(1)
            elif op == "add":
                y = a[0] + a[1]
            else:  # identity, dropout
                y = a[0]
            values[n["name"]] = y
        return values[self.spec.get("output", self.spec["nodes"][-1]["name"])]


def main():
    job = json.loads(sys.argv[1]) if len(sys.argv) > 1 else json.load(sys.stdin)
    dtype = getattr(torch, job["dtype"])
    if "threads" in job:
        torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    model = Graph(job["spec"]).to(dtype)
    model.train(job.get("bn_mode", "train") == "train")
    params = [p for p in model.parameters()]
    b = job["batch"]
    labels = torch.arange(b) % job["spec"]["classes"]
    x_true = torch.rand(b, *job["spec"]["input"], dtype=dtype) - 0.5
    target = [g.detach() for g in torch.autograd.grad(F.cross_entropy(model(x_true), labels), params)]
    x = (torch.rand(b, *job["spec"]["input"], dtype=dtype) - 0.5).requires_grad_(True)

    def step():
        grads = torch.autograd.grad(F.cross_entropy(model(x), labels), params, create_graph=True)
        d = 0
        for g, t in zip(grads, target):
            if job["distance"] == "l2":
                d = d + ((g - t) ** 2).sum()
            else:
                d = d + 1 - F.cosine_similarity(g.flatten(), t.flatten(), 0, 1e-10)
        return torch.autograd.grad(d, x)[0]

    for _ in range(max(5, job["steps"] // 5)):
        step()
    if job.get("serve"):
        # scripts/step-ab.mjs: each line "N" on stdin runs N steps and answers the fastest one's ms
        print("ready", flush=True)
        for line in sys.stdin:
            best = float("inf")
            for _ in range(int(line)):
                t0 = time.perf_counter()
                step()
                best = min(best, (time.perf_counter() - t0) * 1000)
            print(json.dumps({"min": best, "threads": torch.get_num_threads()}), flush=True)
        return
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(job["steps"]):
            step()
        times.append((time.perf_counter() - t0) * 1000 / job["steps"])
    print(json.dumps({"ms": statistics.median(times), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
