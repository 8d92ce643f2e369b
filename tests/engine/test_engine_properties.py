"""Hypothesis property tests: the laws of broadcasting, gradients and reductions, for drawn shapes."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import layerforge.engine as lf

FAST = settings(max_examples=40, deadline=None)


@st.composite
def broadcastable_shapes(draw, max_dims=4, max_side=4, min_side=0):
    """Two shapes that broadcast: per trailing dim, equal sizes or a 1 on either side (sizes may be 0)."""
    result = draw(st.lists(st.integers(min_side, max_side), min_size=0, max_size=max_dims))
    a, b = [], []
    for n in result:
        choice = draw(st.sampled_from(["both", "a_one", "b_one"]))
        a.append(1 if choice == "a_one" else n)
        b.append(1 if choice == "b_one" else n)
    a = a[draw(st.integers(0, len(a))):]  # either side may have fewer leading dims
    b = b[draw(st.integers(0, len(b))):]
    return tuple(a), tuple(b)


def broadcast_law(a, b):
    """The result shape PyTorch's broadcasting rule gives, stated directly."""
    ndim = max(len(a), len(b))
    a = (1,) * (ndim - len(a)) + a
    b = (1,) * (ndim - len(b)) + b
    return tuple(y if x == 1 else x for x, y in zip(a, b))  # a 1 stretches, even to 0


def tensor_of(shape, seed, requires_grad=False):
    values = np.random.default_rng(seed).uniform(-2, 2, size=shape)
    return lf.tensor(values, dtype=lf.float64, requires_grad=requires_grad)


@FAST
@given(broadcastable_shapes(), st.sampled_from(["add", "sub", "mul", "maximum"]), st.integers(0, 99))
def test_binary_result_shape_follows_the_broadcast_law(shapes, op, seed):
    a, b = tensor_of(shapes[0], seed), tensor_of(shapes[1], seed + 1)
    out = getattr(lf, op)(a, b)
    assert tuple(out.shape) == broadcast_law(*shapes)
    expected = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "maximum": np.maximum}[op]
    np.testing.assert_allclose(out.numpy(), expected(a.numpy(), b.numpy()))


@FAST
@given(broadcastable_shapes(), st.integers(0, 99))
def test_add_and_mul_gradients_sum_back_to_each_input_shape(shapes, seed):
    a = tensor_of(shapes[0], seed, requires_grad=True)
    b = tensor_of(shapes[1], seed + 1, requires_grad=True)
    (a + b).sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    out_size = int(np.prod(broadcast_law(*shapes)))
    # Each element of a is used out_size / a.numel() times in the sum.
    np.testing.assert_allclose(a.grad.numpy(), np.full(a.shape, out_size / max(a.numel(), 1)))
    a.grad, b.grad = None, None
    (a * b).sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    expected_a = np.broadcast_to(b.detach().numpy(), broadcast_law(*shapes))
    lead = len(broadcast_law(*shapes)) - a.ndim
    expected_a = expected_a.sum(axis=tuple(range(lead)))
    expected_a = expected_a.sum(axis=tuple(i for i, n in enumerate(a.shape) if n == 1), keepdims=True)
    np.testing.assert_allclose(a.grad.numpy(), expected_a.reshape(a.shape))


shapes_3d = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)


@FAST
@given(shapes_3d, st.data())
def test_sum_over_dims_then_rest_equals_sum_over_all(shape, data):
    x = tensor_of(shape, 0)
    dims = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), unique_by=lambda d: d % len(shape),
                              max_size=len(shape)))
    keepdim = data.draw(st.booleans())
    partial = x.sum(dim=tuple(dims), keepdim=keepdim) if dims else x.sum()
    np.testing.assert_allclose(partial.sum().item(), x.sum().item(), rtol=1e-12)
    if dims:
        kept = [n for i, n in enumerate(shape) if i not in {d % len(shape) for d in dims}]
        want = tuple(1 if i in {d % len(shape) for d in dims} else n for i, n in enumerate(shape)) \
            if keepdim else tuple(kept)
        assert tuple(partial.shape) == want


@FAST
@given(shapes_3d, st.data())
def test_mean_is_sum_over_count_and_its_gradient_is_uniform(shape, data):
    x = tensor_of(shape, 1, requires_grad=True)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    m = x.mean(dim)
    np.testing.assert_allclose(m.detach().numpy(), (x.sum(dim) / shape[dim]).detach().numpy(), rtol=1e-12)
    m.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(shape, 1.0 / shape[dim]))


@FAST
@given(shapes_3d, st.data())
def test_max_with_dim_agrees_with_gather_of_argmax(shape, data):
    x = tensor_of(shape, 2)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    values, indices = x.max(dim, keepdim=True)
    assert lf.equal(indices, x.argmax(dim, keepdim=True))
    assert lf.equal(values, lf.gather(x, dim, indices))
    assert values.max().item() == x.max().item()


@FAST
@given(shapes_3d, st.data())
def test_softmax_rows_sum_to_one_and_log_softmax_agrees(shape, data):
    x = tensor_of(shape, 3) * 10
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    s = x.softmax(dim)
    np.testing.assert_allclose(s.sum(dim).numpy(), np.ones(s.sum(dim).shape), rtol=1e-12)
    np.testing.assert_allclose(x.log_softmax(dim).exp().numpy(), s.numpy(), rtol=1e-10)
    np.testing.assert_allclose(x.logsumexp(dim).numpy(), np.log(np.exp(x.numpy()).sum(dim)), rtol=1e-10)


@FAST
@given(shapes_3d, st.data())
def test_reshape_and_permute_round_trip_values_and_gradients(shape, data):
    x = tensor_of(shape, 4, requires_grad=True)
    order = data.draw(st.permutations(range(len(shape))))
    y = x.permute(*order).reshape(-1)
    assert y.numel() == x.numel()
    y.backward(lf.arange(y.numel(), dtype=lf.float64))
    # The gradient routes each flat position back to the element it came from.
    expected = np.arange(y.numel(), dtype=np.float64).reshape(np.transpose(x.detach().numpy(), order).shape)
    np.testing.assert_array_equal(x.grad.numpy(), np.transpose(expected, np.argsort(order)))


@FAST
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), st.integers(1, 5), st.data())
def test_split_then_cat_is_identity(shape, size, data):
    x = tensor_of(shape, 5)
    dim = data.draw(st.integers(0, len(shape) - 1))
    parts = x.split(size, dim)
    assert all(p.shape[dim] <= size for p in parts)
    assert lf.equal(lf.cat(parts, dim), x)
