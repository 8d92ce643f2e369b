"""Layers outside the benchmark table: one training step of a small model around each, ours / PyTorch.

    python tests/benchmarks/bench_layers.py [--threads 1] [names ...]

The table (bench_table.py) times whole models; this survey finds the layers whose own kernels lag
PyTorch's (a composed GroupNorm, add.at scatters, a ten-pass sigmoid were found this way). Each case
is a small model whose cost is mostly the named layer, trained with Adam and cross-entropy on a fixed
batch, both engines from the same seed; repeats alternate between the engines and the medians are
printed with their ratio. Not a test: nothing here asserts.
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads for both engines (default 1)")
    parser.add_argument("--repeats", type=int, default=7, help="alternating repeats of ~100 ms per engine")
    parser.add_argument("--malloc", choices=["system", "kept"], default="system",
                        help="glibc's malloc for both engines: its defaults, or freed memory kept (as "
                             "layerforge.engine does on import); see bench_table.py")
    parser.add_argument("names", nargs="*", help="only these cases")
    return parser.parse_args(argv)


ARGS = parse_args() if __name__ == "__main__" else parse_args([])
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = str(ARGS.threads)  # before numpy loads OpenBLAS
os.environ["LAYERFORGE_MALLOC"] = ARGS.malloc  # read when layerforge.engine is imported (allocator.py)

import numpy as np  # noqa: E402


def _head(nn, module, features):
    return nn.Sequential(module, nn.Flatten(), nn.Linear(features, 10))


def _attention(nn):
    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = nn.MultiheadAttention(64, 4, batch_first=True)
            self.head = nn.Linear(64, 10)

        def forward(self, x):
            out, _ = self.attention(x, x, x)
            return self.head(out.mean(dim=1))

    return Attention()


def _embedding(nn):
    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(1000, 64)
            self.head = nn.Linear(64, 10)

        def forward(self, x):
            return self.head(self.embedding(x).mean(dim=1))

    return Bag()


# name: (build(nn), input shape, integer input below this or None)
CASES = {
    "Conv1d": (lambda nn: _head(nn, nn.Sequential(nn.Conv1d(16, 32, 5, padding=2), nn.ReLU()), 32 * 128),
               (32, 16, 128), None),
    "BatchNorm2d": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16),
                                                       nn.ReLU()), 16 * 32 * 32), (32, 3, 32, 32), None),
    "BatchNorm1d": (lambda nn: nn.Sequential(nn.Linear(64, 256), nn.BatchNorm1d(256), nn.ReLU(),
                                             nn.Linear(256, 10)), (128, 64), None),
    "LayerNorm+GELU": (lambda nn: nn.Sequential(nn.Linear(64, 256), nn.LayerNorm(256), nn.GELU(),
                                                nn.Linear(256, 10)), (128, 64), None),
    "GroupNorm+SiLU": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.GroupNorm(4, 16),
                                                          nn.SiLU()), 16 * 32 * 32), (32, 3, 32, 32), None),
    "AvgPool2d+Tanh": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.Tanh(),
                                                          nn.AvgPool2d(2)), 16 * 16 * 16), (32, 3, 32, 32), None),
    "ConvTranspose2d+Sigmoid": (lambda nn: _head(nn, nn.Sequential(nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1),
                                                                   nn.Sigmoid()), 4 * 32 * 32), (32, 8, 16, 16), None),
    "Upsample": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Upsample(scale_factor=2)),
                                  8 * 32 * 32), (32, 3, 16, 16), None),
    "Upsample bilinear": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(3, 8, 3, padding=1),
                                                             nn.Upsample(scale_factor=2, mode="bilinear")),
                                           8 * 32 * 32), (32, 3, 16, 16), None),
    "InstanceNorm2d": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(3, 16, 3, padding=1),
                                                          nn.InstanceNorm2d(16, affine=True)), 16 * 32 * 32),
                       (32, 3, 32, 32), None),
    "AdaptiveMaxPool2d": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.AdaptiveMaxPool2d(4)),
                                           16 * 4 * 4), (32, 3, 32, 32), None),
    "MaxPool2d 3x3 stride 2": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(3, 16, 3, padding=1),
                                                                  nn.MaxPool2d(3, 2, 1)), 16 * 16 * 16),
                               (32, 3, 32, 32), None),
    "Conv2d depthwise": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.ReLU()),
                                          16 * 32 * 32), (32, 16, 32, 32), None),
    "Depthwise separable": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(16, 32, 1), nn.ReLU(),
                                                               nn.Conv2d(32, 32, 3, padding=1, groups=32), nn.ReLU()),
                                             32 * 32 * 32), (32, 16, 32, 32), None),
    "Conv3d": (lambda nn: _head(nn, nn.Sequential(nn.Conv3d(2, 8, 3, padding=1), nn.ReLU()), 8 * 8 * 16 * 16),
               (8, 2, 8, 16, 16), None),
    "MultiheadAttention": (_attention, (32, 32, 64), None),
    "Softmax": (lambda nn: nn.Sequential(nn.Linear(64, 256), nn.Softmax(dim=1), nn.Linear(256, 10)), (128, 64), None),
    "LeakyReLU+ELU": (lambda nn: nn.Sequential(nn.Linear(64, 256), nn.LeakyReLU(0.1), nn.Linear(256, 256), nn.ELU(),
                                               nn.Linear(256, 10)), (128, 64), None),
    "AdaptiveAvgPool2d": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
                                                             nn.AdaptiveAvgPool2d(1)), 16), (32, 3, 32, 32), None),
    "Dropout2d": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.Dropout2d(0.2)), 16 * 32 * 32),
                  (32, 3, 32, 32), None),
    "Embedding": (_embedding, (64, 50), 1000),
    "Conv2d stride 2": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(3, 16, 3, padding=1),
                                                           nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU()),
                                         32 * 16 * 16), (32, 3, 32, 32), None),
    "PReLU": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.PReLU(16)), 16 * 32 * 32),
              (32, 3, 32, 32), None),
    "Global max pool": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(3, 16, 3, padding=1),
                                                           nn.AdaptiveMaxPool2d(1)), 16),
                        (32, 3, 32, 32), None),
    "LayerNorm over C, H, W": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(3, 16, 3, padding=1),
                                                                  nn.LayerNorm([16, 32, 32])), 16 * 32 * 32),
                               (32, 3, 32, 32), None),
    "AdaptiveMaxPool2d uneven": (lambda nn: _head(nn, nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
                                                                    nn.AdaptiveMaxPool2d(7)), 16 * 7 * 7),
                                 (32, 3, 32, 32), None),
}


def step_of(engine, case):
    build, shape, integer_high = CASES[case]
    rng = np.random.default_rng(0)
    batch = rng.integers(0, integer_high, shape) if integer_high else rng.random(shape, dtype=np.float32)
    target = rng.integers(0, 10, shape[0])
    engine.manual_seed(0)
    model = build(engine.nn)
    x, y = (engine.tensor(batch), engine.tensor(target)) if engine.__name__ != "torch" else \
        (engine.from_numpy(batch), engine.from_numpy(target))
    optimizer = engine.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = engine.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    for _ in range(3):
        step()
    return step


def main():
    import torch

    import layerforge.engine as lf
    torch.set_num_threads(ARGS.threads)
    names = ARGS.names or list(CASES)
    allocator = getattr(lf, "allocator", None)  # (an engine from before allocator.py, run for comparison)
    malloc = "freed memory kept" if allocator and allocator.freed_memory_kept() else "the C library's defaults"
    print(f"threads {ARGS.threads}; malloc: {malloc}, for both engines; {ARGS.repeats} alternating repeats "
          "of ~100 ms; medians\n")
    print("| layer (in a small model) | ours ms | torch ms | ratio |")
    print("|---|---:|---:|---:|")
    for name in names:
        steps = {"ours": step_of(lf, name), "torch": step_of(torch, name)}
        times = {label: [] for label in steps}
        for repeat in range(ARGS.repeats):
            for label in (list(steps) if repeat % 2 == 0 else list(steps)[::-1]):
                start, count = time.perf_counter(), 0
                while time.perf_counter() - start < 0.1:
                    steps[label]()
                    count += 1
                times[label].append((time.perf_counter() - start) / count)
        ours, theirs = (float(np.median(times[label])) * 1e3 for label in ("ours", "torch"))
        print(f"| {name} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.2f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
