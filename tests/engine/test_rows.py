"""The last-axis reductions of ops/rows.py (normalisation statistics, softmax): the halving max is
numpy's max exactly, NaN and infinities included; the BLAS sums and dot products are numpy's to
float32 rounding; short rows and other layouts fall back to numpy's own reductions."""
from __future__ import annotations

import numpy as np
import pytest

from layerforge.engine.ops.rows import BLAS_ROW, row_dots, row_max, row_sums


@pytest.mark.parametrize("length", [1, 2, 3, 15, 16, 17, 31, 32, 33, 37, 64, 100, 127, 128, 129, 1000])
def test_row_max_is_numpys_max(length):
    a = np.random.default_rng(length).standard_normal((3, 7, length)).astype(np.float32)
    a[0, 0, -1] = 50.0            # the largest value last: an odd row's leftover must count
    a[1, 2, :] = -np.inf          # a fully masked row
    a[2, 3, length // 2] = np.nan
    a[2, 4, 0] = np.inf
    got = row_max(np, a)
    assert got.shape == (3, 7, 1) and got.dtype == a.dtype
    np.testing.assert_array_equal(got, a.max(axis=-1, keepdims=True))


@pytest.mark.parametrize("shape", [(5, 3), (4, 6, 16), (2, 3, 100), (0, 40), (3, 0)])
def test_row_sums_and_dots_match_numpy(shape):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(shape).astype(np.float32)
    b = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(row_sums(np, a), a.astype(np.float64).sum(axis=-1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(row_dots(np, a, b), (a.astype(np.float64) * b).sum(axis=-1), rtol=1e-5, atol=1e-5)
    assert row_sums(np, a).shape == row_dots(np, a, b).shape == shape[:-1]


def test_row_sums_of_a_strided_view():
    a = np.random.default_rng(2).standard_normal((6, 2 * BLAS_ROW)).astype(np.float32)
    view = a[::2, ::2]            # not contiguous: numpy's sum
    np.testing.assert_allclose(row_sums(np, view), view.sum(axis=-1), rtol=1e-6)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("length", [5, 40, 1000])
def test_log_softmax_along_the_last_axis_matches_pytorch(length):
    """The CPU last-axis log-softmax (row maximum, BLAS sums, the arrays of a step in the workspace),
    values and gradient; a row with a -inf (masked) entry and a row of large values included."""
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    import layerforge.engine as lf

    rng = np.random.default_rng(length)
    x = (rng.standard_normal((6, length)) * 4).astype(np.float32)
    x[1, 0] = -np.inf
    x[2] += 80.0
    upstream = rng.standard_normal(x.shape).astype(np.float32)
    ours, theirs = lf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = lf.nn.functional.log_softmax(ours, dim=-1), torch.log_softmax(theirs, dim=-1)
    (out * lf.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("function", ["softmax", "log_softmax"])   # (log-softmax always shifts)
@pytest.mark.parametrize("shift, special", [
    (0.0, None), (60.0, None), (-70.0, None),       # exp of the values as they are
    (85.0, None), (-95.0, None), (500.0, None),     # beyond: shifted by the row maxima
    (0.0, np.inf), (0.0, -np.inf), (0.0, np.nan)])
def test_softmax_along_the_last_axis_with_and_without_the_shift_matches_pytorch(function, shift, special):
    """Values whose exp and row sums stay finite and normal take exp(x) / sum (no shift by the row
    maxima); larger or smaller ones, infinities and NaN take the shift. Both are PyTorch's softmax."""
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    import layerforge.engine as lf
    from layerforge.engine.ops import reduce

    rng = np.random.default_rng(3)
    x = (rng.standard_normal((8, 4, 32, 32)) * 3 + shift).astype(np.float32)
    if special is not None:
        x[1, 2, 3, 4] = special
    assert reduce._exp_is_safe(x) == (special is None and abs(shift) < 80)
    upstream = rng.standard_normal(x.shape).astype(np.float32)
    ours, theirs = lf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = getattr(lf.nn.functional, function)(ours, dim=-1)
    expected = getattr(torch.nn.functional, function)(theirs, dim=-1)
    (out * lf.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=2e-5, atol=1e-6)
