"""2x2 max pooling of float32 (the usual pooling of a CNN) writes its input gradient as 64-bit words,
one a pair of neighbouring columns (``MaxPool2d._backward_pairs``). Its gradient must be PyTorch's
to the bit: the winner of each window is the element PyTorch's index points to (the first maximum in
row-major order when several tie), it gets the upstream value unchanged (infinities and NaN too), and
every other element gets +0.0 (PyTorch's zero-filled gradient), never -0.0 or a NaN. One difference
is kept: an upstream -0.0 reaches its winner as -0.0, where PyTorch adds it to its zero-filled
gradient and gets +0.0 (equal values; only the sign bit differs)."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops import pool

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


@pytest.fixture(autouse=True)
def _any_row_length(monkeypatch):
    """Short output rows keep the other paths by default (PAIRS_FROM_ROW); here every row takes the
    words, so the small planes below exercise them."""
    monkeypatch.setattr(pool.MaxPool2d, "PAIRS_FROM_ROW", 1)


def _tied(shape, seed):
    """ReLU zeros (whole windows of tied zeros), ties along a row, down a column and across a window,
    infinities, negative zeros next to zeros, and a window of -inf."""
    rng = np.random.default_rng(seed)
    x = np.maximum(rng.standard_normal(shape), 0).astype(np.float32)
    n, c, h, w = shape
    if h >= 4 and w >= 4:
        x[0, 0, :2, :2] = 1.5                      # four equal maxima: the top-left wins
        x[0, 0, 2, 2:4] = 2.5                      # equal maxima in one row of a window
        x[0, 0, 2:4, 0] = 3.5                      # ... and down one column
        x[0, 0, 3, 3] = np.inf
        x[-1, -1, 2:4, 2:4] = -np.inf
        x[-1, -1, 0, 0:2] = [-0.0, 0.0]
        x[-1, -1, 1, 0:2] = [-1.0, -0.0]
    return x


def _upstream(shape, seed):
    g = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    special = np.array([np.nan, np.inf, -np.inf], dtype=np.float32)
    g.reshape(-1)[:min(3, g.size)] = special[:min(3, g.size)]
    return g


def _both(x, upstream, x_view=lambda a: a, grad_view=lambda a: a):
    ours = lf.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out = lf.nn.functional.max_pool2d(x_view(ours), 2)
    expected = torch.nn.functional.max_pool2d(x_view(theirs), 2)
    out.backward(lf.tensor(grad_view(upstream)))
    expected.backward(torch.tensor(grad_view(upstream)))
    return out.detach().numpy(), expected.detach().numpy(), ours.grad.numpy(), theirs.grad.numpy()


@pytest.mark.parametrize("shape", [(3, 5, 6, 8), (1, 1, 2, 2), (2, 3, 4, 34), (2, 4, 32, 32)])
def test_the_words_give_pytorchs_gradient_bit_for_bit(shape):
    x = _tied(shape, seed=1)
    node = pool.MaxPool2d((2, 2), (2, 2), (0, 0), (1, 1), False)
    node.forward(x)
    assert node._in_pairs(node.best) and "columns" in node.__dict__   # the path under test is taken
    upstream = _upstream((shape[0], shape[1], shape[2] // 2, shape[3] // 2), seed=2)
    out, expected, grad, expected_grad = _both(x, upstream)
    np.testing.assert_array_equal(out, expected)
    assert grad.dtype == np.float32
    assert grad.tobytes() == expected_grad.tobytes()   # +0.0 elsewhere, NaN and infinities kept
    assert np.isnan(grad).sum() == 1 and (grad != 0).sum() == upstream.size


def test_a_negative_zero_upstream_is_an_equal_zero():
    x = _tied((2, 3, 4, 6), seed=9)
    upstream = _upstream((2, 3, 2, 3), seed=10)
    upstream[1, 1] = -0.0
    _, _, grad, expected_grad = _both(x, upstream)
    np.testing.assert_array_equal(grad, expected_grad)
    assert np.signbit(grad).sum() == np.signbit(expected_grad).sum() + 6   # the six -0.0 kept


def test_each_of_the_four_positions_wins_where_it_holds_the_only_maximum():
    x = np.zeros((1, 1, 2, 8), dtype=np.float32)
    for window, (i, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        x[0, 0, i, 2 * window + j] = 1.0
    upstream = np.array([[[[1.0, 2.0, 3.0, 4.0]]]], dtype=np.float32)
    _, _, grad, expected_grad = _both(x, upstream)
    assert grad.tobytes() == expected_grad.tobytes()
    np.testing.assert_array_equal(grad[0, 0], [[1, 0, 0, 2, 0, 0, 0, 0], [0, 0, 0, 0, 3, 0, 0, 4]])


def test_views_of_the_input_and_of_the_gradient_are_read_as_they_are():
    """A transposed input (its rows are not contiguous) and a transposed upstream gradient."""
    x = _tied((2, 3, 8, 6), seed=3)
    upstream = _upstream((2, 3, 3, 4), seed=4)
    out, expected, grad, expected_grad = _both(
        x, upstream, x_view=lambda a: a.transpose(2, 3), grad_view=lambda g: np.ascontiguousarray(
            g.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2))
    np.testing.assert_array_equal(out, expected)
    assert grad.tobytes() == expected_grad.tobytes()


def test_a_nan_input_and_float64_take_the_other_paths_and_still_match_pytorch():
    x = _tied((2, 3, 6, 8), seed=5)
    x[1, 2, 3, 5] = np.nan
    upstream = np.random.default_rng(6).standard_normal((2, 3, 3, 4)).astype(np.float32)
    out, expected, grad, expected_grad = _both(x, upstream)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(grad, expected_grad)
    wide = _tied((2, 3, 6, 8), seed=7).astype(np.float64)
    node = pool.MaxPool2d((2, 2), (2, 2), (0, 0), (1, 1), False)
    node.forward(wide)
    assert not node._in_pairs(node.best)
    out, expected, grad, expected_grad = _both(wide, upstream.astype(np.float64))
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(grad, expected_grad)


def test_training_through_the_words_matches_the_other_path(monkeypatch):
    """A conv, ReLU, 2x2 max-pool model trained for five SGD steps: the same weights with the words
    as with the rows-then-columns path (whose gradients differ only in the sign of zeros)."""
    def train(pairs):
        monkeypatch.setattr(pool.MaxPool2d, "PAIRS_AS_WORDS", pairs)
        monkeypatch.setattr(pool.MaxPool2d, "ROWS_THEN_COLUMNS_FROM", 0)
        lf.manual_seed(0)
        model = lf.nn.Sequential(lf.nn.Conv2d(1, 4, 3, padding=1), lf.nn.ReLU(), lf.nn.MaxPool2d(2),
                                 lf.nn.Flatten(), lf.nn.Linear(4 * 4 * 4, 3))
        opt = lf.optim.SGD(model.parameters(), lr=0.1)
        rng = np.random.default_rng(8)
        x = lf.tensor(rng.standard_normal((6, 1, 8, 8)).astype(np.float32))
        y = lf.tensor(rng.integers(0, 3, 6))
        for _ in range(5):
            opt.zero_grad()
            lf.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        return [p.detach().numpy().copy() for p in model.parameters()]
    for ours, other in zip(train(True), train(False)):
        np.testing.assert_array_equal(ours, other)


def test_short_output_rows_keep_the_other_paths_by_default(monkeypatch):
    monkeypatch.undo()
    x = _tied((2, 3, 6, 2 * pool.MaxPool2d.PAIRS_FROM_ROW - 2), seed=11)
    short = pool.MaxPool2d((2, 2), (2, 2), (0, 0), (1, 1), False)
    short.forward(x)
    assert not short._in_pairs(short.best) and "columns" not in short.__dict__
    long = pool.MaxPool2d((2, 2), (2, 2), (0, 0), (1, 1), False)
    long.forward(_tied((2, 3, 6, 2 * pool.MaxPool2d.PAIRS_FROM_ROW), seed=11))
    assert long._in_pairs(long.best) and "columns" in long.__dict__
