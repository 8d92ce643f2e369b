"""Dense linear algebra against PyTorch (torch.linalg and the torch.* forms): values, dtypes and every
gradient, batched and broadcast; plus float64 gradchecks."""
import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import DEVICES, check, torch


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


WELL_CONDITIONED = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.3, -0.4, 2.5]])
NEGATIVE_DET = np.array([[0.0, 2.0], [1.5, 0.3]])

LINALG = [
    case("inv", lambda m, a: (m.linalg.inv(a), m.inverse(a), a.inverse()), vals=[WELL_CONDITIONED]),
    case("inv_batched", lambda m, a: m.linalg.inv(a + 3 * m.eye(3, dtype=a.dtype, device=a.device)), [(2, 3, 3)]),
    case("det", lambda m, a: (m.linalg.det(a), m.det(a), a.det()), vals=[WELL_CONDITIONED]),
    case("det_batched", lambda m, a: m.det(a + 2 * m.eye(2, dtype=a.dtype, device=a.device)), [(4, 2, 2)]),
    case("slogdet", lambda m, a: (m.linalg.slogdet(a), m.slogdet(a)), vals=[NEGATIVE_DET]),
    case("logdet", lambda m, a, b: (m.logdet(a), b.logdet()), vals=[WELL_CONDITIONED, NEGATIVE_DET]),
    case("solve_matrix", lambda m, a, b: m.linalg.solve(a, b), vals=[WELL_CONDITIONED, np.arange(6.0).reshape(3, 2)]),
    case("solve_vector", lambda m, a, b: m.linalg.solve(a, b), vals=[WELL_CONDITIONED, np.array([1.0, -2.0, 0.5])]),
    case("solve_broadcast", lambda m, a, b: m.linalg.solve(a + 3 * m.eye(3, dtype=a.dtype, device=a.device), b), [(2, 3, 3), (3, 1)]),
    case("solve_left_false", lambda m, a, b: m.linalg.solve(a, b, left=False), vals=[WELL_CONDITIONED,
                                                                                    np.ones((2, 3))]),
    case("matrix_power", lambda m, a: (m.linalg.matrix_power(a, 3), m.matrix_power(a, 0), a.matrix_power(-2)),
         vals=[WELL_CONDITIONED]),
    case("vector_norm", lambda m, x: (m.linalg.vector_norm(x), m.linalg.vector_norm(x, 1, dim=1),
                                      m.linalg.vector_norm(x, float("inf"), dim=(0, 1), keepdim=True),
                                      m.linalg.vector_norm(x, 3, dim=-1), m.linalg.vector_norm(x, float("-inf"))),
         [(2, 3, 4)]),
    case("matrix_norm", lambda m, a: [m.linalg.matrix_norm(a, o) for o in ("fro", 1, -1, float("inf"), float("-inf"))],
         [(2, 3, 4)]),
    case("norm", lambda m, a, v: (m.linalg.norm(a), m.linalg.norm(v), m.linalg.norm(a, 1), m.linalg.norm(a, dim=1),
                                  m.linalg.norm(v, 3)), [(3, 4), (5,)]),
    case("norm_zero_vector", lambda m, v: m.linalg.vector_norm(v), vals=[np.zeros(3)]),
    case("multi_dot_cross_vecdot", lambda m, a, b, c: (m.linalg.multi_dot([a, b, c]), m.linalg.cross(c, c.flip(0)),
                                                       m.linalg.vecdot(a, a)), [(2, 3), (3, 4), (4, 3)]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", LINALG)
def test_linalg_matches_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", LINALG[:4])
def test_linalg_matches_torch_in_float32(fn, shapes, options, device):
    check(fn, shapes, device=device, dtype="float32", atol=1e-4, rtol=1e-4, **options)


@pytest.mark.parametrize("call", [
    pytest.param(lambda m: m.linalg.inv(m.zeros(2, 3)), id="inv_not_square"),
    pytest.param(lambda m: m.linalg.det(m.ones(2, 2, dtype=m.long)), id="det_of_ints"),
    pytest.param(lambda m: m.linalg.solve(m.eye(2), m.ones(3)), id="solve_shapes"),
])
def test_invalid_arguments_raise_torchs_exception_type(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(lf)
    assert type(ours.value) is type(theirs.value), f"{ours.value!r} where torch raises {theirs.value!r}"


def test_gradcheck_of_linear_algebra():
    rng = np.random.default_rng(7)
    a = lf.tensor(rng.uniform(-1, 1, (2, 3, 3)) + 3 * np.eye(3), dtype=lf.float64, requires_grad=True)
    b = lf.tensor(rng.uniform(-1, 1, (2, 3, 2)), dtype=lf.float64, requires_grad=True)
    assert lf.gradcheck(lambda x, y: (lf.linalg.inv(x), lf.linalg.det(x), lf.linalg.slogdet(x).logabsdet,
                                      lf.linalg.solve(x, y), lf.linalg.matrix_power(x, -3),
                                      lf.linalg.matrix_norm(x, 1), lf.linalg.vector_norm(y, 3, dim=1)), [a, b])


def test_a_singular_matrix_raises_linalg_error_as_torch():
    with pytest.raises(torch.linalg.LinAlgError):
        torch.linalg.inv(torch.zeros(2, 2))
    for call in (lambda: lf.linalg.inv(lf.zeros(2, 2)), lambda: lf.linalg.solve(lf.zeros(2, 2), lf.ones(2))):
        with pytest.raises(lf.linalg.LinAlgError, match="singular"):
            call()
    assert issubclass(lf.linalg.LinAlgError, RuntimeError) and issubclass(torch.linalg.LinAlgError, RuntimeError)
