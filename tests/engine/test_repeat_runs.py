"""Nearest upsampling by whole factors and ``repeat_interleave`` by one count run as one repeat node
(``RepeatRuns``): the same values as PyTorch, gradients that add each run, and every other resize or
count left to indexing."""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops.rearrange import RepeatRuns

from engine_oracle import leaf_pair, node_types, torch

F = lf.nn.functional


@pytest.mark.parametrize("shape, kwargs", [
    ((4, 3, 16, 16), dict(scale_factor=2)),                     # the usual 2x upsampling
    ((2, 3, 5, 4), dict(scale_factor=(3, 1))),                  # one axis grows by 3, one stays
    ((2, 3, 7), dict(size=21)),                                 # 1-D, by size
    ((1, 2, 2, 3, 2), dict(scale_factor=2)),                    # 3-D
    ((2, 2, 4, 5), dict(scale_factor=2, mode="nearest-exact")),
    ((2, 2, 4, 5), dict(size=(8, 7))),                          # whole factor on one axis only
])
def test_whole_factor_upsampling_matches_torch(shape, kwargs):
    ours, theirs = leaf_pair(shape)
    out, expected = F.interpolate(ours, **kwargs), torch.nn.functional.interpolate(theirs, **kwargs)
    assert "RepeatRuns" in node_types(out)
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    g = np.random.default_rng(1).standard_normal(expected.shape).astype(np.float32)
    out.backward(lf.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kwargs", [dict(size=(5, 7)), dict(scale_factor=0.5), dict(scale_factor=1.5)])
def test_other_resizes_index(kwargs):
    ours, theirs = leaf_pair((1, 2, 4, 6))
    out = F.interpolate(ours, **kwargs)
    assert "RepeatRuns" not in node_types(out)
    np.testing.assert_array_equal(out.detach().numpy(),
                                  torch.nn.functional.interpolate(theirs, **kwargs).detach().numpy())


def test_resizing_to_the_same_size_returns_a_copy():
    ours, _ = leaf_pair((1, 2, 3, 4))
    out = F.interpolate(ours, size=(3, 4))
    with lf.no_grad():
        out.mul_(0)
    assert np.abs(ours.detach().numpy()).sum() > 0


@pytest.mark.parametrize("repeats, dim", [(2, 1), (3, 0), (2, None), ([4], 1)])
def test_repeat_interleave_by_one_count(repeats, dim):
    ours, theirs = leaf_pair((3, 4))
    count = lf.tensor(repeats) if isinstance(repeats, list) else repeats
    out = ours.repeat_interleave(count, dim=dim)
    expected = theirs.repeat_interleave(torch.tensor(repeats) if isinstance(repeats, list) else repeats, dim=dim)
    assert isinstance(out.grad_fn, RepeatRuns)
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


def test_repeat_interleave_by_one_is_a_copy():
    ours, _ = leaf_pair((3, 4))
    out = ours.repeat_interleave(1, dim=0)
    with lf.no_grad():
        out.mul_(0)
    assert np.abs(ours.detach().numpy()).sum() > 0


def test_runs_gradient_is_exact_in_float64():
    x = lf.tensor(np.random.default_rng(2).uniform(-1, 1, (2, 3, 2)), dtype=lf.float64, requires_grad=True)
    assert lf.gradcheck(lambda t: F.interpolate(t, scale_factor=4) * t.repeat_interleave(4, dim=2), [x])


@pytest.mark.parametrize("kwargs", [dict(scale_factor=0), dict(size=(0, 4)), dict(scale_factor=-2),
                                    dict(size=(-1, 3))])
def test_sizes_below_one_are_refused_as_pytorch_does(kwargs):
    ours, theirs = leaf_pair((1, 2, 3, 4))
    with pytest.raises(RuntimeError) as expected:
        torch.nn.functional.interpolate(theirs, **kwargs)
    with pytest.raises(RuntimeError, match="Input and output sizes should be greater than 0") as got:
        F.interpolate(ours, **kwargs)
    assert str(got.value) == str(expected.value).split("\n")[0]


@pytest.mark.parametrize("repeats", [-1, [1, -2, 0]])
def test_negative_repeats_are_refused(repeats):
    ours, _ = leaf_pair((3, 4))
    count = lf.tensor(repeats) if isinstance(repeats, list) else repeats
    with pytest.raises(RuntimeError, match="repeats must be non-negative"):
        ours.repeat_interleave(count, dim=0)
