"""The activation kernels that avoid numpy's ``where`` (LeakyReLU, ELU and what is built on ELU) and
GELU's blocked evaluation give PyTorch's values and gradients, including at zeros of either sign,
infinities and NaN."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops import activation

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, 1e-30, -1e-30, 3.0, -3.0, 50.0, -50.0], dtype=np.float32)


def _values(shape=(64, 75)):
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32) * 3
    x.reshape(-1)[:SPECIAL.size] = SPECIAL
    return x


def _run(engine, name, x, upstream, **options):
    module = lf.nn.functional if engine == "ours" else torch.nn.functional
    tensor = lf.tensor if engine == "ours" else torch.tensor
    inputs = tensor(x, requires_grad=True)
    out = getattr(module, name)(inputs, **options)
    (out * tensor(upstream)).sum().backward()
    return out.detach().numpy(), inputs.grad.numpy()


def _same_bits(mine, reference):
    """Equal values, the same sign of zero, and NaN where the reference has it."""
    np.testing.assert_array_equal(mine, reference)
    assert np.array_equal(np.signbit(mine), np.signbit(reference))


@pytest.mark.filterwarnings("ignore:invalid value")   # inf * 0 in the oracle's sum
@pytest.mark.parametrize("name, options", [
    ("leaky_relu", dict(negative_slope=0.01)), ("leaky_relu", dict(negative_slope=1.0)),
    ("leaky_relu", dict(negative_slope=2.5)), ("leaky_relu", dict(negative_slope=0.0)),
    ("leaky_relu", dict(negative_slope=-0.3)),
    ("elu", dict(alpha=1.0)), ("elu", dict(alpha=0.3)), ("selu", {}), ("celu", dict(alpha=2.0)),
], ids=["leaky_0.01", "leaky_1", "leaky_2.5", "leaky_0", "leaky_negative", "elu", "elu_0.3", "selu", "celu_2"])
def test_select_free_activations_match_pytorch(name, options):
    x = _values()
    upstream = np.random.default_rng(4).standard_normal(x.shape).astype(np.float32)
    out, grad = _run("ours", name, x, upstream, **options)
    expected, expected_grad = _run("torch", name, x, upstream, **options)
    if name == "leaky_relu":          # the same products PyTorch takes: bit for bit
        _same_bits(out, expected)
        _same_bits(grad, expected_grad)
    else:                             # expm1 and exp round a little differently from PyTorch's own
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-7)
        finite = np.isfinite(x)       # PyTorch's ELU backward at -inf is 0 * inf; ours takes the limit
        np.testing.assert_allclose(grad[finite], expected_grad[finite], rtol=1e-6, atol=1e-6)


def test_leaky_relu_backward_takes_one_or_the_slope_without_a_select():
    node = activation.LeakyRelu(0.2)
    x = np.array([[-2.0, 0.0, 3.0, -0.0]], dtype=np.float32)
    _same_bits(node.forward(x), np.array([[-2.0 * np.float32(0.2), 0.0, 3.0, -0.0]], dtype=np.float32))
    _same_bits(node.backward(np.full_like(x, 5.0)), np.array([[1.0, 1.0, 5.0, 1.0]], dtype=np.float32))


@pytest.mark.filterwarnings("ignore:invalid value")   # GELU(-inf) = -inf * 0, NaN as in PyTorch
@pytest.mark.parametrize("block", [1 << 15, 1000, 1 << 30], ids=["default", "short_last_block", "whole"])
def test_gelu_in_blocks_is_the_whole_array_computation_bit_for_bit(block, monkeypatch):
    x = _values((128, 1031))           # 131,968 values: blocks and a short last one
    upstream = np.random.default_rng(5).standard_normal(x.shape).astype(np.float32)
    monkeypatch.setattr(activation.Gelu, "BLOCK", 1 << 40)
    whole = _run("ours", "gelu", x, upstream)
    monkeypatch.setattr(activation.Gelu, "BLOCK", block)
    blocked = _run("ours", "gelu", x, upstream)
    for mine, reference in zip(blocked, whole):
        _same_bits(mine, reference)
    expected = _run("torch", "gelu", x, upstream)
    finite = np.isfinite(x)
    # erf's rational approximation is within 1.5e-7 of erf, so GELU within ~1e-6 of PyTorch's
    np.testing.assert_allclose(blocked[0][finite], expected[0][finite], rtol=1e-6, atol=2e-6)
    np.testing.assert_allclose(blocked[1][finite], expected[1][finite], rtol=1e-5, atol=2e-6)


@pytest.mark.filterwarnings("ignore:invalid value")
def test_gelu_in_blocks_of_a_transposed_input_matches_the_contiguous_one():
    x = _values((300, 257)).T          # a view in Fortran order: its blocks are read from a copy
    assert not x.flags.c_contiguous
    upstream = np.random.default_rng(6).standard_normal(x.shape).astype(np.float32)
    results = []
    for a in (x, np.ascontiguousarray(x)):
        node = activation.Gelu("none")
        results.append((node.forward(a), node.backward(upstream)))
    for mine, reference in zip(*results):
        _same_bits(mine, reference)


@pytest.mark.filterwarnings("ignore:invalid value")
@pytest.mark.parametrize("name", ["hardswish", "hardsigmoid"])
def test_hard_activations_are_pytorchs_formulas_at_their_kinks(name):
    """One node each: PyTorch's forward values bit for bit, and its backward (the slope x/3 + 1/2 or
    1/6 inside, the kinks at -3 and 3 included as PyTorch includes them), with NaN and infinities."""
    x = _values()
    x.reshape(-1)[SPECIAL.size:SPECIAL.size + 6] = [-3.0, 3.0, np.nextafter(-3, 0), np.nextafter(3, 0), np.nan, 2.9]
    x.reshape(-1)[SPECIAL.size + 6:SPECIAL.size + 8] = [np.nextafter(-3, -9), np.nextafter(3, 9)]
    upstream = np.random.default_rng(7).standard_normal(x.shape).astype(np.float32)
    out, grad = _run("ours", name, x, upstream)
    expected, expected_grad = _run("torch", name, x, upstream)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-6, atol=0)
    assert type(getattr(lf.nn.functional, name)(lf.tensor(x, requires_grad=True)).grad_fn).__name__ == \
        {"hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid"}[name]


def test_hard_activations_refuse_integer_input_as_pytorch_does():
    with pytest.raises(RuntimeError, match="hardswish: expected a floating point input, got int64"):
        lf.nn.functional.hardswish(lf.tensor([1, 2, 3]))


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "selu", "celu", "gelu", "hardswish", "hardsigmoid", "sigmoid",
                                  "silu", "softplus", "mish", "logsigmoid", "relu", "relu6", "softsign"])
@pytest.mark.parametrize("value", [-1.5, 0.0, 2.5])
def test_activations_of_a_0d_tensor_match_pytorch(name, value):
    """numpy hands back scalars for 0-d arrays; the kernels' in-place steps must still get arrays
    (sigmoid, SiLU and GELU of a 0-d tensor raised a TypeError until this test)."""
    x = np.array(value, dtype=np.float32)
    module = (lambda m: m) if name == "sigmoid" else (lambda m: m.nn.functional)
    ours, theirs = lf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = getattr(module(lf), name)(ours), getattr(module(torch), name)(theirs)
    out.backward()
    expected.backward()
    assert out.shape == () and ours.grad.shape == ()
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6, atol=1e-7)
