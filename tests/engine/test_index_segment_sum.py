"""Indexing's backward with one sorted integer array along one axis sums each run of equal indices
in one segment sum (``add.reduceat``) instead of ``add.at``'s one element at a time: the same sums
(to rounding) for every such index, and the other forms of index still go through ``add.at``."""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops.index import _sorted_rows_sum


@pytest.mark.parametrize("shape, axis, rows", [
    ((4, 3, 16, 16), 2, np.repeat(np.arange(16), 2)),        # nearest upsampling by 2
    ((4, 3, 8, 8), 3, np.array([0, 0, 0, 1, 2, 2, 4, 4, 4, 4, 5, 7, 7])),
    ((10, 5), 0, np.array([0, 0, 0, 3, 3, 9, -1])),          # -1 is row 9: one run with the 9
    ((6, 4), 1, np.array([0, 1, 2, 3], dtype=np.uint8)),
])
def test_sorted_index_sums_like_add_at(shape, axis, rows):
    rng = np.random.default_rng(0)
    grad_shape = list(shape)
    grad_shape[axis] = len(rows)
    g = rng.standard_normal(grad_shape).astype(np.float32)
    index = (slice(None),) * axis + (rows,)
    expected, got = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    np.add.at(expected, index, g)
    assert _sorted_rows_sum(got, index, g)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("index", [
    (slice(None), np.array([2, 0, 1])),                       # not sorted
    (np.array([0, 1]), np.array([1, 2])),                     # two arrays
    (slice(1, None), np.array([0, 1])),                       # a partial slice
    (np.array([[0, 1], [1, 2]]),),                            # a 2-D index
    (np.array([True, False, True]),),                         # a mask
], ids=["unsorted", "two-arrays", "partial-slice", "2d-index", "mask"])
def test_other_indices_are_left_to_add_at(index):
    target = np.zeros((3, 3), np.float32)
    g = np.ones(np.zeros((3, 3))[index].shape, np.float32)
    assert not _sorted_rows_sum(target, index, g)
    assert not target.any()


def test_nearest_upsampling_gradient_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 7)).astype(np.float32)
    weight = np.random.default_rng(2).standard_normal((2, 3, 10, 21)).astype(np.float32)
    ours, theirs = lf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (lf.nn.functional.interpolate(ours, scale_factor=(2, 3)) * lf.tensor(weight)).sum().backward()
    (torch.nn.functional.interpolate(theirs, scale_factor=(2, 3)) * torch.tensor(weight)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)
