"""``torch.linalg``: the dense linear algebra the engine has (with gradients), under PyTorch's names."""
from __future__ import annotations

from .ops.linalg import cross as _cross
from .ops.linalg import matmul
from .ops.linalg_dense import (LinAlgError, cond, det, inverse, matrix_norm, matrix_power,  # noqa: F401
                               multi_dot, norm, slogdet, solve, vector_norm)
from .ops.linalg_decomp import cholesky, eigh, eigvalsh, matrix_rank, pinv, qr, svd, svdvals  # noqa: F401
from .ops.linalg_householder import householder_product  # noqa: F401
from .ops.linalg_lu import lu, lu_factor, lu_solve  # noqa: F401
from .ops.linalg_solvers import lstsq, matrix_exp, solve_triangular, tensorinv, tensorsolve, vander  # noqa: F401
from .ops.rearrange import diagonal  # noqa: F401

inv = inverse


def cross(input, other, *, dim=-1):  # noqa: A002
    """linalg.cross: over dim -1 by default (torch.cross's legacy default differs)."""
    return _cross(input, other, dim=dim)


def vecdot(x, y, *, dim=-1):
    return (x * y).sum(dim)


__all__ = ["LinAlgError", "cholesky", "cond", "cross", "det", "diagonal", "eigh", "eigvalsh", "householder_product",
           "inv", "lstsq", "lu", "lu_factor", "lu_solve", "matmul", "matrix_exp", "matrix_norm", "matrix_power",
           "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_triangular", "svd", "svdvals",
           "tensorinv", "tensorsolve", "vander", "vecdot", "vector_norm"]
