"""nn.ReLU's pooled-buffer node gives PyTorch's ReLU: the same outputs and gradients, bit for bit,
as the plain F.relu node, on arrays big enough to use pooled buffers and on small ones, with zeros,
negative zeros, infinities and NaNs."""
import numpy as np
import pytest

import layerforge.engine as lf

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


def _special_values(shape, dtype, seed):
    values = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    flat = values.reshape(-1)
    flat[:6] = [0.0, -0.0, np.inf, -np.inf, 1e-30, -1e-30]
    return values


@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (8, 16, 24, 24)], ids=["small", "pooled"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def _relu_and_grad(make, x, upstream):
    tensor = make(x, requires_grad=True)
    out = (lf.nn.ReLU() if make is lf.tensor else torch.nn.ReLU())(tensor)
    out.backward(lf.tensor(upstream) if make is lf.tensor else torch.tensor(upstream))
    return out, tensor.grad


@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (8, 16, 24, 24)], ids=["small", "pooled"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_module_matches_pytorch(shape, dtype):
    x = _special_values(shape, dtype, 0)
    upstream = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    out, grad = _relu_and_grad(lf.tensor, x, upstream)
    torch_out, torch_grad = _relu_and_grad(torch.tensor, x, upstream)
    np.testing.assert_array_equal(out.detach().numpy(), torch_out.detach().numpy())
    np.testing.assert_array_equal(grad.numpy(), torch_grad.numpy())
    assert out.dtype == lf.tensor(x).dtype


@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (8, 16, 24, 24)], ids=["small", "pooled"])
@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_relu_module_is_the_functional_relu_bit_for_bit(shape):
    """Special upstream values too (an infinite gradient where the unit is off, NaN)."""
    x = _special_values(shape, np.float32, 0)
    upstream = _special_values(shape, np.float32, 1)[::-1].copy()
    upstream.reshape(-1)[:3] = [np.nan, np.inf, -np.inf]
    out, grad = _relu_and_grad(lf.tensor, x, upstream)
    plain = lf.tensor(x, requires_grad=True)
    plain_out = lf.nn.functional.relu(plain)
    plain_out.backward(lf.tensor(upstream))
    assert out.detach().numpy().tobytes() == plain_out.detach().numpy().tobytes()
    assert grad.numpy().tobytes() == plain.grad.numpy().tobytes()
    assert out.grad_fn.name() == plain_out.grad_fn.name() == "ReluBackward"


def test_relu_module_keeps_outputs_of_earlier_steps_intact():
    layer = lf.nn.ReLU()
    x = lf.tensor(_special_values((8, 16, 24, 24), np.float32, 2), requires_grad=True)
    kept = layer(x)
    expected = kept.detach().numpy().copy()
    for seed in (3, 4):
        y = lf.tensor(_special_values((8, 16, 24, 24), np.float32, seed), requires_grad=True)
        layer(y).sum().backward()
    np.testing.assert_array_equal(kept.detach().numpy(), expected)


def test_relu_module_on_integers_and_nan():
    ints = lf.tensor(np.array([[-2, 0, 3]], dtype=np.int64))
    np.testing.assert_array_equal(lf.nn.ReLU()(ints).numpy(), [[0, 0, 3]])
    x = np.full((300, 300), np.nan, dtype=np.float32)
    out = lf.nn.ReLU()(lf.tensor(x))
    assert np.isnan(out.numpy()).all()
