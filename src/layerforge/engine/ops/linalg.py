"""Matrix products: ``matmul`` (``@``) with 1-D, 2-D and batched operands, as PyTorch broadcasts them;
the add* forms (addmm, baddbmm, ...), kron, cross, inner and cdist."""
from __future__ import annotations

import numpy as np

from ..autograd import Node
from ..tensor import Tensor
from .common import apply, normalize_dim, promote_pair, unbroadcast, xp_of
from .einsum import tensordot
from .elementwise_functions import add, mul
from .rearrange import select
from .shape import stack


class MatMul(Node):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        a, b = self.a, self.b
        need_a, need_b = self.inputs[0].requires_grad, self.inputs[1].requires_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case (a linear layer), without helper calls
            # An input that needs no gradient (the data batch) costs no matrix product.
            return (g @ b.T if need_a else None), (a.T @ g if need_b else None)
        xp = xp_of(g)
        if a.ndim == 1 and b.ndim == 1:
            return g * b, g * a
        if a.ndim == 1:  # (k) @ (..., k, n) -> (..., n)
            ga = (g[..., None, :] @ xp.swapaxes(b, -1, -2))[..., 0, :] if need_a else None
            gb = a[:, None] * g[..., None, :] if need_b else None
            return (unbroadcast(ga, a.shape) if need_a else None), gb
        if b.ndim == 1:  # (..., m, k) @ (k) -> (..., m)
            ga = g[..., :, None] * b if need_a else None
            gb = (xp.swapaxes(a, -1, -2) @ g[..., :, None])[..., 0] if need_b else None
            return ga, (unbroadcast(gb, b.shape) if need_b else None)
        ga = unbroadcast(g @ xp.swapaxes(b, -1, -2), a.shape) if need_a else None
        gb = unbroadcast(xp.swapaxes(a, -1, -2) @ g, b.shape) if need_b else None
        return ga, gb


def matmul(a: Tensor, b: Tensor) -> Tensor:
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul(): argument 'other' must be Tensor, not {type(b).__name__}")
    ad, bd = a._data, b._data
    if type(ad) is np.ndarray and type(bd) is np.ndarray and ad.dtype is bd.dtype \
            and ad.ndim == 2 and bd.ndim == 2 and ad.shape[1] == bd.shape[0]:
        return apply(MatMul(), a, b)  # fast path: two CPU matrices that fit
    a, b = promote_pair(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D "
                           f"and {b.ndim}D")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        left = f"{a.shape[-2] if a.ndim > 1 else 1}x{k_a}"
        right = f"{k_b}x{b.shape[-1] if b.ndim > 1 else 1}"
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({left} and {right}); "
                           f"shapes {tuple(a.shape)} @ {tuple(b.shape)}")
    try:
        return apply(MatMul(), a, b)
    except ValueError as exc:
        raise RuntimeError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast "
                           f"({exc})") from None


def mm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"mm: both arguments must be matrices, got {a.ndim}D and {b.ndim}D")
    return matmul(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 3 or b.ndim != 3:
        raise RuntimeError(f"bmm: expected 3D tensors, got {a.ndim}D and {b.ndim}D")
    return matmul(a, b)


def outer(a: Tensor, b: Tensor) -> Tensor:
    return a.reshape(-1, 1) * b.reshape(1, -1)


def dot(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    return matmul(a, b)


def mv(input: Tensor, vec: Tensor) -> Tensor:  # noqa: A002
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {vec.ndim}")
    return matmul(input, vec)


def _scaled_sum(input, product, beta, alpha):
    """beta * input + alpha * product; with beta == 0 the input is ignored (its NaNs too), as PyTorch."""
    scaled = product if alpha == 1 else mul(product, alpha)
    if beta == 0:
        return add(scaled, mul(input.detach(), 0)) if input.shape != scaled.shape else scaled
    return add(input if beta == 1 else mul(input, beta), scaled)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:  # noqa: A002
    return _scaled_sum(input, mm(mat1, mat2), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:  # noqa: A002
    return _scaled_sum(input, mv(mat, vec), beta, alpha)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:  # noqa: A002
    return _scaled_sum(input, bmm(batch1, batch2).sum(0), beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:  # noqa: A002
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:  # noqa: A002
    return _scaled_sum(input, outer(vec1, vec2), beta, alpha)


def inner(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return tensordot(input, other, ([-1], [-1]))


def kron(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Every element of input times the whole of other, laid out blockwise."""
    ndim = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (ndim - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (ndim - other.ndim) + tuple(other.shape))
    spread_a = a.reshape([n for d in a.shape for n in (d, 1)])
    spread_b = b.reshape([n for d in b.shape for n in (1, d)])
    return (spread_a * spread_b).reshape([m * n for m, n in zip(a.shape, b.shape)])


def cross(input: Tensor, other: Tensor, dim=None) -> Tensor:  # noqa: A002
    if input.ndim != other.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions, got {input.ndim} "
                           f"and {other.ndim}")
    if dim is None:  # PyTorch's legacy default: the first dimension of size 3
        dim = next((d for d, n in enumerate(input.shape) if n == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    axis = normalize_dim(dim, input.ndim)
    if input.shape[axis] != 3 or other.shape[axis] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[axis]} and {other.shape[axis]}")
    a = [select(input, axis, k) for k in range(3)]
    b = [select(other, axis, k) for k in range(3)]
    return stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]], axis)


class PNorm(Node):
    """The p-norm over the last axis, with PyTorch's cdist gradient: zero where the norm is zero."""

    def __init__(self, p):
        self.p = p

    def forward(self, d):
        xp = xp_of(d)
        self.d, p = d, self.p
        a = xp.abs(d)
        if p == 0:
            self.out = (a != 0).sum(axis=-1).astype(d.dtype)
        elif p == 1:
            self.out = a.sum(axis=-1)
        elif p == 2:
            self.out = xp.sqrt((d * d).sum(axis=-1))
        elif p == float("inf"):
            self.out = a.max(axis=-1) if d.shape[-1] else xp.zeros(d.shape[:-1], d.dtype)
        else:
            self.out = (a ** p).sum(axis=-1) ** (1.0 / p)
        return self.out

    def backward(self, g):
        xp = xp_of(g)
        d, out, p = self.d, self.out[..., None], self.p
        g = g[..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 0:
                grad = xp.zeros_like(d)
            elif p == 1:
                grad = g * xp.sign(d)
            elif p == 2:
                grad = g * d / out
            elif p == float("inf"):
                hits = xp.abs(d) == out
                grad = g * xp.sign(d) * hits / hits.sum(axis=-1, keepdims=True)
            else:
                grad = g * d * xp.abs(d) ** (p - 2) / out ** (p - 1)
        return xp.where(out == 0, 0, grad).astype(g.dtype, copy=False)


def cdist(x1: Tensor, x2: Tensor, p=2.0, compute_mode=None) -> Tensor:
    """Distances between every row of x1 and every row of x2 (batched over leading dims)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: "
                           f"{x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return apply(PNorm(float(p)), diff)
