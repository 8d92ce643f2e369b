"""igamma / igammac (the regularized incomplete gamma functions) and nextafter against PyTorch:
values over wide ranges of a and x (and against mpmath where PyTorch itself is less exact), PyTorch's
edge values, dtypes, broadcasting, empty tensors, the gradient in x, PyTorch's error for a gradient in
a, the method and in-place forms; float64 gradchecks."""
import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import DEVICES, check, torch

INF, NAN = float("inf"), float("nan")


def _grid(seed=0):
    rng = np.random.default_rng(seed)
    a = np.concatenate([rng.uniform(0.01, 5, 300), rng.uniform(0, 100, 300), 10 ** rng.uniform(-3, 4, 300)])
    x = np.concatenate([rng.uniform(0, 10, 300), rng.uniform(0, 200, 300), 10 ** rng.uniform(-3, 4.2, 300)])
    return a, x


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_values_and_gradient_in_x_match_torch(name, device):
    a, x = _grid()
    ta, tx = torch.tensor(a), torch.tensor(x, requires_grad=True)
    la, lx = lf.tensor(a, device=device), lf.tensor(x, device=device, requires_grad=True)
    theirs, ours = getattr(torch, name)(ta, tx), getattr(lf, name)(la, lx)
    assert ours.dtype == lf.float64 and ours.device == lf.device(device)
    # PyTorch's own values are off by up to ~4e-10 for large a (see the mpmath test)
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), rtol=0, atol=1e-9)
    weights = np.random.default_rng(1).normal(size=a.shape)
    (theirs * torch.tensor(weights)).sum().backward()
    (ours * lf.tensor(weights, device=device)).sum().backward()
    np.testing.assert_allclose(lx.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-7, atol=1e-12)


def test_values_match_mpmath():
    mpmath = pytest.importorskip("mpmath", reason="mpmath gives the exact values")
    a, x = _grid(seed=5)
    a, x = a[::15], x[::15]
    exact = np.array([float(mpmath.gammainc(ai, 0, xi, regularized=True)) for ai, xi in zip(a, x)])
    np.testing.assert_allclose(lf.igamma(lf.tensor(a), lf.tensor(x)).numpy(), exact, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(lf.igammac(lf.tensor(a), lf.tensor(x)).numpy(), 1 - exact, rtol=1e-10, atol=1e-14)


def test_edges_dtypes_broadcasting_and_forms_as_torch():
    a = [0.0, 0.0, 0.0, INF, INF, 2.0, 2.0, -1.0, NAN, 3.0, 1.0]
    x = [0.0, 1.0, INF, INF, 1.0, 0.0, INF, 1.0, 1.0, -0.0, -1.0]
    for name in ("igamma", "igammac"):
        np.testing.assert_array_equal(getattr(lf, name)(lf.tensor(a), lf.tensor(x)).numpy(),
                                      getattr(torch, name)(torch.tensor(a), torch.tensor(x)).numpy())
    check(lambda m, a, x: (m.igamma(a, x), m.igammac(a, x[0]), a.igamma(x), m.igamma(a[:, :0], x[:, :0])),
          [(2, 3), (2, 3)], low=0.1, high=4.0, grad=False, dtype="float32", atol=1e-6, rtol=1e-5)
    mixed = (lf.igamma(lf.ones(2), lf.ones(2, dtype=lf.float64)),
             torch.igamma(torch.ones(2), torch.ones(2, dtype=torch.float64)))
    assert mixed[0].dtype.name == str(mixed[1].dtype).split(".")[-1]
    y = lf.tensor([1.0, 2.0])
    y.igammac_(lf.tensor([1.0, 3.0]))
    np.testing.assert_allclose(y.numpy(), torch.tensor([1.0, 2.0]).igammac_(torch.tensor([1.0, 3.0])).numpy(), rtol=1e-6)


@pytest.mark.parametrize("call", [
    pytest.param(lambda m: m.igamma(m.ones(2, dtype=m.long), m.ones(2, dtype=m.long)), id="ints"),
    pytest.param(lambda m: m.igamma(m.ones(2, requires_grad=True), m.ones(2)).sum().backward(), id="grad_in_a"),
    pytest.param(lambda m: m.igammac(m.ones(2, requires_grad=True), m.ones(2)).sum().backward(), id="grad_in_a_c"),
    pytest.param(lambda m: m.nextafter(m.ones(2, dtype=m.long), m.ones(2, dtype=m.long)), id="nextafter_ints"),
    pytest.param(lambda m: m.igamma(m.ones(2), m.ones(3)), id="shapes"),
])
def test_invalid_arguments_raise_torchs_exception_type(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(lf)
    assert type(ours.value) is type(theirs.value), f"{ours.value!r} where torch raises {theirs.value!r}"


@pytest.mark.parametrize("device", DEVICES)
def test_nextafter_matches_torch(device):
    check(lambda m, a, b: (m.nextafter(a, b), a.nextafter(b[0]), m.nextafter(a, a), m.nextafter(a, a.detach() + 1)),
          [(3, 4), (3, 4)], device=device)
    check(lambda m, a, b: m.nextafter(a, b), [(3, 4), (4,)], device=device, dtype="float32")


def test_gradcheck_in_x():
    a = lf.tensor([0.5, 2.0, 7.5, 30.0], dtype=lf.float64)
    x = lf.tensor([0.3, 2.5, 6.0, 35.0], dtype=lf.float64, requires_grad=True)
    assert lf.gradcheck(lambda x: (lf.igamma(a, x), lf.igammac(a, x)), [x])
