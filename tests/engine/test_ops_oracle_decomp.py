"""Matrix decompositions against PyTorch: eigh/eigvalsh, svd/svdvals (and the legacy torch.svd), qr,
cholesky, pinv, matrix_rank. Eigenvectors and singular vectors are defined up to sign, so their
comparisons go through sign-free functions of them (squares, reconstructions); values and every
gradient are compared, and a float64 gradcheck runs on each."""
import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import DEVICES, check, torch

pytestmark = [pytest.mark.filterwarnings("ignore:torch.qr is deprecated:UserWarning"),
              pytest.mark.filterwarnings("ignore:torch.svd is deprecated:UserWarning"),
              pytest.mark.filterwarnings("ignore:torch.cholesky is deprecated:UserWarning")]

RNG = np.random.default_rng(11)
TALL = RNG.standard_normal((5, 3))
WIDE = RNG.standard_normal((2, 4))
BATCH = RNG.standard_normal((2, 4, 3))
SPD = TALL.T @ TALL + np.eye(3)
SPD_BATCH = np.einsum("bij,bik->bjk", BATCH, BATCH) + np.eye(3)


def case(name, fn, vals, **options):
    return pytest.param(fn, (), {"vals": vals, **options}, id=name)


DECOMPOSITIONS = [
    case("eigh_values", lambda m, a: (m.linalg.eigh(a).eigenvalues, m.linalg.eigvalsh(a)), [SPD]),
    case("eigh_vectors_squared", lambda m, a: m.linalg.eigh(a).eigenvectors ** 2, [SPD]),
    case("eigh_batched_upper", lambda m, a: m.linalg.eigh(a, UPLO="U").eigenvectors ** 2, [SPD_BATCH]),
    case("svdvals", lambda m, a: (m.linalg.svdvals(a), m.linalg.svd(a, full_matrices=False).S), [TALL]),
    case("svd_vectors_squared", lambda m, a: (m.linalg.svd(a, full_matrices=False).U ** 2,
                                              m.linalg.svd(a, full_matrices=False).Vh ** 2), [TALL]),
    case("svd_wide", lambda m, a: (m.linalg.svd(a, full_matrices=False).U ** 2,
                                   m.linalg.svd(a, full_matrices=False).Vh ** 2), [WIDE]),
    case("svd_reconstruction_batched", lambda m, a: (lambda r: r.U @ m.diag_embed(r.S) @ r.Vh)(
        m.linalg.svd(a, full_matrices=False)), [BATCH]),
    case("svd_legacy", lambda m, a: (lambda r: (r.S, r.U ** 2, r.V ** 2))(m.svd(a)), [TALL]),
    case("qr", lambda m, a: m.linalg.qr(a), [TALL]),
    case("qr_batched_legacy", lambda m, a: m.qr(a), [BATCH]),
    case("cholesky", lambda m, a: (m.linalg.cholesky(a), m.linalg.cholesky(a, upper=True), m.cholesky(a)), [SPD]),
    case("cholesky_batched", lambda m, a: m.linalg.cholesky(a), [SPD_BATCH]),
    case("pinv", lambda m, a, b: (m.linalg.pinv(a), m.linalg.pinv(b), m.pinverse(a)), [TALL, WIDE]),
    case("matrix_rank", lambda m, a: (m.linalg.matrix_rank(a), m.linalg.matrix_rank(a[:, :1] * m.ones(1, 3,
                                                                                             dtype=a.dtype,
                                                                                             device=a.device))),
         [TALL], grad=False),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", DECOMPOSITIONS)
def test_decomposition_matches_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, rtol=1e-7, atol=1e-9, **options)


def test_cholesky_of_an_indefinite_matrix_raises_linalg_error():
    with pytest.raises(torch.linalg.LinAlgError):
        torch.linalg.cholesky(torch.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(lf.linalg.LinAlgError, match="positive-definite"):
        lf.linalg.cholesky(lf.tensor([[1.0, 2.0], [2.0, 1.0]]))


def test_gradcheck_of_decompositions():
    tall = lf.tensor(TALL, requires_grad=True)
    spd = lf.tensor(SPD, requires_grad=True)
    assert lf.gradcheck(lambda a: (lf.linalg.svdvals(a), lf.linalg.svd(a, full_matrices=False).U ** 2,
                                   lf.linalg.qr(a).Q, lf.linalg.qr(a).R, lf.linalg.pinv(a)), [tall])
    # eigh and cholesky read one triangle of a symmetric input: check them along symmetric directions
    assert lf.gradcheck(lambda a: (lf.linalg.eigh((a + a.T) / 2).eigenvectors ** 2,
                                   lf.linalg.eigvalsh((a + a.T) / 2), lf.linalg.cholesky((a + a.T) / 2)), [spd])
