"""Householder QR in LAPACK's compact form, as PyTorch exposes it: geqrf (reflectors and their scales),
linalg.householder_product (= orgqr: the first columns of Q = H_1 ... H_k) and ormqr (Q, or Q^T, times
a matrix, from either side), with H_i = I - tau_i v_i v_i^T and v_i the unit-headed column i below the
diagonal. geqrf has no gradient in PyTorch, and raises as PyTorch's when asked for one; the two others
are compositions of matrix products, so their gradients reach the reflectors and the scales."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import backend
from ..autograd import Node
from ..tensor import Tensor
from .common import apply, xp_of


class GeqrfResult(NamedTuple):
    a: Tensor
    tau: Tensor


class Geqrf(Node):
    n_outputs = 2

    def forward(self, a):
        host = backend.to_host(a)  # numpy's LAPACK (cupy's QR has no batched 'raw' mode)
        h, tau = np.linalg.qr(host, mode="raw")
        device = backend.device_of(a)
        return (backend.to_device_array(np.ascontiguousarray(h.swapaxes(-1, -2)).astype(a.dtype), device),
                backend.to_device_array(tau.astype(a.dtype), device))

    def backward(self, g_a, g_tau):
        raise NotImplementedError("the derivative for 'geqrf' is not implemented.")


def geqrf(input: Tensor) -> GeqrfResult:  # noqa: A002
    if input.ndim < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"torch.geqrf: Expected a floating point or complex tensor as input. Got "
                           f"{input.dtype.name.capitalize()}")
    a, tau = apply(Geqrf(), input)
    return GeqrfResult(a, tau)


def _reflectors(A: Tensor, m: int, k: int) -> Tensor:  # noqa: N803
    """(..., m, k): v_i in column i (unit head on the diagonal, A's entries below it)."""
    eye = Tensor._wrap(xp_of(A._data).eye(m, k, dtype=A._data.dtype))
    return A[..., :, :k].tril(-1) + eye


def _check(A: Tensor, tau: Tensor, name: str):  # noqa: N803
    if A.ndim < 2:
        raise RuntimeError(f"torch.linalg.{name}: input must have at least 2 dimensions.")
    if tau.shape[-1] > A.shape[-1]:
        raise RuntimeError(f"torch.linalg.{name}: input.shape[-1] must be greater than or equal to "
                           f"tau.shape[-1]")
    if A.shape[-2] < A.shape[-1] and name == "householder_product":
        raise RuntimeError(f"torch.linalg.{name}: input.shape[-2] must be greater than or equal to "
                           f"input.shape[-1]")


def householder_product(A: Tensor, tau: Tensor) -> Tensor:  # noqa: N803
    """The first n columns of H_1 H_2 ... H_k (A is m x n, tau has k <= n scales)."""
    _check(A, tau, "householder_product")
    m, n = A.shape[-2:]
    k = tau.shape[-1]
    v = _reflectors(A, m, k)
    q = Tensor._wrap(xp_of(A._data).eye(m, n, dtype=A._data.dtype)).expand(*A.shape[:-2], m, n)
    for i in reversed(range(k)):  # Q = H_1 (H_2 (... (H_k E)))
        vi = v[..., :, i:i + 1]
        q = q - (tau[..., i:i + 1].unsqueeze(-1) * vi) @ (vi.transpose(-2, -1) @ q)
    return q


orgqr = householder_product


def ormqr(input: Tensor, tau: Tensor, other: Tensor, left: bool = True,  # noqa: A002
          transpose: bool = False) -> Tensor:
    """Q other, Q^T other, other Q or other Q^T, with Q = H_1 ... H_k from input and tau (geqrf's)."""
    _check(input, tau, "ormqr")
    m = input.shape[-2]
    k = tau.shape[-1]
    if (other.shape[-2] if left else other.shape[-1]) != m:
        raise RuntimeError(f"torch.ormqr: other.shape[{-2 if left else -1}] must be equal to input.shape[-2]")
    v = _reflectors(input, m, k)
    out = other
    # Q C applies H_k first; Q^T C applies H_1 first; C Q applies H_1 first; C Q^T applies H_k first
    order = range(k) if left == transpose else reversed(range(k))
    for i in order:
        vi = v[..., :, i:i + 1]
        scale = tau[..., i:i + 1].unsqueeze(-1)
        if left:
            out = out - (scale * vi) @ (vi.transpose(-2, -1) @ out)
        else:
            out = out - ((out @ vi) * scale) @ vi.transpose(-2, -1)
    return out
