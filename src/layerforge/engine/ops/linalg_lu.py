"""LU with partial pivoting, as LAPACK's getrf (and so PyTorch) computes it: linalg.lu_factor (packed LU
and 1-based int32 pivots), linalg.lu (P, L, U), lu_unpack, linalg.lu_solve and the legacy torch.lu /
torch.lu_solve. The factorization runs column by column, vectorised over the batch, on numpy or cupy.

Gradients (square matrices): for A = P L U, with phi = tril(L^T gL, -1) + triu(gU U^T),
gA = P L^-T phi U^-T (PyTorch's linalg_lu_backward). lu_solve is a composition (unpack, then two
triangular solves), so its gradients are those of the pieces.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from .. import backend
from ..autograd import Node
from ..tensor import Tensor
from .common import apply, xp_of
from .linalg_solvers import _substitute, solve_triangular


def _mT(a):
    return a.swapaxes(-1, -2)


def _factor(a):
    """(packed LU, 0-based pivot rows) of a batch of m x n matrices, partial pivoting by magnitude."""
    xp = xp_of(a)
    lu = a.copy()
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.shape[:-2]
    pivots = xp.zeros(batch + (k,), dtype=np.int64)
    index = tuple(xp.indices(batch)) if batch else ()
    for j in range(k):
        p = xp.argmax(xp.abs(lu[..., j:, j]), axis=-1) + j
        pivots[..., j] = p
        if not batch:
            p = int(p)  # one matrix: a plain row number
        row_j, row_p = lu[..., j, :].copy(), lu[(*index, p)].copy() if batch else lu[p].copy()
        lu[..., j, :] = row_p
        if batch:
            lu[(*index, p)] = row_j
        else:
            lu[p] = row_j
        pivot = lu[..., j, j]
        # LAPACK scales only below a nonzero pivot (a zero pivot means the column below is zero too)
        safe = xp.where(pivot == 0, 1, pivot)
        lu[..., j + 1:, j] = lu[..., j + 1:, j] / safe[..., None]
        lu[..., j + 1:, j + 1:] -= lu[..., j + 1:, j, None] * lu[..., j, None, j + 1:]
    return lu, pivots


def _permutation(xp, pivots, m):
    """P (m x m, batched) with A = P L U, from 0-based LAPACK pivots."""
    batch = pivots.shape[:-1]
    perm = xp.broadcast_to(xp.arange(m), batch + (m,)).copy()
    index = tuple(xp.indices(batch)) if batch else ()
    for j in range(pivots.shape[-1]):
        p = pivots[..., j] if batch else int(pivots[j])
        at_j = perm[..., j].copy()
        at_p = perm[(*index, p)].copy() if batch else perm[p].copy()
        perm[..., j] = at_p
        if batch:
            perm[(*index, p)] = at_j
        else:
            perm[p] = at_j
    # row i of P^T A is row perm[i] of A, so P[perm[i], i] = 1
    eye = xp.eye(m)
    return _mT(eye[perm])


def _unpack_arrays(xp, lu):
    m, n = lu.shape[-2:]
    k = min(m, n)
    lower = xp.tril(lu[..., :, :k], -1) + xp.eye(m, k, dtype=lu.dtype)
    upper = xp.triu(lu[..., :k, :])
    return lower, upper


class LUFactor(Node):
    """A -> (packed LU, pivots); the gradient reaches A through the L and U parts of LU."""

    n_outputs = 2

    def forward(self, a):
        lu, pivots = _factor(a)
        self.lu, self.pivots = lu, pivots
        return lu, (pivots + 1).astype(np.int32)

    def backward(self, g_lu, g_pivots):
        xp = xp_of(g_lu)
        m, n = self.lu.shape[-2:]
        if m != n:
            raise NotImplementedError("the LU gradient is written for square matrices only")
        lower, upper = _unpack_arrays(xp, self.lu)
        perm = _permutation(xp, self.pivots, m).astype(g_lu.dtype)
        g_lower, g_upper = xp.tril(g_lu, -1), xp.triu(g_lu)
        phi = xp.tril(_mT(lower) @ g_lower, -1) + xp.triu(g_upper @ _mT(upper))
        # L^-T phi U^-T by two triangular solves
        left = _substitute(xp, _mT(lower), phi, True)
        right = _mT(_substitute(xp, upper, _mT(left), True))
        return perm @ right


class LUFactorResult(NamedTuple):
    LU: Tensor
    pivots: Tensor


class LUResult(NamedTuple):
    P: Tensor
    L: Tensor
    U: Tensor


def _check(A, name):  # noqa: N803
    if A.ndim < 2:
        raise RuntimeError(f"torch.linalg.{name}: Expected tensor with 2 or more dimensions. Got size: "
                           f"{list(A.shape)} instead")
    if A._data.dtype.kind != "f":
        raise NotImplementedError(f'"lu_cpu" not implemented for \'{A.dtype.name.capitalize()}\'')


def _factor_tensor(A):  # noqa: N803
    packed, pivots = apply(LUFactor(), A)
    return packed, pivots.detach()  # integer pivots carry no gradient


def lu_factor(A: Tensor, *, pivot: bool = True) -> LUFactorResult:  # noqa: N803
    """(LU, pivots) of A = P L U; raises where U has a zero on its diagonal, as PyTorch's."""
    _check(A, "lu_factor")
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    lu, pivots = _factor_tensor(A)
    zero = backend.to_host(xp_of(lu._data).diagonal(lu._data, axis1=-2, axis2=-1) == 0)
    if zero.any():
        rows = zero.reshape(-1, zero.shape[-1])
        where = int(rows[rows.any(-1)][0].argmax())
        raise RuntimeError(f"torch.linalg.lu_factor: U[{where + 1},{where + 1}] is zero and using it on lu_solve "
                           f"would result in a division by zero. If you still want to perform the factorization, "
                           f"consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")
    return LUFactorResult(lu, pivots)


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,  # noqa: N803
              unpack_pivots: bool = True) -> LUResult:
    """(P, L, U) from lu_factor's output; L and U keep the gradient to LU_data."""
    xp = xp_of(LU_data._data)
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    if unpack_data:
        eye = Tensor._wrap(xp.eye(m, k, dtype=LU_data._data.dtype))
        lower = LU_data[..., :, :k].tril(-1) + eye
        upper = LU_data[..., :k, :].triu()
    else:
        lower = upper = Tensor._wrap(xp.zeros((0,), dtype=LU_data._data.dtype))
    if unpack_pivots:
        pivots = LU_pivots._data.astype(np.int64) - 1
        perm = Tensor._wrap(_permutation(xp, pivots, m).astype(LU_data._data.dtype))
    else:
        perm = Tensor._wrap(xp.zeros((0,), dtype=LU_data._data.dtype))
    return LUResult(perm, lower, upper)


def lu(A: Tensor, *, pivot: bool = True) -> LUResult:  # noqa: N803
    """(P, L, U) with A = P L U (no error for a singular A, as PyTorch's)."""
    _check(A, "lu")
    if not pivot:
        raise RuntimeError("linalg.lu: LU without pivoting is not implemented on the CPU")
    packed, pivots = _factor_tensor(A)
    return lu_unpack(packed, pivots)


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True,  # noqa: N803
             adjoint: bool = False) -> Tensor:
    """X with A X = B (A^T X = B with adjoint; X A = B with left=False) from A's lu_factor."""
    perm, lower, upper = lu_unpack(LU, pivots)
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return lu_solve(LU, pivots, B.transpose(-2, -1), adjoint=not adjoint).transpose(-2, -1)
    if adjoint:  # A^T X = B with A^T = U^T L^T P^T
        y = solve_triangular(upper.transpose(-2, -1), B, upper=False)
        z = solve_triangular(lower.transpose(-2, -1), y, upper=True, unitriangular=True)
        return perm @ z
    y = solve_triangular(lower, perm.transpose(-2, -1) @ B, upper=False, unitriangular=True)
    return solve_triangular(upper, y, upper=True)


def lu_legacy(A: Tensor, pivot: bool = True, get_infos: bool = False):  # noqa: N803
    """torch.lu / Tensor.lu: (LU, pivots[, infos]), deprecated in favour of linalg.lu_factor."""
    warnings.warn("torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and will "
                  "be removed in a future PyTorch release.", UserWarning, stacklevel=2)
    _check(A, "lu_factor")
    packed, pivots = _factor_tensor(A)
    if get_infos:
        xp = xp_of(packed._data)
        diagonal = xp.diagonal(packed._data, axis1=-2, axis2=-1)
        first_zero = xp.where((diagonal == 0).any(-1), (diagonal == 0).argmax(-1) + 1, 0).astype(np.int32)
        return packed, pivots, Tensor._wrap(first_zero)
    return packed, pivots


def lu_solve_legacy(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:  # noqa: N803
    """torch.lu_solve(b, LU_data, LU_pivots) / Tensor.lu_solve: the legacy argument order."""
    warnings.warn("torch.lu_solve is deprecated in favor of torch.linalg.lu_solve and will be removed in a future "
                  "PyTorch release.", UserWarning, stacklevel=2)
    return lu_solve(LU_data, LU_pivots, b)
