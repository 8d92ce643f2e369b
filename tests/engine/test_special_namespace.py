"""torch.special against PyTorch: every name the engine offers there, values, dtypes and gradients
(entr at 0 and below, i1 at 0, ndtr's tails, xlog1py where x = 0), broadcasting, empty tensors, and
float64 gradchecks of the functions with kernels of their own."""
import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import DEVICES, check, torch

EDGES = np.array([0.0, 1.0, -1.0, 2.0, 0.5, -7.5, 12.0])


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


SPECIAL = [
    case("entr", lambda m, x: m.special.entr(x), [(3, 4)], low=0.05, high=3.0),
    case("entr_edges", lambda m, x: m.special.entr(x), vals=[EDGES]),
    case("i1", lambda m, x: m.special.i1(x), vals=[np.concatenate([EDGES, [45.0, -60.0]])]),
    case("ndtr", lambda m, x: m.special.ndtr(x), vals=[np.concatenate([EDGES, [-30.0, 9.0]])]),
    case("xlog1py", lambda m, x, y: m.special.xlog1py(x, y), [(3, 4), (4,)], low=-0.5, high=2.0),
    case("xlog1py_edges", lambda m, x, y: (m.special.xlog1py(x, y), m.special.xlog1py(x, 2.0)),
         vals=[np.array([0.0, 0.0, 1.0, 0.0, 2.0]), np.array([2.0, -1.0, 3.0, -2.0, np.nan])]),
    case("aliases", lambda m, x: (m.special.gammaln(x), m.special.psi(x), m.special.expit(x),
                                  m.special.multigammaln(x + 2, 3), m.special.polygamma(1, x), m.special.digamma(x),
                                  m.special.erf(x), m.special.erfc(x), m.special.exp2(x), m.special.expm1(x),
                                  m.special.log1p(x), m.special.sinc(x), m.special.i0(x), m.special.round(x),
                                  m.special.logit(x / 3, eps=1e-6), m.special.xlogy(x, x)),
         [(2, 3)], low=0.1, high=2.0),
    case("gammainc", lambda m, a, x: (m.special.gammainc(a.detach(), x), m.special.gammaincc(a.detach(), x)),
         [(2, 3), (2, 3)], low=0.1, high=4.0),
    case("softmaxes", lambda m, x: (m.special.softmax(x, 1), m.special.log_softmax(x, -1, dtype=m.float32),
                                    m.special.logsumexp(x, (0, 1)), m.special.erfinv(x / 3)), [(2, 3)]),
    case("empty", lambda m, x, y: (m.special.entr(x), m.special.ndtr(x), m.special.i1(x), m.special.xlog1py(x, y)),
         [(0, 3), (3,)]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", SPECIAL)
def test_special_functions_match_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", SPECIAL[:5])
def test_special_functions_match_torch_in_float32(fn, shapes, options, device):
    check(fn, shapes, device=device, dtype="float32", atol=1e-5, rtol=1e-5, **options)


def test_integer_inputs_give_floats_as_in_torch():
    for name in ("entr", "ndtr", "i1"):
        ours = getattr(lf.special, name)(lf.tensor([0, 1, 2]))
        theirs = getattr(torch.special, name)(torch.tensor([0, 1, 2]))
        assert ours.dtype.name == str(theirs.dtype).split(".")[-1]
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert lf.special.xlog1py(lf.tensor([1, 2]), lf.tensor([1, 2])).dtype == lf.float32


def test_every_name_is_torchs():
    assert all(hasattr(torch.special, name) for name in lf.special.__all__)


def test_gradcheck_of_special_kernels():
    x = lf.tensor([0.3, 1.7, 2.5, 0.9], dtype=lf.float64, requires_grad=True)
    y = lf.tensor([-0.4, 0.2, 3.0, 1.5], dtype=lf.float64, requires_grad=True)
    assert lf.gradcheck(lambda x, y: (lf.special.entr(x), lf.special.i1(x - 1), lf.special.ndtr(y),
                                      lf.special.xlog1py(x, y)), [x, y])
