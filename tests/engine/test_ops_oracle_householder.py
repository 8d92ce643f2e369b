"""Householder QR in compact form against PyTorch: geqrf (and its refusal of a gradient),
linalg.householder_product / orgqr and ormqr from both sides, transposed or not: values, every
gradient, batches; PyTorch's exception types; float64 gradchecks."""
import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import DEVICES, check, torch


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


CASES = [
    case("geqrf", lambda m, a: tuple(m.geqrf(a.detach())), [(2, 5, 3)]),
    case("geqrf_wide", lambda m, a: tuple(a.detach().geqrf()), [(3, 4)]),
    case("householder_product", lambda m, a, t: (m.linalg.householder_product(a, t), m.orgqr(a, t[..., :2]),
                                                 a.orgqr(t)), [(2, 5, 3), (2, 3)]),
    case("ormqr", lambda m, a, t, c, d: [m.ormqr(a, t, c, True, tr) for tr in (False, True)]
         + [a.ormqr(t, d, False, tr) for tr in (False, True)], [(5, 3), (3,), (5, 2), (4, 5)]),
    case("qr_roundtrip", lambda m, a: m.linalg.householder_product(*m.geqrf(a.detach())), [(4, 4)]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", CASES)
def test_householder_matches_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("call", [
    pytest.param(lambda m: m.geqrf(m.ones(3, 2, requires_grad=True))[0].sum().backward(), id="geqrf_gradient"),
    pytest.param(lambda m: m.linalg.householder_product(m.ones(2, 3), m.ones(2)), id="wide"),
    pytest.param(lambda m: m.linalg.householder_product(m.ones(3, 2), m.ones(3)), id="too_many_scales"),
    pytest.param(lambda m: m.ormqr(m.ones(3, 2), m.ones(2), m.ones(4, 2)), id="ormqr_shapes"),
])
def test_invalid_arguments_raise_torchs_exception_type(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(lf)
    assert type(ours.value) is type(theirs.value), f"{ours.value!r} where torch raises {theirs.value!r}"


def test_gradcheck_of_householder_products():
    rng = np.random.default_rng(8)
    a = lf.tensor(rng.normal(size=(4, 3)), dtype=lf.float64, requires_grad=True)
    tau = lf.tensor(rng.uniform(0.5, 1.5, 3), dtype=lf.float64, requires_grad=True)
    c = lf.tensor(rng.normal(size=(4, 2)), dtype=lf.float64, requires_grad=True)
    assert lf.gradcheck(lambda a, tau, c: (lf.linalg.householder_product(a, tau), lf.ormqr(a, tau, c),
                                           lf.ormqr(a, tau, c.mT, left=False, transpose=True)), [a, tau, c])
