"""Adaptive max pooling over bins that do not tile the plane (ops/pool_adaptive.py), in 1-d, 2-d and
3-d: values, indices and gradients are PyTorch's to the bit. The gradient goes to one element per bin
(the index), also where a bin's maxima tie: after a ReLU a bin of zeros ties throughout, and the
composed version this node replaced split such a gradient over the tied elements. Neighbouring bins
may share a row or a column, so one element can take several outputs' gradients, summed in PyTorch's
order."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops import pool_adaptive

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


def _both(x, output_size, upstream_seed=5):
    """(ours, PyTorch's): values, indices and the input's gradient for a random upstream gradient."""
    results = []
    for module, make in ((lf, lambda a: lf.tensor(a, requires_grad=True)),
                         (torch, lambda a: torch.tensor(a, requires_grad=True))):
        source = make(x)
        values, indices = module.nn.functional.adaptive_max_pool2d(source, output_size, return_indices=True)
        upstream = np.random.default_rng(upstream_seed).standard_normal(tuple(values.shape)).astype(x.dtype)
        (values * module.tensor(upstream)).sum().backward()
        results.append((values.detach().numpy(), indices.numpy(), source.grad.numpy()))
    return results


def _relu_input(shape, seed=0, dtype=np.float32):
    """Mostly zeros (a ReLU of values shifted down), one plane all zeros and two rows of one value: bins
    whose maxima tie throughout."""
    x = np.maximum(np.random.default_rng(seed).standard_normal(shape) - 0.8, 0).astype(dtype)
    x.reshape((-1,) + shape[-2:])[0] = 0
    x.reshape((-1,) + shape[-2:])[-1, :2] = 4.5
    return x


CASES = [
    ((2, 3, 10, 10), (3, 3)),       # bins of 4 sharing a row and a column
    ((2, 3, 9, 13), (4, 5)),
    ((2, 3, 5, 7), (3, 4)),         # an element shared by four bins
    ((2, 3, 5, 7), (7, 9)),         # more outputs than positions: bins of one or two
    ((2, 3, 28, 28), (5, 5)),
    ((2, 3, 10, 12), (1, 5)),
    ((3, 11, 7), (4, 3)),           # unbatched
    ((2, 3, 12, 12), (4, 4)),       # bins that tile, with indices asked for
]


@pytest.mark.parametrize("shape, output_size", CASES)
def test_values_indices_and_gradients_match_pytorch_on_tied_bins(shape, output_size):
    ours, theirs = _both(_relu_input(shape), output_size)
    assert (ours[0] == 0).any()   # ties are there to break
    for mine, expected, what in zip(ours, theirs, ("values", "indices", "gradient")):
        np.testing.assert_array_equal(mine, expected, err_msg=what)
    assert ours[1].dtype == np.int64


@pytest.mark.parametrize("shape, output_size", CASES[:4])
def test_distinct_values_and_float64_match_pytorch(shape, output_size):
    x = np.random.default_rng(1).standard_normal(shape)
    for dtype in (np.float32, np.float64):
        ours, theirs = _both(x.astype(dtype), output_size)
        for mine, expected in zip(ours, theirs):
            np.testing.assert_array_equal(mine, expected)


def test_the_gradient_goes_to_one_element_per_bin_not_split_over_ties():
    x = np.zeros((1, 1, 5, 5), dtype=np.float32)     # every bin ties throughout
    source = lf.tensor(x, requires_grad=True)
    lf.nn.functional.adaptive_max_pool2d(source, 3).sum().backward()
    grad = source.grad.numpy()[0, 0]
    # PyTorch's index: each bin's first element, (r0, c0) for r0, c0 in 0, 1, 3
    expected = np.zeros((5, 5), dtype=np.float32)
    for r in (0, 1, 3):
        for c in (0, 1, 3):
            expected[r, c] = 1
    np.testing.assert_array_equal(grad, expected)


def test_a_nan_wins_its_bin_and_takes_the_gradient_as_in_pytorch():
    x = np.random.default_rng(2).standard_normal((2, 3, 10, 10)).astype(np.float32)
    x[0, 0, 1, 2] = x[0, 0, 2, 1] = np.nan      # two NaNs in one bin: PyTorch's kernel keeps the last
    x[1, 2, 9, 9] = np.nan
    ours, theirs = _both(x, (3, 3))
    np.testing.assert_array_equal(ours[0], theirs[0])     # NaN where theirs is NaN
    np.testing.assert_array_equal(ours[1], theirs[1])
    np.testing.assert_array_equal(ours[2], theirs[2])


def test_none_in_the_output_size_keeps_that_axis():
    x = _relu_input((2, 3, 9, 7), seed=3)
    ours, theirs = _both(x, (4, None))
    for mine, expected in zip(ours, theirs):
        np.testing.assert_array_equal(mine, expected)


def test_module_and_1d_forms_match_pytorch():
    x = _relu_input((2, 3, 9, 11), seed=4)
    module = lf.nn.AdaptiveMaxPool2d((4, 3), return_indices=True)
    values, indices = module(lf.tensor(x))
    expected_values, expected_indices = torch.nn.AdaptiveMaxPool2d((4, 3), return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(values.numpy(), expected_values.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    line = x[:, :, 0]
    values, indices = lf.nn.functional.adaptive_max_pool1d(lf.tensor(line), 4, return_indices=True)
    expected_values, expected_indices = torch.nn.functional.adaptive_max_pool1d(torch.tensor(line), 4,
                                                                                 return_indices=True)
    np.testing.assert_array_equal(values.numpy(), expected_values.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())


def test_integer_planes_keep_their_values_and_indices():
    # PyTorch has no integer adaptive max pooling; the maxima and indices are its float ones
    x = np.random.default_rng(6).integers(0, 4, (2, 3, 7, 9))
    values, indices = lf.nn.functional.adaptive_max_pool2d(lf.tensor(x), (3, 4), return_indices=True)
    expected_values, expected_indices = torch.nn.functional.adaptive_max_pool2d(
        torch.tensor(x, dtype=torch.float32), (3, 4), return_indices=True)
    assert values.dtype == lf.int64
    np.testing.assert_array_equal(values.numpy(), expected_values.numpy().astype(np.int64))
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())


def test_empty_inputs_and_outputs_behave_as_in_pytorch():
    for module in (lf, torch):
        out, where = module.nn.functional.adaptive_max_pool2d(module.zeros((0, 3, 5, 5)), 2, return_indices=True)
        assert tuple(out.shape) == (0, 3, 2, 2) and tuple(where.shape) == (0, 3, 2, 2)
        assert tuple(module.nn.functional.adaptive_max_pool2d(module.zeros((2, 3, 5, 5)), 0).shape) == (2, 3, 0, 0)
    with pytest.raises(RuntimeError, match=r"non-zero size for non-batch dimensions.*\[2, 3, 0, 5\].*dimension 2"):
        lf.nn.functional.adaptive_max_pool2d(lf.zeros((2, 3, 0, 5)), 2)
    with pytest.raises(RuntimeError, match="dimension 1 being empty"):
        lf.nn.functional.adaptive_max_pool2d(lf.zeros((3, 0, 5)), 2)


@pytest.mark.parametrize("size, out", [(10, 3), (5, 3), (5, 7), (28, 5), (7, 7), (1, 4)])
def test_bin_table_lists_each_bins_positions_as_pytorch_bins_them(size, out):
    table = pool_adaptive.bin_table(size, out)
    for i in range(out):
        start, stop = i * size // out, -(-(i + 1) * size // out)
        assert sorted(set(table[:, i].tolist())) == list(range(start, stop))
        assert table[0, i] == start       # in order: the first match is the bin's first position
        assert list(table[:, i]) == sorted(table[:, i])


def _both_nd(function, x, output_size, seed=7):
    """(ours, PyTorch's) values, indices and input gradient of ``function`` ("adaptive_max_pool1d" ...)."""
    results = []
    for module in (lf, torch):
        source = module.tensor(x, requires_grad=True)
        values, indices = getattr(module.nn.functional, function)(source, output_size, return_indices=True)
        upstream = np.random.default_rng(seed).standard_normal(tuple(values.shape)).astype(x.dtype)
        (values * module.tensor(upstream)).sum().backward()
        results.append((values.detach().numpy(), indices.numpy(), source.grad.numpy()))
    return results


@pytest.mark.parametrize("shape, output_size", [
    ((2, 3, 9, 10, 11), (4, 3, 5)),      # bins sharing a slice, a row and a column
    ((2, 3, 8, 8, 8), (4, 4, 4)),        # bins that tile
    ((2, 3, 5, 6, 7), (7, 4, 9)),        # more outputs than positions along two axes
    ((3, 7, 9, 11), (2, 4, 5)),          # unbatched
])
def test_3d_values_indices_and_gradients_match_pytorch(shape, output_size):
    x = np.maximum(np.random.default_rng(8).standard_normal(shape) - 0.8, 0).astype(np.float32)
    x.reshape((-1,) + shape[-3:])[0] = 0                 # a volume of ties
    ours, theirs = _both_nd("adaptive_max_pool3d", x, output_size)
    for mine, expected in zip(ours, theirs):
        np.testing.assert_array_equal(mine, expected)


def test_3d_nans_and_1d_match_pytorch():
    x = np.random.default_rng(9).standard_normal((2, 3, 7, 9, 11)).astype(np.float32)
    x[0, 1, 2, 3, 4] = x[0, 1, 3, 2, 1] = x[1, 2, 6, 8, 10] = np.nan
    ours, theirs = _both_nd("adaptive_max_pool3d", x, (3, 4, 5))
    for mine, expected in zip(ours, theirs):
        np.testing.assert_array_equal(mine, expected)
    line = _relu_input((2, 3, 23), seed=10)
    for size in (5, 23, 30):
        ours, theirs = _both_nd("adaptive_max_pool1d", line, size)
        for mine, expected in zip(ours, theirs):
            np.testing.assert_array_equal(mine, expected)


def test_3d_empty_dimensions_raise_pytorchs_message():
    with pytest.raises(RuntimeError,
                       match=r"adaptive_max_pool3d\(\): .*\[2, 3, 0, 5, 5\] with dimension 2 being empty"):
        lf.nn.functional.adaptive_max_pool3d(lf.zeros((2, 3, 0, 5, 5)), 2)
    assert tuple(lf.nn.functional.adaptive_max_pool3d(lf.zeros((0, 3, 5, 5, 5)), 2).shape) == (0, 3, 2, 2, 2)
