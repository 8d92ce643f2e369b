"""The simulated GPU refuses what a real one refuses; otherwise its checks of the CUDA paths mean nothing.

These run in every suite (no GPU needed): they load tests/gpu/simulated_cupy.py under its own name,
without putting it in place of cupy, and hand it to the engine's backend only where a test says so.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import backend


def _load_simulator():
    spec = importlib.util.spec_from_file_location("simulated_cupy_under_test",
                                                  Path(__file__).with_name("simulated_cupy.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # not as "cupy": nothing else sees it
    spec.loader.exec_module(module)
    return module


sim = _load_simulator()


def test_a_device_array_is_not_a_numpy_array_and_will_not_turn_into_one():
    x = sim.asarray(np.arange(6.0).reshape(2, 3))
    assert isinstance(x, sim.ndarray) and not isinstance(x, np.ndarray)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(x)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.array(x, dtype=np.float32)
    # the explicit ways to the host work, and give copies
    host = sim.asnumpy(x)
    host[0, 0] = 99.0
    assert x.get()[0, 0] == 0.0 and x.tolist()[1] == [3.0, 4.0, 5.0] and float(x[1, 2]) == 5.0


def test_mixing_host_and_device_arrays_fails_everywhere_cupy_fails():
    x, host = sim.ones(3), np.ones(3)
    mixes = {
        "operator": lambda: x + host,
        "reflected operator": lambda: host * x,
        "in-place operator": lambda: x.__iadd__(host),
        "cupy function": lambda: sim.concatenate([x, host]),
        "cupy ufunc": lambda: sim.maximum(x, host),
        "ufunc out=": lambda: sim.add(x, x, out=host),
        "numpy function on device data": lambda: np.concatenate([x, host]),
        "setitem": lambda: x.__setitem__(slice(None), host),
        "method argument": lambda: x.dot(host),
    }
    for what, mix in mixes.items():
        with pytest.raises(TypeError):
            mix()
            pytest.fail(f"{what}: mixing a numpy array into device arrays was allowed")


def test_device_arrays_work_like_cupys():
    x = sim.asarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    y = (x * 2 + 1).sum(axis=0)
    assert isinstance(y, sim.ndarray) and y.get().tolist() == [27.0, 33.0, 39.0, 45.0]
    total = x.sum()
    assert isinstance(total, sim.ndarray) and total.ndim == 0 and float(total) == 66.0
    with pytest.raises(TypeError):
        range(total)  # a 0-d cupy array has no __index__; code must say int(...) itself
    x[0] = 5.0
    x[:, 1] += sim.ones(3, dtype=np.float32)
    assert x.get()[0].tolist() == [5.0, 6.0, 5.0, 5.0]
    # indices may be host data: cupy copies lists and numpy index arrays to the device itself
    assert x[np.array([2, 0])].get()[:, 0].tolist() == [8.0, 5.0]
    sim.add.at(x, (np.array([1, 1]), 0), 1.0)
    assert float(x[1, 0]) == 6.0
    assert isinstance(np.exp(x), sim.ndarray)  # numpy ufuncs dispatch to cupy on device data
    assert sim.get_array_module(x) is sim and sim.get_array_module(np.ones(1)) is np


def test_only_cupys_names_exist():
    numpy_only = sorted(name for name in dir(np) if not name.startswith("_") and callable(getattr(np, name))
                        and name not in sim.NAMES["cupy"])
    assert "insert" in numpy_only and "concatenate" not in numpy_only
    for name in numpy_only[:20]:
        with pytest.raises(AttributeError, match="module 'cupy' has no attribute"):
            getattr(sim, name)
    with pytest.raises(TypeError, match="cupy has no"):
        np.insert(sim.ones(2), 0, 5.0)  # a numpy-only function, on device data
    with pytest.raises(AttributeError, match="has no attribute 'permutation'"):
        sim.random.default_rng(0).permutation(5)  # cupy's Generator has none
    with pytest.raises(NotImplementedError, match="cannot run on the simulated GPU"):
        sim.ElementwiseKernel("T x", "T y", "y = x", "copy")


def test_a_huge_allocation_fails_as_out_of_memory_with_cupys_message():
    with pytest.raises(sim.cuda.memory.OutOfMemoryError, match=r"Out of memory allocating [\d,]+ bytes"):
        sim.zeros((2 ** 20, 2 ** 20), dtype=np.float32)


def test_the_engine_runs_on_the_simulated_gpu_and_keeps_data_there(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", sim)
    monkeypatch.setattr(backend, "_cupy_error", None)
    monkeypatch.setattr(lf.random, "_default_generators", {})
    layer = lf.nn.Linear(4, 2).to("cuda")
    optimizer = lf.optim.Adam(layer.parameters(), lr=0.1)
    x = lf.randn(8, 4, device="cuda")
    for _ in range(3):
        optimizer.zero_grad()
        loss = layer(x).pow(2).mean()
        loss.backward()
        optimizer.step()
    assert loss.device == lf.device("cuda:0") and isinstance(loss._data, sim.ndarray)
    assert all(isinstance(p.grad._data, sim.ndarray) for p in layer.parameters())
    assert all(isinstance(s["exp_avg"]._data, sim.ndarray) for s in optimizer.state.values())
    assert layer.weight.detach().cpu().numpy().shape == (2, 4)


def test_reads_from_the_device_are_counted_by_kind():
    x = sim.arange(4.0)
    sim.host_syncs.reset()
    float(x.sum())
    x[0].item()
    sim.asnumpy(x)
    bool(x[1] > 0)
    _ = (x * 2 + 1).reshape(2, 2).T  # device work alone reads nothing
    assert sim.host_syncs.counts == {"float": 1, "item": 1, "get": 1, "bool": 1}
    assert sim.host_syncs.total() == 4


def test_kernel_launches_are_counted_and_a_fused_function_is_one():
    x, y = sim.ones(4), sim.ones(4)
    sim.kernel_launches.reset()
    z = x * 2 + y  # two kernels
    x += 1  # one
    _ = x.reshape(2, 2).T  # views: none
    assert sim.kernel_launches.total() == 3

    @sim.fuse(kernel_name="axpy")
    def axpy(a, b, alpha):
        a *= alpha
        a += b

    sim.kernel_launches.reset()
    axpy(z, y, 0.5)
    assert sim.kernel_launches.counts == {"fused axpy": 1}
    assert z.get().tolist() == [2.5, 2.5, 2.5, 2.5]
