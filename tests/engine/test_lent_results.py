"""Large CPU results that used to be fresh arrays each step (a reshape that must copy, a batched
product, a scaled array, a softmax's shifted scores, the halving row maximum's scratch) come from the
workspace's pool: the same values, and a result still held keeps them while later steps run."""
from __future__ import annotations

import numpy as np

import layerforge.engine as lf
from layerforge.engine.ops.rows import row_max


def _big(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_a_reshape_that_must_copy_gives_the_values_and_keeps_them():
    x = lf.tensor(_big(0, (32, 64, 64)), requires_grad=True)
    held = x.transpose(1, 2).reshape(32, -1)               # a transpose: no view, a copy
    expected = x.detach().numpy().transpose(0, 2, 1).reshape(32, -1).copy()
    for seed in range(3):
        lf.tensor(_big(seed + 1, (32, 64, 64))).transpose(1, 2).reshape(32, -1).sum()
    np.testing.assert_array_equal(held.detach().numpy(), expected)
    held.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((32, 64, 64), np.float32))


def test_batched_products_and_scaled_scores_keep_their_values():
    q, k = _big(1, (16, 4, 64, 32)), _big(2, (16, 4, 32, 64))
    a, b = lf.tensor(q, requires_grad=True), lf.tensor(k, requires_grad=True)
    scores = (a @ b) * 0.125
    held = scores.detach().numpy().copy()
    for seed in range(3):  # later products of the same shapes reuse pooled buffers
        (lf.tensor(_big(seed + 3, q.shape)) @ lf.tensor(_big(seed + 4, k.shape))) * 0.5
    np.testing.assert_allclose(held, (q @ k) * 0.125, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(scores.detach().numpy(), held)
    lf.nn.functional.softmax(scores, dim=-1).sum().backward()
    assert a.grad.shape == q.shape and b.grad.shape == k.shape


def test_an_integer_array_scaled_by_a_float_is_not_forced_into_its_dtype():
    """PyTorch's promotion (integers times a float: the default float dtype), large or small."""
    for size in (16, 200_000):
        scaled = lf.tensor(np.arange(size).reshape(4, -1)) * 0.5
        assert scaled.dtype == lf.float32
        assert float(scaled.numpy()[0, 3]) == 1.5


def test_the_halving_row_maximum_of_a_large_array_is_numpys():
    a = _big(5, (8192, 37))     # rows of 37 (halved, an odd one out), 1.2 MiB: the pooled scratch
    a[3, 36] = 99.0
    a[7, 5] = np.nan
    a[9] = -np.inf
    for _ in range(2):
        np.testing.assert_array_equal(row_max(np, a), a.max(axis=-1, keepdims=True))
