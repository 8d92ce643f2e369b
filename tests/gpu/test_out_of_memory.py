"""GPU out-of-memory becomes a clear error (how much was asked, what is free) and a failed run.

No GPU is needed: cupy's OutOfMemoryError is stood in for by a fake cupy module that the backend
sees as loaded, so these run everywhere; on a device machine tests/gpu/test_gpu_training.py adds
the real thing.
"""
from __future__ import annotations

import types

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.data import load_dataset
from layerforge.engine import backend
from layerforge.engine.ops import dense
from layerforge.graph import get_template
from layerforge.training import Trainer, TrainingSettings
from layerforge.training.examples import spec_for_dataset

GIB = 2 ** 30


class FakeOutOfMemoryError(MemoryError):
    """What cupy raises: its message carries the size asked for."""

    def __init__(self, size):
        super().__init__(f"Out of memory allocating {size:,} bytes (allocated so far: 123 bytes).")


@pytest.fixture
def fake_cupy(monkeypatch):
    pool = types.SimpleNamespace(free_bytes=lambda: 64 * 2 ** 20)
    runtime = types.SimpleNamespace(getDevice=lambda: 0, memGetInfo=lambda: (512 * 2 ** 20, 80 * GIB),
                                    getDeviceCount=lambda: 1,
                                    getDeviceProperties=lambda i: {"name": b"Fake GPU"})
    cupy = types.SimpleNamespace(
        ndarray=type("ndarray", (), {}),
        get_default_memory_pool=lambda: pool,
        cuda=types.SimpleNamespace(memory=types.SimpleNamespace(OutOfMemoryError=FakeOutOfMemoryError),
                                   runtime=runtime))
    monkeypatch.setattr(backend, "_cupy", cupy)
    return cupy


def test_an_out_of_memory_forward_says_what_was_asked_and_what_is_free(fake_cupy, monkeypatch):
    def forward(self, x, weight, bias=None):
        raise FakeOutOfMemoryError(2 * GIB)

    monkeypatch.setattr(dense.Linear, "forward", forward)
    layer = lf.nn.Linear(4, 3)
    with pytest.raises(backend.DeviceOutOfMemoryError) as caught:
        layer(lf.ones(2, 4))
    message = str(caught.value)
    assert "cuda:0 (Fake GPU) is out of memory in Linear.forward on shapes [(2, 4), (3, 4), (3,)]" in message
    assert "2.00 GiB was asked for, 512.00 MiB is free on the device" in message
    assert "64.00 MiB cached in cupy's pool" in message and "of 80.00 GiB in all" in message
    assert "smaller batch size" in message
    assert caught.value.requested == 2 * GIB and caught.value.free == 512 * 2 ** 20
    assert isinstance(caught.value.__cause__, FakeOutOfMemoryError)


def test_a_cpu_memory_error_is_left_as_it_is(fake_cupy, monkeypatch):
    def forward(self, x, weight, bias=None):
        raise MemoryError("Unable to allocate 3.00 GiB for an array")

    monkeypatch.setattr(dense.Linear, "forward", forward)
    with pytest.raises(MemoryError, match="Unable to allocate") as caught:
        lf.nn.Linear(4, 3)(lf.ones(2, 4))
    assert not isinstance(caught.value, backend.DeviceOutOfMemoryError)


def test_the_trainer_turns_gpu_out_of_memory_in_backward_into_a_failed_run(fake_cupy, monkeypatch):
    spiral = load_dataset("spiral")
    template = get_template("mlp_classifier")
    settings = TrainingSettings.from_template(template, device="cpu", epochs=2, snapshot_every=0)
    trainer = Trainer(spec_for_dataset(template, spiral), spiral, settings)
    before = {k: v.detach().numpy().copy() for k, v in trainer.model.state_dict().items()}

    def backward(self, g):
        raise FakeOutOfMemoryError(3 * 2 ** 20)

    monkeypatch.setattr(dense.Linear, "backward", backward)
    result = trainer.run()
    assert result.status == "failed"
    assert "DeviceOutOfMemoryError" in result.reason
    assert "out of memory in a training step: 3.00 MiB was asked for, 512.00 MiB is free" in result.reason
    assert isinstance(result.error, backend.DeviceOutOfMemoryError)
    after = trainer.model.state_dict()
    assert all(np.array_equal(before[k], after[k].detach().numpy()) for k in before)
