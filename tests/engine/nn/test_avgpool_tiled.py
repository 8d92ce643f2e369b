"""Average pooling over windows that tile the plane (kernel == stride, no padding, divisible; and
adaptive bins that divide it) sums each tile by columns then rows, and spreads the gradient by a
repeat along the row and a copy down the tile: PyTorch's values and gradients, within float32
rounding of the sums, and the untiled paths still PyTorch's too."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops import pool_average

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


def _both(x, make):
    ours, theirs = lf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = make(lf.nn)(ours), make(torch.nn)(theirs)
    upstream = np.random.default_rng(3).standard_normal(tuple(expected.shape)).astype(np.float32)
    (out * lf.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kernel", [2, 3, 4, 8, (2, 4), (8, 2), 16])
@pytest.mark.parametrize("options", [{}, {"divisor_override": 3}, {"ceil_mode": True}],
                         ids=["plain", "divisor", "ceil"])
def test_tiling_average_pooling_matches_pytorch(kernel, options):
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = np.random.default_rng(0).standard_normal((3, 4, 3 * k[0], 2 * k[1])).astype(np.float32)
    node = pool_average.AvgPool2d(k, k, (0, 0), False, True)
    node.forward(x)
    assert node.tiled
    _both(x, lambda nn: nn.AvgPool2d(kernel, **options))


@pytest.mark.parametrize("shape, kernel, stride, padding", [((2, 3, 9, 10), 2, 2, 0), ((2, 3, 8, 8), 2, 2, 1),
                                                            ((2, 3, 9, 9), 3, 2, 0), ((2, 3, 8, 8), 4, 4, 2)])
def test_untiled_average_pooling_matches_pytorch(shape, kernel, stride, padding):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    node = pool_average.AvgPool2d((kernel, kernel), (stride, stride), (padding, padding), False, True)
    node.forward(x)
    assert not node.tiled
    _both(x, lambda nn: nn.AvgPool2d(kernel, stride, padding))
    _both(x, lambda nn: nn.AvgPool2d(kernel, stride, padding, count_include_pad=False))


@pytest.mark.parametrize("plane, size", [((32, 32), 4), ((32, 32), 1), ((14, 14), 7), ((16, 32), (2, 4)),
                                         ((24, 24), 1), ((10, 12), (5, 3)), ((13, 17), (4, 3)), ((32, 32), 3),
                                         ((28, 28), 5), ((14, 14), (5, 3)), ((8, 8), 16), ((7, 9), (3, 9))])
def test_adaptive_average_pooling_matches_pytorch(plane, size):
    """Bins that divide the plane (global pooling included) take the tiling sums; bins that do not
    (overlapping by a position, or more bins than positions) the bin-matrix sums."""
    x = np.random.default_rng(2).standard_normal((3, 5) + plane).astype(np.float32)
    _both(x, lambda nn: nn.AdaptiveAvgPool2d(size))


def test_tiling_average_pooling_of_a_transposed_input():
    """A non-contiguous input (channels and planes swapped) pools as its contiguous copy does."""
    x = np.random.default_rng(4).standard_normal((2, 16, 16, 8)).astype(np.float32).transpose(0, 3, 1, 2)
    _both(x, lambda nn: nn.AvgPool2d(8))
    _both(x, lambda nn: nn.AdaptiveAvgPool2d(2))


def test_integer_planes_average_to_floats_on_the_tiling_shapes():
    """Integers keep the untiled paths' answer (float averages) rather than a casting error."""
    x = lf.tensor(np.arange(2 * 16).reshape(2, 1, 4, 4))
    for pooled in (lf.nn.functional.avg_pool2d(x, 2), lf.nn.functional.adaptive_avg_pool2d(x, 2)):
        assert pooled.dtype == lf.float64
        np.testing.assert_array_equal(pooled.numpy()[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    uneven = lf.nn.functional.adaptive_avg_pool2d(x, 3)   # bins [0, 2), [1, 3), [2, 4) each way
    np.testing.assert_array_equal(uneven.numpy()[0, 0], [[2.5, 3.5, 4.5], [6.5, 7.5, 8.5], [10.5, 11.5, 12.5]])
