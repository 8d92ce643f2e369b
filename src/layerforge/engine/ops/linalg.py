"""Matrix products: ``matmul`` (``@``) with 1-D, 2-D and batched operands, as PyTorch broadcasts them."""
from __future__ import annotations

import numpy as np

from ..autograd import Node
from ..tensor import Tensor
from .common import apply, promote_pair, unbroadcast, xp_of


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
