"""LeakyReLU and ELU read backward's factor (1 or the slope) off their output's signs where the slope
is in (0, 1], and Softplus with beta 1 in float32 skips its linear-region select (ops/activation.py).
Against PyTorch: the factor at 0, -0.0, infinities and NaN (PyTorch's x > 0 test sends a NaN's
gradient through the slope), and Softplus exactly linear above its threshold."""
import numpy as np
import pytest

import layerforge.engine as lf

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 1e30, -1e30, 88.0, -88.0, -104.0],
                   dtype=np.float32)


def _values(dtype=np.float32):
    rng = np.random.default_rng(0)
    return np.concatenate([rng.standard_normal(3000) * 4, rng.standard_normal(1000) * 40,
                           np.linspace(15, 22, 141), SPECIAL]).astype(dtype)


def _both(name, x, **options):
    upstream = np.random.default_rng(1).standard_normal(x.shape).astype(x.dtype)
    results = []
    for module in (lf, torch):
        source = module.tensor(x, requires_grad=True)
        out = getattr(module.nn.functional, name)(source, **options)
        (out * module.tensor(upstream)).sum().backward()
        results.append((out.detach().numpy(), source.grad.numpy()))
    return results, upstream


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.0, 2.0, 0.0])
def test_leaky_relu_values_and_gradients_are_pytorchs_bits(slope):
    (ours, theirs), _ = _both("leaky_relu", _values(), negative_slope=slope)
    for mine, expected in zip(ours, theirs):
        np.testing.assert_array_equal(mine, expected)
        # the same zeros too: -0.0 where PyTorch has -0.0
        assert np.array_equal(np.signbit(mine), np.signbit(expected))


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
def test_elu_gradient_factor_at_zero_and_infinities_is_pytorchs(alpha):
    x = _values()
    (ours, theirs), _ = _both("elu", x, alpha=alpha)
    # at a NaN input the gradient is NaN here and the upstream value in PyTorch (its x <= 0 test fails);
    # far below zero PyTorch's alpha * exp(x) keeps a denormal where alpha + alpha * expm1(x) gives 0
    # (alpha + alpha * expm1(x) is within 3e-7 of alpha * exp(x), relatively less close where both are small)
    usual = ~np.isnan(x) & (x > -80)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours[1][usual], theirs[1][usual], rtol=1e-5, atol=1e-6)
    # at zero, the infinities and the extremes the factor (1, alpha, 0) is exactly PyTorch's
    special = np.isin(np.arange(len(x)), np.arange(len(x) - len(SPECIAL), len(x))) & usual
    np.testing.assert_array_equal(ours[1][special], theirs[1][special])
    assert np.isnan(ours[1][np.isnan(x)]).all()


@pytest.mark.parametrize("dtype, options", [
    (np.float32, {}),                                  # the select-free path
    (np.float32, {"threshold": 17}),
    (np.float32, {"beta": 2.0}),                       # the general path
    (np.float32, {"threshold": 5}),
    (np.float64, {}),
])
def test_softplus_matches_pytorch_and_is_exactly_linear_above_the_threshold(dtype, options):
    x = _values(dtype)
    (ours, theirs), upstream = _both("softplus", x, **options)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ours[0], theirs[0], rtol=rtol, atol=rtol)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=rtol, atol=rtol)
    linear = x * options.get("beta", 1.0) > options.get("threshold", 20)
    np.testing.assert_array_equal(ours[0][linear], x[linear])
    np.testing.assert_array_equal(ours[1][linear], upstream[linear])
    assert np.array_equal(np.isnan(ours[0]), np.isnan(theirs[0]))
