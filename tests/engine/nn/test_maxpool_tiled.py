"""MaxPool2d's backward for windows that tile the input exactly (kernel == stride, no padding, sizes
divisible: the usual 2x2 pooling) routes each window's gradient to the same element as PyTorch's
index: the first maximum when several tie (all-zero windows after a ReLU), and a NaN when there is
one. Planes that do not tile go through the general path, checked here too."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops import pool

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


def _grads(x, kernel, stride, padding=0):
    ours = lf.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out = lf.nn.functional.max_pool2d(ours, kernel, stride, padding)
    expected = torch.nn.functional.max_pool2d(theirs, kernel, stride, padding)
    upstream = np.random.default_rng(5).standard_normal(tuple(expected.shape)).astype(np.float32)
    (out * lf.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    return out.detach().numpy(), expected.detach().numpy(), ours.grad.numpy(), theirs.grad.numpy()


@pytest.mark.parametrize("kernel", [2, 3, (2, 3)])
def test_tiled_windows_with_ties_and_a_nan_match_pytorch(kernel):
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    rng = np.random.default_rng(0)
    x = np.maximum(rng.standard_normal((2, 3, 4 * k[0], 3 * k[1])), 0).astype(np.float32)  # many 0 ties
    x[0, 0, :k[0], :k[1]] = 1.5  # a whole window of equal maxima
    x[1, 2, 1, 1] = np.nan
    node = pool.MaxPool2d(k, k, (0, 0), (1, 1), False)
    node.forward(x)
    assert node._tiles_exactly()
    out, expected, grad, expected_grad = _grads(x, k, k)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(grad, expected_grad)


@pytest.mark.parametrize("shape, kernel, stride, padding", [((2, 3, 7, 9), 2, 2, 0), ((2, 3, 8, 8), 2, 2, 1),
                                                            ((2, 3, 9, 9), 3, 2, 0)])
def test_planes_that_do_not_tile_take_the_general_path(shape, kernel, stride, padding):
    x = np.maximum(np.random.default_rng(1).standard_normal(shape), 0).astype(np.float32)
    node = pool.MaxPool2d((kernel, kernel), (stride, stride), (padding, padding), (1, 1), False)
    node.forward(x)
    assert not node._tiles_exactly()
    out, expected, grad, expected_grad = _grads(x, kernel, stride, padding)
    np.testing.assert_array_equal(out, expected)
    # overlapping windows add several gradients into one input, in another order than PyTorch
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-6, atol=1e-6)


def _tied_input(shape, kh, kw, seed):
    """Ties everywhere (ReLU zeros, a window of equal maxima, equal maxima down a column and along a
    row), infinities, an all -inf window and negative zeros."""
    rng = np.random.default_rng(seed)
    x = np.maximum(rng.standard_normal(shape), 0).astype(np.float32)
    x[0, 0, :kh, :kw] = 1.5
    x[0, 1, :kh, 0] = 2.5
    x[1, 0, kh - 1, :kw] = 3.5
    x[1, 1, 0, :3] = [np.inf, -np.inf, -0.0]
    x[-1, -1, kh:2 * kh, kw:2 * kw] = -np.inf
    x[-1, 0, :kh, :kw] = -0.0
    return x


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # the summed loss of infinite maxima
@pytest.mark.parametrize("kernel", [(4, 4), (8, 8), (4, 8), (8, 4), (5, 4), (16, 16)])
def test_large_tiling_windows_find_pytorchs_element_by_gathering(kernel):
    """Adaptive pooling to a small grid and global pooling: 16 values or more a window."""
    kh, kw = kernel
    x = _tied_input((3, 4, 2 * kh, 2 * kw if kernel != (16, 16) else kw), kh, kw, seed=11)
    node = pool.MaxPool2d(kernel, kernel, (0, 0), (1, 1), False)
    node.forward(x)
    assert node._tiles_exactly() and "columns" in node.__dict__
    assert kh * kw >= pool.MaxPool2d.GATHER_FROM_KERNEL
    out, expected, grad, expected_grad = _grads(x, kernel, kernel)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(grad, expected_grad)


@pytest.mark.parametrize("kernel", [(4, 4), (8, 8), (2, 2), (3, 3)])
def test_every_tiling_backward_sends_each_window_to_the_same_element(kernel, monkeypatch):
    """The gathering backward against the rows-then-columns one, the one-offset-at-a-time one and (2x2)
    the one by 64-bit words, on the same tied input, whichever kernel size would normally choose them."""
    kh, kw = kernel
    x = _tied_input((3, 5, 3 * kh, 2 * kw), kh, kw, seed=12)
    upstream = np.random.default_rng(13).standard_normal((3, 5, 3, 2)).astype(np.float32)
    masks = []
    for gather, two_stage, pairs in ((0, 0, False), (1 << 40, 0, False), (1 << 40, 1 << 40, False),
                                     (1 << 40, 1 << 40, True)):
        monkeypatch.setattr(pool.MaxPool2d, "PAIRS_AS_WORDS", pairs)
        monkeypatch.setattr(pool.MaxPool2d, "GATHER_FROM_KERNEL", gather)
        monkeypatch.setattr(pool.MaxPool2d, "ROWS_THEN_COLUMNS_FROM", two_stage)
        monkeypatch.setattr(pool.MaxPool2d, "ROWS_THEN_COLUMNS_KERNEL", two_stage)
        node = pool.MaxPool2d(kernel, kernel, (0, 0), (1, 1), False)
        node.forward(x)
        masks.append(np.asarray(node.backward(upstream)) != 0)
    assert masks[0].sum() == upstream.size  # one element per window
    for other in masks[1:]:
        np.testing.assert_array_equal(masks[0], other)


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # the summed loss of infinite maxima
def test_adaptive_max_pooling_to_a_small_grid_matches_pytorch():
    """32 -> 4 (8x8 bins) through the tiling node, gradient and all; elsewhere in each bin 0.0, also
    where the upstream gradient is infinite, as PyTorch's zero-filled gradient has it."""
    x = _tied_input((2, 3, 32, 32), 8, 8, seed=14)
    ours, theirs = lf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = lf.nn.AdaptiveMaxPool2d(4)(ours)
    expected = torch.nn.AdaptiveMaxPool2d(4)(theirs)
    upstream = np.random.default_rng(15).standard_normal((2, 3, 4, 4)).astype(np.float32)
    upstream[0, 0, 0, 0] = np.inf
    (out * lf.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    assert not np.isnan(ours.grad.numpy()).any()


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # the summed loss of infinite maxima
@pytest.mark.parametrize("plane", [(16, 16), (32, 32), (16, 32), (8, 8)])
@pytest.mark.parametrize("with_nan", [False, True], ids=["finite", "a_nan"])
def test_global_max_pooling_matches_pytorch(plane, with_nan):
    """AdaptiveMaxPool2d(1): one window a plane (whole-plane maximum from 256 values, the separable
    maxima below); ties go to the first maximum, a NaN plane to its NaN."""
    h, w = plane
    x = _tied_input((3, 4, h, w), 4, 4, seed=16)
    x[2, 2] = 0.0                    # a plane of equal values
    x[2, 3, h - 1, w - 1] = 7.0      # the maximum in the last place
    if with_nan:
        x[0, 3, 1, 2] = np.nan
    node = pool.MaxPool2d(plane, plane, (0, 0), (1, 1), False)
    node.forward(x)
    assert ("columns" in node.__dict__) == (h * w < pool.MaxPool2d.WHOLE_PLANE_FROM)
    ours, theirs = lf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = lf.nn.AdaptiveMaxPool2d(1)(ours)
    expected = torch.nn.AdaptiveMaxPool2d(1)(theirs)
    upstream = np.random.default_rng(17).standard_normal((3, 4, 1, 1)).astype(np.float32)
    (out * lf.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
