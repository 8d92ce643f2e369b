"""Activation chains (SiLU forward and backward, Sigmoid's, Tanh's and exact GELU's backward) run a
cache-sized block at a time on large arrays (``ops/cache_blocks.py``): the same bits as the whole-array
chain, every element once, a ragged last block, and the whole-array chain where an operand is not a
contiguous array of the output's shape."""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops import cache_blocks
from layerforge.engine.ops.cache_blocks import in_blocks

SHAPE = (3, 5, 41, 37)   # 22,755 values: 6 blocks of 4,096 float32 values, the last ragged


def _values_and_grads(module, x, g):
    xs = lf.tensor(x, requires_grad=True)
    out = module(xs * 1.0)          # an inner node: the input's gradient is the chain's own array
    out.backward(lf.tensor(g))
    return out.detach().numpy().copy(), xs.grad.numpy().copy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["SiLU", "Sigmoid", "Tanh", "GELU"])
def test_blocked_chains_are_the_whole_chains_bit_for_bit(monkeypatch, name, dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(SHAPE) * 4).astype(dtype)
    x.reshape(-1)[:4] = [0.0, -0.0, 90.0, -90.0]        # exp(-a) overflowing, signed zeros
    g = rng.standard_normal(SHAPE).astype(dtype)
    whole = _values_and_grads(getattr(lf.nn, name)(), x, g)
    slices = []
    original = cache_blocks.in_blocks

    def counting(chain, *arrays):
        def counted(*parts):
            slices.append(parts[0].size)
            chain(*parts)
        original(counted, *arrays)
    for module in ("activation", "elementwise"):
        monkeypatch.setattr(f"layerforge.engine.ops.{module}.in_blocks", counting)
    monkeypatch.setattr(cache_blocks, "BLOCK_BYTES", 4096 * np.dtype(dtype).itemsize)
    blocked = _values_and_grads(getattr(lf.nn, name)(), x, g)
    assert len(slices) >= 6 and max(slices) == 4096        # blocks were taken
    for a, b in zip(blocked, whole):
        np.testing.assert_array_equal(a, b)


def test_every_element_once_in_blocks_with_a_ragged_last_one(monkeypatch):
    monkeypatch.setattr(cache_blocks, "BLOCK_BYTES", 64)
    out = np.zeros(1001, dtype=np.float32)
    source = np.arange(1001, dtype=np.float32)
    sizes = []

    def chain(o, s):
        sizes.append(o.size)
        o += s + 1
    in_blocks(chain, out, source)
    np.testing.assert_array_equal(out, source + 1)
    assert sizes == [16] * 62 + [9]


@pytest.mark.parametrize("case", ["small", "strided", "broadcast", "other shape"])
def test_whole_arrays_where_blocks_do_not_apply(monkeypatch, case):
    monkeypatch.setattr(cache_blocks, "BLOCK_BYTES", 64)
    n = 8 if case == "small" else 400
    out = np.zeros(n, dtype=np.float32)
    source = {"strided": np.arange(2 * n, dtype=np.float32)[::2],
              "broadcast": np.broadcast_to(np.float32(2), (n,)),
              "other shape": np.arange(n, dtype=np.float32).reshape(1, n)}.get(case, np.arange(n, dtype=np.float32))
    sizes = []

    def chain(o, s):
        sizes.append(o.size)
        np.add(o, s, out=o, casting="unsafe") if s.ndim == 1 else np.add(o, s[0], out=o)
    in_blocks(chain, out, source)
    assert sizes == [n]
    np.testing.assert_array_equal(out, np.asarray(source).reshape(-1)[:n] if case != "broadcast" else 2)
