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
