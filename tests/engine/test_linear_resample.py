"""Linear, bilinear and trilinear interpolation of finite CPU inputs run as one matrix product per
axis (``ResampleAlongAxis``): PyTorch's values and gradients; inputs holding inf or NaN keep the
neighbour-gathering path, so a non-finite value reaches only the outputs that read it."""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf

from engine_oracle import leaf_pair, node_types, torch

F = lf.nn.functional


@pytest.mark.parametrize("shape, kwargs", [
    ((4, 3, 16, 16), dict(scale_factor=2, mode="bilinear")),
    ((2, 3, 5, 4), dict(size=(9, 7), mode="bilinear", align_corners=True)),
    ((2, 3, 6, 8), dict(scale_factor=0.5, mode="bilinear")),
    ((2, 3, 7), dict(size=20, mode="linear")),
    ((1, 2, 3, 4, 5), dict(scale_factor=(2, 1.5, 2), mode="trilinear")),
])
def test_resampling_matches_torch(shape, kwargs):
    ours, theirs = leaf_pair(shape)
    out, expected = F.interpolate(ours, **kwargs), torch.nn.functional.interpolate(theirs, **kwargs)
    assert "ResampleAlongAxis" in node_types(out)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = np.random.default_rng(1).standard_normal(expected.shape).astype(np.float32)
    out.backward(lf.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")  # inf * 0, as intended
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_inputs_reach_only_their_neighbours(bad):
    ours, theirs = leaf_pair((1, 1, 4, 6))
    with lf.no_grad():
        ours[0, 0, 1, 2] = bad
    with torch.no_grad():
        theirs[0, 0, 1, 2] = bad
    out = F.interpolate(ours, scale_factor=2, mode="bilinear")
    expected = torch.nn.functional.interpolate(theirs, scale_factor=2, mode="bilinear")
    assert "ResampleAlongAxis" not in node_types(out)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert np.isfinite(out.detach().numpy()[0, 0, 6:]).all()   # rows far from the bad value stay finite


def test_resampling_gradient_is_exact_in_float64():
    x = lf.tensor(np.random.default_rng(2).uniform(-1, 1, (1, 2, 3, 4)), dtype=lf.float64, requires_grad=True)
    assert lf.gradcheck(lambda t: F.interpolate(t, size=(5, 7), mode="bilinear", align_corners=True), [x])
    assert lf.gradcheck(lambda t: F.interpolate(t[..., 0], scale_factor=2.5, mode="linear"), [x])


def test_long_axes_keep_the_gathers():
    # 1,100 -> 1,500 positions: a matrix of 1.65 M weights and 1,100 multiply-adds per output value
    ours, theirs = leaf_pair((1, 2, 1100))
    out = F.interpolate(ours, size=1500, mode="linear")
    assert "ResampleAlongAxis" not in node_types(out)
    np.testing.assert_allclose(out.detach().numpy(),
                               torch.nn.functional.interpolate(theirs, size=1500, mode="linear").detach().numpy(),
                               rtol=1e-5, atol=1e-6)
