"""Matrix products: ``matmul`` (``@``) with 1-D, 2-D and batched operands, as PyTorch broadcasts them."""
from __future__ import annotations

from ..autograd import Node
from ..tensor import Tensor
from .common import apply, promote_pair, unbroadcast, xp_of


class MatMul(Node):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        a, b = self.a, self.b
        xp = xp_of(g)
        if a.ndim == 1 and b.ndim == 1:
            return g * b, g * a
        if a.ndim == 1:  # (k) @ (..., k, n) -> (..., n)
            ga = (g[..., None, :] @ xp.swapaxes(b, -1, -2))[..., 0, :]
            gb = a[:, None] * g[..., None, :]
            return unbroadcast(ga, a.shape), gb
        if b.ndim == 1:  # (..., m, k) @ (k) -> (..., m)
            ga = g[..., :, None] * b
            gb = (xp.swapaxes(a, -1, -2) @ g[..., :, None])[..., 0]
            return ga, unbroadcast(gb, b.shape)
        ga = g @ xp.swapaxes(b, -1, -2)
        gb = xp.swapaxes(a, -1, -2) @ g
        return unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul(): argument 'other' must be Tensor, not {type(b).__name__}")
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
