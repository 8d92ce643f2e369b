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


# The CIFAR-10 example's step (padded 3x3 convs, batch norm, ReLU, max-pool; a linear head), with
# glibc's defaults: its multi-megabyte arrays (padded inputs, batch norm's output and input gradient,
# the batch-last conv's output) come from the engine's pool, so the step does not lean on the C
# library keeping freed memory (macOS's or Windows' allocators, or LAYERFORGE_MALLOC=system).
_CNN_STEPS = """
import resource
import numpy as np
import layerforge.engine as lf
from layerforge.engine import nn

layers = []
for cin, cout in ((3, 16), (16, 32), (32, 64)):
    layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(64 * 4 * 4, 10))
opt = lf.optim.SGD(model.parameters(), lr=0.01)
rng = np.random.default_rng(0)
x = lf.tensor(rng.standard_normal((64, 3, 32, 32)).astype(np.float32))
y = lf.tensor(rng.integers(0, 10, 64))

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


def test_a_cnn_step_reuses_the_engines_buffers_without_malloc_keeping_memory():
    env = dict(os.environ, LAYERFORGE_MALLOC="system", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", _CNN_STEPS], capture_output=True, text=True, env=env,
                          check=True)
    faults = int(done.stdout.split()[-1])
    assert faults < 250   # five steps; before the batch norm and padded convs used the pool, ~9,000
