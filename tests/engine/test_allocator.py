"""Importing the engine tells glibc's malloc to keep freed memory, so a training step's arrays reuse
pages that are already mapped instead of faulting in fresh ones; LAYERFORGE_MALLOC=system opts out."""
from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest


def _glibc() -> bool:
    try:
        ctypes.CDLL(None).gnu_get_libc_version  # noqa: B018
    except (OSError, AttributeError):
        return False
    return sys.platform.startswith("linux")


pytestmark = pytest.mark.skipif(not _glibc(), reason="only glibc's malloc (Linux) is tuned")

# Three 12 MB arrays made and freed, ten times over: what one step of a mid-sized model does.
_STEPS = """
import resource
import numpy as np
import layerforge.engine
from layerforge.engine.allocator import freed_memory_kept

def step():
    a = np.ones(3_000_000, np.float32)
    b = np.ones(3_000_000, np.float32)
    c = a + b
    del a, b, c

step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(freed_memory_kept(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _run(malloc):
    env = dict(os.environ)
    env.pop("LAYERFORGE_MALLOC", None)
    if malloc is not None:
        env["LAYERFORGE_MALLOC"] = malloc
    done = subprocess.run([sys.executable, "-c", _STEPS], capture_output=True, text=True, env=env, check=True)
    kept, faults = done.stdout.split()
    return kept == "True", int(faults)


def test_freed_memory_is_reused_without_page_faults():
    kept, faults = _run(None)
    assert kept
    assert faults < 200   # ten steps of 36 MB: 88,000 pages if every array came from fresh pages


def test_system_malloc_on_request():
    kept, faults = _run("system")
    assert not kept
    assert faults > 2_000   # glibc's defaults give the freed blocks back and fault them in again


# Training steps with glibc's defaults: their multi-megabyte arrays must come from the engine's pool,
# so that a step does not lean on the C library keeping freed memory (macOS's or Windows' allocators,
# or LAYERFORGE_MALLOC=system). Each script trains three steps, then prints the page faults of five.
_SETUP = """
import resource
import numpy as np
import layerforge.engine as lf
from layerforge.engine import nn
rng = np.random.default_rng(0)
x = lf.tensor(rng.standard_normal((64, 3, 32, 32)).astype(np.float32))
y = lf.tensor(rng.integers(0, 10, 64))
"""
_TRAIN = """
opt = lf.optim.SGD(model.parameters(), lr=0.01)

def step():
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()

for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
# the CIFAR-10 example's architecture: padded 3x3 convs, batch norm, ReLU, max-pool, a linear head
_CNN = """
layers = []
for cin, cout in ((3, 16), (16, 32), (32, 64)):
    layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(64 * 4 * 4, 10))
"""
# a residual block: a tensor used three times (its gradient summed), Tensor.relu, add and multiply
_RESIDUAL = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.head = nn.Linear(16 * 16 * 16, 10)

    def forward(self, x):
        h = self.bn(self.conv(x)).relu()
        h = h + self.conv2(h) * h
        return self.head(nn.functional.max_pool2d(h, 2).flatten(1))

model = Net()
"""


@pytest.mark.parametrize("model", [_CNN, _RESIDUAL], ids=["cifar10-cnn", "residual-block"])
def test_a_training_step_reuses_the_engines_buffers_without_malloc_keeping_memory(model):
    env = dict(os.environ, LAYERFORGE_MALLOC="system", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", _SETUP + model + _TRAIN], capture_output=True, text=True,
                          env=env, check=True)
    faults = int(done.stdout.split()[-1])
    # five steps; before the batch norm, convolution, residual-sum and activation arrays came from
    # the pool the two read 8,557 and over 18,000
    assert faults < 250
