"""LU with partial pivoting against PyTorch: linalg.lu_factor / lu / lu_solve, lu_unpack and the legacy
torch.lu / torch.lu_solve / Tensor.lu: factors, pivots (1-based int32), every gradient (square
matrices), batches, rectangular matrices, singular ones, PyTorch's errors; float64 gradchecks."""
import warnings

import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import DEVICES, check, torch


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


def _legacy(fn):
    def quiet(m, *args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(m, *args)
    return quiet


LU_CASES = [
    case("lu_factor", lambda m, a: tuple(m.linalg.lu_factor(a)), [(4, 4)]),
    case("lu_factor_batched", lambda m, a: tuple(m.linalg.lu_factor(a)), [(2, 3, 3)]),
    case("lu", lambda m, a: tuple(m.linalg.lu(a)), [(2, 4, 4)]),
    case("lu_rectangular", lambda m, a, b: (tuple(m.linalg.lu(a.detach())), tuple(m.linalg.lu_factor(b.detach()))),
         [(4, 3), (2, 3, 5)]),
    case("lu_unpack", lambda m, a: tuple(m.lu_unpack(*m.linalg.lu_factor(a))), [(3, 3)]),
    case("lu_solve", lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(a), b), [(2, 4, 4), (2, 4, 3)]),
    case("lu_solve_adjoint_right", lambda m, a, b, c: (m.linalg.lu_solve(*m.linalg.lu_factor(a), b, adjoint=True),
                                                       m.linalg.lu_solve(*m.linalg.lu_factor(a), c, left=False)),
         [(3, 3), (3, 2), (2, 3)]),
    case("legacy", _legacy(lambda m, a, b: (m.lu(a), a.lu(get_infos=True), m.lu_solve(b, *m.lu(a)),
                                            b.lu_solve(*a.lu()))), [(3, 3), (3, 2)]),
    case("singular", lambda m, a: tuple(m.linalg.lu(a)), vals=[np.array([[0.0, 1.0], [0.0, 2.0]])]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", LU_CASES)
def test_lu_matches_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("call", [
    pytest.param(lambda m: m.linalg.lu_factor(m.zeros(2, 2)), id="singular_factor"),
    pytest.param(lambda m: m.linalg.lu_factor(m.ones(3)), id="vector"),
    pytest.param(lambda m: m.linalg.lu(m.ones(2, 2, dtype=m.long)), id="ints"),
])
def test_invalid_arguments_raise_torchs_exception_type(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(lf)
    assert type(ours.value) is type(theirs.value), f"{ours.value!r} where torch raises {theirs.value!r}"


def test_legacy_infos_of_a_singular_matrix_and_its_warning_match_torch():
    with pytest.warns(UserWarning, match="deprecated"):
        ours = lf.lu(lf.zeros(2, 2), get_infos=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.lu(torch.zeros(2, 2), get_infos=True)
    for a, b in zip(ours, theirs):
        assert a.tolist() == b.tolist() and a.dtype.name == str(b.dtype).split(".")[-1]


def test_gradcheck_of_lu():
    rng = np.random.default_rng(5)
    a = lf.tensor(rng.uniform(-1, 1, (2, 3, 3)) + 2 * np.eye(3), dtype=lf.float64, requires_grad=True)
    b = lf.tensor(rng.uniform(-1, 1, (2, 3, 2)), dtype=lf.float64, requires_grad=True)
    assert lf.gradcheck(lambda a, b: (lf.linalg.lu(a).L, lf.linalg.lu(a).U, lf.linalg.lu_factor(a).LU,
                                      lf.linalg.lu_solve(*lf.linalg.lu_factor(a), b),
                                      lf.linalg.lu_solve(*lf.linalg.lu_factor(a), b, adjoint=True)), [a, b])
