"""Triangular and Cholesky solvers, lstsq and matrix_exp against PyTorch: values, dtypes, every
gradient (also off the triangle a solver reads), broadcasting of batches, empty matrices, PyTorch's
exception types, and float64 gradchecks."""
import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import DEVICES, check, torch

LOWER = np.array([[2.0, 0.0, 0.0], [0.5, 1.5, 0.0], [-0.3, 0.8, 2.5]])
FULL = np.array([[2.0, 0.7, -0.4], [0.5, 1.5, 0.9], [-0.3, 0.8, 2.5]])  # both triangles differ from zero
WIDE = np.array([[1.0, 2.0, 0.5, -1.0], [0.3, -0.7, 1.2, 2.0]])


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


def _eye(m, a, n=3):
    return m.eye(n, dtype=a.dtype, device=a.device)


SOLVERS = [
    case("solve_triangular_lower", lambda m, a, b: m.linalg.solve_triangular(a, b, upper=False),
         vals=[FULL, np.arange(6.0).reshape(3, 2)]),
    case("solve_triangular_upper", lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True),
         vals=[FULL, np.arange(6.0).reshape(3, 2)]),
    case("solve_triangular_unit_right", lambda m, a, b: (
        m.linalg.solve_triangular(a, b, upper=True, unitriangular=True),
        m.linalg.solve_triangular(a, b.mT, upper=False, left=False)), vals=[FULL, np.ones((3, 4))]),
    case("solve_triangular_broadcast", lambda m, a, b: m.linalg.solve_triangular(a + 3 * _eye(m, a), b, upper=False),
         [(2, 1, 3, 3), (4, 3, 2)]),
    case("solve_triangular_empty", lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True), [(0, 3, 3), (3, 2)]),
    case("triangular_solve_legacy", lambda m, b, a: (
        m.triangular_solve(b, a), m.triangular_solve(b, a, upper=False, transpose=True),
        b.triangular_solve(a, unitriangular=True)), vals=[np.arange(6.0).reshape(3, 2), FULL]),
    case("cholesky_solve", lambda m, b, l: (m.cholesky_solve(b, l), b.cholesky_solve(l.mT, upper=True)),
         vals=[np.arange(6.0).reshape(3, 2), LOWER]),
    case("cholesky_solve_reads_the_triangle", lambda m, b, l: m.cholesky_solve(b, l), vals=[np.ones((3, 1)), FULL]),
    case("cholesky_solve_broadcast", lambda m, b, l: m.cholesky_solve(b, l + 3 * _eye(m, l)), [(2, 3, 2), (3, 3)]),
    case("cholesky_inverse", lambda m, l: (m.cholesky_inverse(l), l.mT.cholesky_inverse(upper=True)), vals=[LOWER]),
    case("matrix_exp", lambda m, a: (m.matrix_exp(a), m.linalg.matrix_exp(3 * a), a.matrix_exp()), [(2, 3, 3)]),
    case("matrix_exp_small_and_empty", lambda m, a, e: (m.matrix_exp(a * 1e-3), m.matrix_exp(e)), [(4, 4), (2, 0, 0)]),
    case("lstsq_tall", lambda m, a, b: tuple(m.linalg.lstsq(a, b)), vals=[WIDE.T.copy(), np.arange(8.0).reshape(4, 2)]),
    case("lstsq_wide_min_norm", lambda m, a, b: m.linalg.lstsq(a, b).solution, vals=[WIDE, np.ones((2, 3))]),
    case("lstsq_drivers", lambda m, a, b: [tuple(m.linalg.lstsq(a, b, driver=d)) for d in ("gels", "gelsd", "gelss")],
         vals=[WIDE.T.copy(), np.arange(8.0).reshape(4, 2)]),
    case("norms_from_singular_values", lambda m, a: (
        [m.linalg.matrix_norm(a, o) for o in ("nuc", 2, -2)], m.linalg.matrix_norm(a, "nuc", dim=(0, 2), keepdim=True),
        m.linalg.norm(a[0], 2), m.nuclear_norm(a[0]), m.nuclear_norm(a, (1, 2), True), m.nuclear_norm(a[1], True),
        m.frobenius_norm(a, (0, 1)), m.linalg.cond(a), m.linalg.cond(a, -2)), [(2, 3, 4)]),
    # torch's backward of cond(A, 'fro') fails (it modifies the inverse in place); gradcheck covers ours
    case("cond_by_norms", lambda m, sq: (m.linalg.cond(sq, "fro"), m.linalg.cond(sq, 1), m.linalg.cond(sq, float("inf"))),
         [(2, 3, 3)], grad=False),
    case("vander", lambda m, x: (m.linalg.vander(x), m.linalg.vander(x, N=2), m.linalg.vander(x[0], N=5)), [(2, 3)]),
    case("tensorinv", lambda m, a: m.linalg.tensorinv(a + 3 * _eye(m, a, 6).reshape(2, 3, 6), ind=2), [(2, 3, 6)]),
    case("tensorinv_ind1", lambda m, a: m.linalg.tensorinv(a + 3 * _eye(m, a, 4).reshape(4, 2, 2), ind=1),
         [(4, 2, 2)]),
    case("tensorsolve", lambda m, a, b: (m.linalg.tensorsolve(a + 3 * _eye(m, a, 6).reshape(2, 3, 6), b),
                                         m.linalg.tensorsolve((a + 3 * _eye(m, a, 6).reshape(2, 3, 6)).permute(2, 0, 1),
                                                              b, dims=(0,))), [(2, 3, 6), (2, 3)]),
    case("lstsq_batched_vector", lambda m, a, b: m.linalg.lstsq(a, b).solution, [(2, 5, 3), (2, 5)]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", SOLVERS)
def test_solvers_match_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", [SOLVERS[0], SOLVERS[6], SOLVERS[10]])
def test_solvers_match_torch_in_float32(fn, shapes, options, device):
    check(fn, shapes, device=device, dtype="float32", atol=1e-4, rtol=1e-4, **options)


def test_solve_triangular_answers_in_the_dtype_of_a_as_torch():
    for a_type, b_type in (("float32", "float64"), ("float64", "float32"), ("float64", "int64")):
        theirs = torch.linalg.solve_triangular(torch.eye(2, dtype=getattr(torch, a_type)),
                                               torch.ones(2, 1, dtype=getattr(torch, b_type)), upper=True)
        ours = lf.linalg.solve_triangular(lf.eye(2, dtype=getattr(lf, a_type)),
                                          lf.ones(2, 1, dtype=getattr(lf, b_type)), upper=True)
        assert ours.dtype.name == str(theirs.dtype).split(".")[-1]


def test_a_zero_on_the_diagonal_gives_inf_and_nan_as_in_torch():
    a, b = [[0.0, 0.0], [1.0, 1.0]], [[1.0], [1.0]]
    theirs = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=False)
    ours = lf.linalg.solve_triangular(lf.tensor(a), lf.tensor(b), upper=False)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("call", [
    pytest.param(lambda m: m.linalg.solve_triangular(m.ones(2, 3), m.ones(2, 1), upper=True), id="not_square"),
    pytest.param(lambda m: m.linalg.solve_triangular(m.eye(2), m.ones(2), upper=True), id="vector_rhs"),
    pytest.param(lambda m: m.linalg.solve_triangular(m.eye(2), m.ones(3, 1), upper=True), id="shapes"),
    pytest.param(lambda m: m.cholesky_solve(m.ones(2, 1, dtype=m.float64), m.eye(2)), id="cholesky_solve_dtypes"),
    pytest.param(lambda m: m.linalg.lstsq(m.ones(3, 2, dtype=m.float64), m.ones(3, 1)), id="lstsq_dtypes"),
    pytest.param(lambda m: m.linalg.solve_triangular(m.eye(2), m.ones(2, 1)), id="upper_is_required"),
    pytest.param(lambda m: m.matrix_exp(m.ones(2, 2, dtype=m.long)), id="matrix_exp_of_ints"),
    pytest.param(lambda m: m.linalg.lstsq(m.ones(3, 2), m.ones(2, 1)), id="lstsq_shapes"),
    pytest.param(lambda m: m.linalg.cond(m.ones(3, 2), "fro"), id="cond_not_square"),
    pytest.param(lambda m: m.linalg.tensorinv(m.ones(2, 3), ind=1), id="tensorinv_shape"),
    pytest.param(lambda m: m.linalg.vander(m.ones(3), N=1), id="vander_n"),
    pytest.param(lambda m: m.linalg.matrix_norm(m.ones(3, 2), 3), id="matrix_norm_order"),
    pytest.param(lambda m: m.linalg.lstsq(m.ones(3, 2), m.ones(3, 1), driver="qr"), id="lstsq_driver"),
])
def test_invalid_arguments_raise_torchs_exception_type(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(lf)
    assert type(ours.value) is type(theirs.value), f"{ours.value!r} where torch raises {theirs.value!r}"


def test_gradcheck_of_solvers():
    rng = np.random.default_rng(3)
    a = lf.tensor(rng.uniform(-1, 1, (2, 3, 3)) + 3 * np.eye(3), dtype=lf.float64, requires_grad=True)
    b = lf.tensor(rng.uniform(-1, 1, (2, 3, 2)), dtype=lf.float64, requires_grad=True)
    tall = lf.tensor(rng.uniform(-1, 1, (5, 3)), dtype=lf.float64, requires_grad=True)
    assert lf.gradcheck(lambda x, y: (lf.linalg.solve_triangular(x, y, upper=True),
                                      lf.linalg.solve_triangular(x, y.mT, upper=False, left=False, unitriangular=True),
                                      lf.cholesky_solve(y, x.tril()), lf.cholesky_inverse(x.triu(), upper=True),
                                      lf.matrix_exp(x)), [a, b])
    assert lf.gradcheck(lambda x: (lf.linalg.lstsq(x, x[:, :2] + 1).solution, lf.nuclear_norm(x),
                                   lf.linalg.matrix_norm(x, 2), lf.linalg.matrix_norm(x, -2)), [tall])
    assert lf.gradcheck(lambda x: (lf.linalg.cond(x, "fro"), lf.linalg.cond(x, 1), lf.linalg.cond(x)), [a])
