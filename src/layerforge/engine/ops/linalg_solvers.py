"""Solvers built on triangular systems, with gradients: linalg.solve_triangular (and the legacy
torch.triangular_solve), cholesky_solve, cholesky_inverse, linalg.lstsq and matrix_exp; and the
compositions linalg.vander, tensorinv and tensorsolve.

- The triangular solve substitutes row by row (vectorised over the batch and the right-hand sides), on
  numpy or cupy alike; like PyTorch's it reads only the triangle asked for and does not check for zeros
  on the diagonal (they give inf/nan, as in PyTorch).
- cholesky_solve's gradient is PyTorch's formula (it differentiates A = L L^T with the whole L given),
  so it agrees with PyTorch's also off the triangle.
- lstsq is pinv(A) @ B: the gradient PyTorch's own lstsq backward uses.
- matrix_exp is scaling and squaring of a degree-18 Taylor polynomial, composed of matmuls; its gradient
  is that of the composition (equal to PyTorch's to within float rounding).
"""
from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np

from ..autograd import Node
from ..tensor import Tensor
from .common import apply, xp_of
from .linalg_dense import _square
from .shape import cat


def _mT(a):
    return a.swapaxes(-1, -2)


def _triangle(xp, a, upper: bool, unit: bool):
    t = xp.triu(a) if upper else xp.tril(a)
    if unit:
        n = a.shape[-1]
        t = t * (1 - xp.eye(n, dtype=a.dtype)) + xp.eye(n, dtype=a.dtype)
    return t


def _substitute(xp, t, b, upper: bool):
    """X with T X = B for a triangular T (..., n, n) and B (..., n, k) of the same batch shape."""
    n = t.shape[-1]
    x = xp.zeros(b.shape, dtype=b.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in (reversed(range(n)) if upper else range(n)):
            known = (t[..., i, :, None] * x).sum(axis=-2)  # rows not solved yet are still zero
            x[..., i, :] = (b[..., i, :] - known) / t[..., i, i, None]
    return x


class SolveTriangular(Node):
    def __init__(self, upper: bool, unit: bool):
        self.upper, self.unit = upper, unit

    def forward(self, a, b):
        xp = xp_of(a)
        self.t = _triangle(xp, a, self.upper, self.unit)
        self.x = _substitute(xp, self.t, b, self.upper)
        return self.x

    def backward(self, g):
        xp = xp_of(g)
        gb = _substitute(xp, _mT(self.t), g, not self.upper)
        ga = -(gb @ _mT(self.x))
        ga = xp.triu(ga, 1 if self.unit else 0) if self.upper else xp.tril(ga, -1 if self.unit else 0)
        return ga, gb


def _batched(a: Tensor, b: Tensor, name: str, cast: bool = False):
    if b.ndim < 2:
        raise RuntimeError(f"linalg.{name}: The input tensor B must have at least 2 dimensions.")
    if cast and a.dtype != b.dtype:  # PyTorch's solve_triangular answers in A's dtype
        b = b.to(a.dtype)
    if a.dtype != b.dtype:
        raise RuntimeError(f"linalg.{name}: Expected A and B to have the same dtype, but found A of type "
                           f"{a.dtype.name.capitalize()} and B of type {b.dtype.name.capitalize()} instead.")
    if a.shape[-1] != b.shape[-2]:
        raise RuntimeError(f"linalg.{name}: Incompatible shapes of A and B for the equation AX = B "
                           f"({a.shape[-2]}x{a.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})")
    batch = np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    a = a.expand(*batch, *a.shape[-2:]) if tuple(a.shape[:-2]) != batch else a
    b = b.expand(*batch, *b.shape[-2:]) if tuple(b.shape[:-2]) != batch else b
    return a, b


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,  # noqa: N803 (PyTorch's names)
                     unitriangular: bool = False) -> Tensor:
    """X with A X = B (X A = B when left=False), reading only A's upper or lower triangle."""
    _square(A, "solve_triangular")
    if not left:  # X A = B  <=>  A^T X^T = B^T, and A^T's triangle is the other one
        return solve_triangular(A.transpose(-2, -1), B.transpose(-2, -1), upper=not upper,
                                unitriangular=unitriangular).transpose(-2, -1)
    a, b = _batched(A, B, "solve_triangular", cast=True)
    return apply(SolveTriangular(bool(upper), bool(unitriangular)), a, b)


class TriangularSolveResult(NamedTuple):
    solution: Tensor
    cloned_coefficient: Tensor


def triangular_solve(input: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,  # noqa: A002,N803
                     unitriangular: bool = False) -> TriangularSolveResult:
    """The legacy form: solves A X = input (A^T X = input when transpose) and returns a copy of A too."""
    warnings.warn("torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangular and will be "
                  "removed in a future PyTorch release.", UserWarning, stacklevel=2)
    coefficient = A.transpose(-2, -1) if transpose else A
    solution = solve_triangular(coefficient, input, upper=upper != bool(transpose), unitriangular=unitriangular)
    return TriangularSolveResult(solution, A.clone())


class CholeskySolve(Node):
    """X = (L L^T)^-1 B (U^T U with upper), from the factor's triangle; PyTorch's gradient for the factor."""

    def __init__(self, upper: bool):
        self.upper = upper

    def _solve(self, xp, rhs):
        t = self.t
        if self.upper:  # U^T Y = B, then U X = Y
            return _substitute(xp, t, _substitute(xp, _mT(t), rhs, False), True)
        return _substitute(xp, _mT(t), _substitute(xp, t, rhs, False), True)

    def forward(self, b, factor):
        xp = xp_of(b)
        self.factor = factor
        self.t = _triangle(xp, factor, self.upper, False)
        self.x = self._solve(xp, b)
        return self.x

    def backward(self, g):
        xp = xp_of(g)
        gb = self._solve(xp, g)
        common = gb @ _mT(self.x)
        common = common + _mT(common)
        g_factor = -(self.factor @ common) if self.upper else -(common @ self.factor)
        return gb, g_factor


def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False) -> Tensor:  # noqa: A002
    """X with A X = input, where input2 is A's Cholesky factor (lower, or upper with upper=True)."""
    _square(input2, "cholesky_solve")
    factor, b = _batched(input2, input, "cholesky_solve")
    return apply(CholeskySolve(bool(upper)), b, factor)


def cholesky_inverse(input: Tensor, upper: bool = False) -> Tensor:  # noqa: A002
    """A^-1 from A's Cholesky factor: cholesky_solve of the identity (so PyTorch's gradient too)."""
    _square(input, "cholesky_inverse")
    n = input.shape[-1]
    eye = Tensor._wrap(xp_of(input._data).eye(n, dtype=input._data.dtype)).expand(*input.shape[:-2], n, n)
    return cholesky_solve(eye, input, upper)


class LstsqResult(NamedTuple):
    solution: Tensor
    residuals: Tensor
    rank: Tensor
    singular_values: Tensor


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None) -> LstsqResult:  # noqa: N803
    """The least-squares (minimum-norm) X of A X = B, with PyTorch's CPU outputs for each driver."""
    from .linalg_decomp import pinv, svdvals

    driver = driver or "gelsy"
    if driver not in _DRIVERS:
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of {_DRIVERS}")
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if A._data.dtype.kind != "f":
        raise RuntimeError(f"torch.linalg.lstsq: Expected a floating point or complex tensor as input. "
                           f"Got {A.dtype.name.capitalize()}")
    vector = B.ndim == A.ndim - 1
    rhs = B.unsqueeze(-1) if vector else B
    if A.dtype != B.dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got "
                           f"input's dtype {A.dtype.name.capitalize()} and other's dtype {B.dtype.name.capitalize()}")
    if A.shape[-2] != rhs.shape[-2]:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2). Got "
                           f"{A.shape[-2]} != {rhs.shape[-2]}")
    m, n = A.shape[-2:]
    eps = np.finfo(A._data.dtype).eps
    tolerance = rcond if rcond is not None else eps * max(m, n)
    solution = pinv(A, rtol=tolerance) @ rhs
    xp = xp_of(A._data)
    values = svdvals(A.detach())
    limit = tolerance * values._data.max(axis=-1, keepdims=True) if values.shape[-1] else values._data
    rank = Tensor._wrap((values._data > limit).sum(axis=-1).astype(np.int64))
    empty = Tensor._wrap(xp.zeros((0,), dtype=A._data.dtype))
    residuals = solution.reshape(-1)[:0]  # PyTorch's empty residuals come out of the differentiable node too
    if driver != "gelsy" and m > n and bool((rank._data == n).all()):
        residuals = ((A @ solution - rhs) ** 2).sum(-2)
    if driver == "gels":
        rank = Tensor._wrap(xp.zeros((0,), dtype=np.int64))
    singular_values = values if driver in ("gelsd", "gelss") else empty
    return LstsqResult(solution.squeeze(-1) if vector else solution, residuals, rank, singular_values)


_TAYLOR_DEGREE = 18


def matrix_exp(A: Tensor) -> Tensor:  # noqa: N803
    """exp(A) = (T(A / 2^s))^(2^s) with T the degree-18 Taylor polynomial and |A / 2^s|_1 <= 1/2."""
    _square(A, "matrix_exp")
    n = A.shape[-1]
    if A.numel() == 0:
        return A.clone()
    norm = float(abs(A._data).sum(axis=-2).max())
    squarings = math.ceil(math.log2(norm / 0.5)) if math.isfinite(norm) and norm > 0.5 else 0
    x = A / float(2 ** squarings)
    eye = Tensor._wrap(xp_of(A._data).eye(n, dtype=A._data.dtype))
    result, term = eye + x, x
    for k in range(2, _TAYLOR_DEGREE + 1):
        term = (term @ x) / float(k)
        result = result + term
    for _ in range(squarings):
        result = result @ result
    return result


def vander(x: Tensor, N=None) -> Tensor:  # noqa: N803
    """linalg.vander: the powers x^0, x^1, ..., x^(N-1) along a new last dim (a running product, so
    integer input stays integer and the gradient is the product's)."""
    if x.ndim < 1:
        raise RuntimeError("x must be at least 1-dimensional.")
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    ones = Tensor._wrap(xp_of(x._data).ones(tuple(x.shape) + (1,), dtype=x._data.dtype))
    return cat([ones, x.unsqueeze(-1).expand(*x.shape, n - 1)], -1).cumprod(-1)


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:  # noqa: N803
    """The inverse of A read as a matrix of its first ``ind`` dims by the rest, shaped back."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = math.prod(A.shape[:ind]), math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    from .linalg_dense import inverse
    return inverse(A.reshape(rows, cols)).reshape(*A.shape[ind:], *A.shape[:ind])


def tensorsolve(A: Tensor, B: Tensor, dims=None) -> Tensor:  # noqa: N803
    """X with tensordot(A, X, X.ndim) = B; ``dims`` of A are moved to the end first."""
    from .linalg_dense import solve
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        A = A.permute(*[d for d in range(A.ndim) if d not in dims], *dims)
    result_shape = tuple(A.shape[B.ndim:])
    rows, cols = math.prod(B.shape), math.prod(result_shape)
    if tuple(A.shape[:B.ndim]) != tuple(B.shape) or rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {cols} != {rows}")
    return solve(A.reshape(rows, cols), B.reshape(rows)).reshape(*result_shape)
