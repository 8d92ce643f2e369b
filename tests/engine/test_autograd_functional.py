"""torch.autograd.functional's jacobian, vjp and jvp against PyTorch: values, shapes and the nesting
of results for single and tuple inputs and outputs, outputs that do not depend on an input, v=None for
scalars, and PyTorch's errors."""
import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import torch

rng = np.random.default_rng(0)
X, Y = rng.normal(size=(2, 3)), rng.normal(size=(4,))


def _tree(value):
    if isinstance(value, (tuple, list)):
        return [_tree(v) for v in value]
    return value.detach().numpy()


def _same(ours, theirs):
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
        return
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


FUNCTIONS = [
    pytest.param(lambda m: (lambda x: x.exp() * 2), lambda m: m.tensor(X), id="single_to_single"),
    pytest.param(lambda m: (lambda x, y: (x.sin() * y.sum(), (x ** 2).sum())), lambda m: (m.tensor(X), m.tensor(Y)),
                 id="tuple_to_tuple"),
    pytest.param(lambda m: (lambda x, y: x.tanh().sum(1)), lambda m: (m.tensor(X), m.tensor(Y)),
                 id="unused_input"),
    pytest.param(lambda m: (lambda x: (x.sum(), x * 3)), lambda m: m.tensor(Y), id="single_to_tuple"),
]


@pytest.mark.parametrize("make_fn, make_inputs", FUNCTIONS)
def test_jacobian_matches_torch(make_fn, make_inputs):
    _same(_tree(lf.autograd.functional.jacobian(make_fn(lf), make_inputs(lf))),
          _tree(torch.autograd.functional.jacobian(make_fn(torch), make_inputs(torch))))


def _vectors(m, fn, inputs, side):
    outputs = fn(*inputs) if isinstance(inputs, tuple) else fn(inputs)
    source = outputs if side == "out" else inputs
    if isinstance(source, tuple):
        return tuple(m.ones_like(s) * (i + 1.5) for i, s in enumerate(source))
    return m.ones_like(source) * 0.5


@pytest.mark.parametrize("make_fn, make_inputs", FUNCTIONS)
@pytest.mark.parametrize("kind", ["vjp", "jvp"])
def test_vjp_and_jvp_match_torch(make_fn, make_inputs, kind):
    results = []
    for m in (lf, torch):
        fn, inputs = make_fn(m), make_inputs(m)
        v = _vectors(m, fn, inputs, "out" if kind == "vjp" else "in")
        results.append(_tree(getattr(m.autograd.functional, kind)(fn, inputs, v)))
    _same(*results)


def test_v_may_be_left_out_for_scalars_only_as_in_torch():
    for m in (lf, torch):
        out, grad = m.autograd.functional.vjp(lambda x: (x ** 3).sum(), m.tensor([1.0, 2.0]))
        assert grad.tolist() == [3.0, 12.0]
        out, tangent = m.autograd.functional.jvp(lambda x: x ** 3, m.tensor([2.0]))
        assert tangent.tolist() == [12.0]
        with pytest.raises(RuntimeError):
            m.autograd.functional.vjp(lambda x: x * 2, m.tensor([1.0, 2.0]))
        with pytest.raises(RuntimeError):
            m.autograd.functional.jvp(lambda x: x * 2, m.tensor([1.0, 2.0]))
        with pytest.raises(AssertionError):  # PyTorch checks the strategy with an assert
            m.autograd.functional.jacobian(lambda x: x, m.ones(2), strategy="sideways")
