"""Dense linear algebra with gradients: inverse, det, slogdet/logdet, solve, matrix_power, and the
vector and matrix norms of ``torch.linalg``. Batched over leading dims, on numpy or cupy.

Gradients are the textbook ones (Giles, "An extended collection of matrix derivative results", 2008):
d(A^-1) = -A^-T g A^-T, d(det A) = g det(A) A^-T, d(log|det A|) = g A^-T, d(A^-1 B) via one more solve.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..autograd import Node
from ..tensor import Tensor
from .common import apply, normalize_dim, unbroadcast, xp_of
from .elementwise_functions import abs, where
from .linalg import PNorm, matmul
from .reduce import amax, amin, sum
from .shape import reshape


def _mT(a):
    return a.swapaxes(-1, -2)


def _square(a: Tensor, name: str):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"linalg.{name}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2] if a.ndim > 1 else 1} by {a.shape[-1]} matrices")
    if a._data.dtype.kind != "f":
        raise RuntimeError(f"linalg.{name}: Expected a floating point or complex tensor as input. Got "
                           f"{a.dtype.name.capitalize()}")


class LinAlgError(RuntimeError):
    """A matrix the operation cannot work with (singular, ...), as torch.linalg.LinAlgError."""


def _singular(error) -> LinAlgError:
    return LinAlgError(f"linalg.inv: The diagonal element is zero, the inversion could not be completed "
                       f"because the input matrix is singular. ({error})")


class Inverse(Node):
    def forward(self, a):
        try:
            self.out = xp_of(a).linalg.inv(a)
        except np.linalg.LinAlgError as error:
            raise _singular(error) from None
        return self.out

    def backward(self, g):
        inv_t = _mT(self.out)
        return -(inv_t @ g @ inv_t)


class Det(Node):
    def forward(self, a):
        xp = xp_of(a)
        self.a = a
        self.out = xp.linalg.det(a)
        return self.out

    def backward(self, g):
        xp = xp_of(g)
        inv_t = _mT(xp.linalg.inv(self.a))
        return (g * self.out)[..., None, None] * inv_t


class SlogDet(Node):
    def forward(self, a):
        xp = xp_of(a)
        self.a = a
        sign, logabs = xp.linalg.slogdet(a)
        return sign.astype(a.dtype), logabs.astype(a.dtype)

    def backward(self, g_sign, g_logabs):
        if g_logabs is None:
            return xp_of(self.a).zeros_like(self.a)
        inv_t = _mT(xp_of(g_logabs).linalg.inv(self.a))
        return g_logabs[..., None, None] * inv_t


class Solve(Node):
    """X with A X = B (B a batch of matrices here; vectors are made columns by the caller)."""

    def forward(self, a, b):
        xp = xp_of(a)
        self.a = a
        try:
            self.x = xp.linalg.solve(a, b)
        except np.linalg.LinAlgError as error:
            raise LinAlgError(f"torch.linalg.solve: The solver failed because the input matrix is singular. "
                              f"({error})") from None
        return self.x

    def backward(self, g):
        xp = xp_of(g)
        gb = xp.linalg.solve(_mT(self.a), g)
        ga = -(gb @ _mT(self.x))
        return _sum_to(ga, self.inputs[0].shape), _sum_to(gb, self.inputs[1].shape)


def _sum_to(g, shape):
    return unbroadcast(g, tuple(shape))


def inverse(input: Tensor) -> Tensor:  # noqa: A002
    _square(input, "inv")
    return apply(Inverse(), input)


def det(input: Tensor) -> Tensor:  # noqa: A002
    _square(input, "det")
    return apply(Det(), input)


class SignLogAbsDet(NamedTuple):
    sign: Tensor
    logabsdet: Tensor


def slogdet(input: Tensor) -> SignLogAbsDet:  # noqa: A002
    _square(input, "slogdet")
    return SignLogAbsDet(*apply(SlogDet(), input))


class LogDet(Node):
    """log(det A): NaN where the determinant is negative (with a zero gradient there), -inf at zero."""

    def forward(self, a):
        xp = xp_of(a)
        self.a = a
        sign, logabs = xp.linalg.slogdet(a)
        self.positive = sign > 0
        return xp.where(sign < 0, np.nan, xp.where(sign == 0, -np.inf, logabs)).astype(a.dtype)

    def backward(self, g):
        xp = xp_of(g)
        inv_t = _mT(xp.linalg.inv(self.a))
        return xp.where(self.positive, g, 0)[..., None, None] * inv_t


def logdet(input: Tensor) -> Tensor:  # noqa: A002
    _square(input, "logdet")
    return apply(LogDet(), input)


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:  # noqa: N803  (PyTorch's names)
    _square(A, "solve")
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return _mT_tensor(solve(_mT_tensor(A), _mT_tensor(B)))
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    rhs = B.unsqueeze(-1) if vector else B
    if A.shape[-1] != rhs.shape[-2]:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({A.shape[-2]}x{A.shape[-1]} and {rhs.shape[-2]}x{rhs.shape[-1]})")
    batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(rhs.shape[:-2]))
    a = A.expand(*batch, *A.shape[-2:]) if tuple(A.shape[:-2]) != batch else A
    b = rhs.expand(*batch, *rhs.shape[-2:]) if tuple(rhs.shape[:-2]) != batch else rhs
    out = apply(Solve(), a, b)
    return out.squeeze(-1) if vector else out


def _mT_tensor(t: Tensor) -> Tensor:
    return t.transpose(-2, -1)


def matrix_power(input: Tensor, n: int) -> Tensor:  # noqa: A002
    if input.ndim < 2 or input.shape[-1] != input.shape[-2]:
        raise RuntimeError("linalg.matrix_power: A must be batches of square matrices")
    if n == 0:  # the identity, still in the graph (with a zero gradient), as PyTorch's
        eye = Tensor._wrap(xp_of(input._data).eye(input.shape[-1], dtype=input._data.dtype))
        return input * 0 + eye
    base = inverse(input) if n < 0 else input
    result, k = None, -n if n < 0 else n
    while k:  # square-and-multiply, as PyTorch computes it
        if k & 1:
            result = base if result is None else matmul(result, base)
        k >>= 1
        if k:
            base = matmul(base, base)
    return result


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """The p-norm of x (flattened, or over dim); zero gradient where the norm is zero, as PyTorch's."""
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{x.dtype.name.capitalize()}")
    if dim is None:
        flat = reshape(x, -1)
        out = _norm_last(flat, ord)
        return reshape(out, (1,) * x.ndim) if keepdim else out
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = sorted(normalize_dim(d, x.ndim) for d in dims)
    rest = [d for d in range(x.ndim) if d not in axes]
    moved = x.permute(*rest, *axes)
    moved = reshape(moved, tuple(x.shape[d] for d in rest) + (-1,))
    out = _norm_last(moved, ord)
    if keepdim:
        out = reshape(out, [1 if d in axes else x.shape[d] for d in range(x.ndim)])
    return out


def _norm_last(x: Tensor, ord) -> Tensor:  # noqa: A002
    if ord == float("-inf"):
        return amin(abs(x), -1)
    if ord == float("inf"):
        return amax(abs(x), -1)
    return apply(PNorm(float(ord)), x)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: N803
    if dtype is not None:
        A = A.to(dtype)
    rows, cols = (normalize_dim(d, A.ndim) for d in dim)
    if ord == "fro":
        return vector_norm(A, 2, (rows, cols), keepdim)
    if ord in (1, -1, float("inf"), float("-inf")):
        # 1: the largest column sum of |A|; inf: the largest row sum; negative: the smallest
        over, across = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = sum(abs(A), over, keepdim=True)
        pick = amax if ord > 0 else amin
        out = pick(sums, across, keepdim=True)
        return out if keepdim else reshape(out, [n for d, n in enumerate(A.shape) if d not in (rows, cols)])
    if ord in ("nuc", 2, -2):  # from the singular values: their sum, the largest or the smallest
        from .linalg_decomp import svdvals

        rest = [d for d in range(A.ndim) if d not in (rows, cols)]
        values = svdvals(A.permute(*rest, rows, cols))
        out = values.sum(-1) if ord == "nuc" else amax(values, -1) if ord == 2 else amin(values, -1)
        if keepdim:
            out = reshape(out, [1 if d in (rows, cols) else n for d, n in enumerate(A.shape)])
        return out
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def frobenius_norm(input: Tensor, dim=(-2, -1), keepdim: bool = False) -> Tensor:  # noqa: A002
    """The legacy torch.frobenius_norm: the 2-norm over dim."""
    return vector_norm(input, 2, dim, keepdim)


def nuclear_norm(input: Tensor, dim=(-2, -1), keepdim: bool = False) -> Tensor:  # noqa: A002
    """The legacy torch.nuclear_norm(input, keepdim=False) or (input, dim, keepdim): the sum of singular values."""
    if isinstance(dim, bool):  # nuclear_norm(input, keepdim)
        dim, keepdim = (-2, -1), dim
    return matrix_norm(input, "nuc", dim, keepdim)


def cond(A: Tensor, p=None) -> Tensor:  # noqa: N803
    """The condition number: largest over smallest singular value, or norm(A, p) * norm(A^-1, p)."""
    if p in (None, 2, -2):
        from .linalg_decomp import svdvals

        values = svdvals(A)
        high, low = amax(values, -1), amin(values, -1)
        return low / high if p == -2 else high / low
    return matrix_norm(A, p) * matrix_norm(inverse(A), p)


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: N803
    """torch.linalg.norm: a vector norm for 1-D input or one dim, a matrix norm for two dims."""
    if isinstance(ord, str) or (dim is not None and not isinstance(dim, int) and len(dim) == 2) or \
            (dim is None and ord is not None and A.ndim == 2):
        return matrix_norm(A, "fro" if ord is None else ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def multi_dot(tensors) -> Tensor:
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t)
    return out



def renorm(input: Tensor, p, dim: int, maxnorm) -> Tensor:  # noqa: A002
    """Each slice along dim whose p-norm exceeds maxnorm, scaled down to norm maxnorm (as PyTorch)."""
    axis = normalize_dim(dim, input.ndim)
    others = tuple(d for d in range(input.ndim) if d != axis)
    norms = vector_norm(input, p, others, keepdim=True) if others else abs(input)
    xp = xp_of(input._data)
    big = Tensor._wrap(norms._data > maxnorm)
    factor = where(big, maxnorm / (norms + 1e-7), Tensor._wrap(xp.ones((), dtype=input._data.dtype)))
    return input * factor
