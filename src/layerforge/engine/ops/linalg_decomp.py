"""Matrix decompositions with gradients: eigh/eigvalsh, svd/svdvals, qr, cholesky; pinv and
matrix_rank from the SVD. Batched over leading dims, on numpy or cupy (both call LAPACK-style kernels,
so the factors have the same sign conventions as PyTorch's on the same library).

Backward formulas: eigh and svd as in Townsend, "Differentiating the singular value decomposition"
(2016) and Giles (2008); qr as in Walter & Lehmann / Seeger et al. (copyltu); cholesky as in Murray,
"Differentiation of the Cholesky decomposition" (2016). They assume distinct eigen/singular values.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..autograd import Node
from ..tensor import Tensor
from .common import apply, xp_of
from .linalg_dense import LinAlgError, _square


def _mT(a):
    return a.swapaxes(-1, -2)


def _diag_embed(xp, v):
    out = xp.zeros(v.shape + (v.shape[-1],), dtype=v.dtype)
    idx = xp.arange(v.shape[-1])
    out[..., idx, idx] = v
    return out


def _off_diagonal_inverse_gaps(xp, values, square: bool):
    """F_ij = 1 / (v_j - v_i) (or v_j^2 - v_i^2) off the diagonal, 0 on it."""
    v = values * values if square else values
    gaps = v[..., None, :] - v[..., :, None]
    n = values.shape[-1]
    idx = xp.arange(n)
    gaps[..., idx, idx] = 1.0
    out = 1.0 / gaps
    out[..., idx, idx] = 0.0
    return out


class Eigh(Node):
    def __init__(self, upper: bool):
        self.uplo = "U" if upper else "L"

    def forward(self, a):
        xp = xp_of(a)
        w, v = xp.linalg.eigh(a, UPLO=self.uplo)
        self.w, self.v = w, v
        return w.astype(a.dtype, copy=False), v.astype(a.dtype, copy=False)

    def backward(self, gw, gv):
        xp = xp_of(self.v)
        v = self.v
        inner = xp.zeros(v.shape, dtype=v.dtype)
        if gv is not None:
            inner = (_mT(v) @ gv) * _off_diagonal_inverse_gaps(xp, self.w, False)
        if gw is not None:
            inner = inner + _diag_embed(xp, gw)
        grad = v @ inner @ _mT(v)
        return 0.5 * (grad + _mT(grad))  # the input is read as symmetric: so is its gradient, as PyTorch's


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


def eigh(A: Tensor, UPLO: str = "L") -> EighResult:  # noqa: N803  (PyTorch's names)
    _square(A, "eigh")
    return EighResult(*apply(Eigh(UPLO == "U"), A))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803
    return eigh(A, UPLO).eigenvalues


class SVD(Node):
    def __init__(self, full_matrices: bool):
        self.full = full_matrices

    def forward(self, a):
        xp = xp_of(a)
        u, s, vh = xp.linalg.svd(a, full_matrices=self.full)
        self.u, self.s, self.vh = u, s, vh
        return u, s, vh

    def backward(self, gu, gs, gvh):
        xp = xp_of(self.s)
        k = self.s.shape[-1]
        u, s, v = self.u[..., :k], self.s, _mT(self.vh[..., :k, :])
        m, n = u.shape[-2], v.shape[-2]
        middle = xp.zeros(s.shape + (k,), dtype=s.dtype)
        if gs is not None:
            middle = middle + _diag_embed(xp, gs)
        gap = _off_diagonal_inverse_gaps(xp, s, True)
        out = None
        if gu is not None:
            gu = gu[..., :k]
            utgu = _mT(u) @ gu
            middle = middle + (gap * (utgu - _mT(utgu))) * s[..., None, :]
            if m > k:  # the part of gU outside U's column space
                out = (gu - u @ utgu) / s[..., None, :] @ _mT(v)
        if gvh is not None:
            gv = _mT(gvh[..., :k, :])
            vtgv = _mT(v) @ gv
            middle = middle + s[..., :, None] * (gap * (vtgv - _mT(vtgv)))
            if n > k:
                extra = u / s[..., None, :] @ _mT(gv - v @ vtgv)
                out = extra if out is None else out + extra
        grad = u @ middle @ _mT(v)
        return grad if out is None else grad + out


class SVDResult(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


def svd(A: Tensor, full_matrices: bool = True, *, driver=None) -> SVDResult:  # noqa: N803
    if A.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    return SVDResult(*apply(SVD(full_matrices), A))


def svdvals(A: Tensor, *, driver=None) -> Tensor:  # noqa: N803
    return svd(A, full_matrices=False).S


class LegacySVD(NamedTuple):
    U: Tensor
    S: Tensor
    V: Tensor


def svd_legacy(input: Tensor, some: bool = True, compute_uv: bool = True) -> LegacySVD:  # noqa: A002
    """torch.svd: (U, S, V) with V, not its transpose; reduced unless some=False."""
    u, s, vh = svd(input, full_matrices=not some)
    return LegacySVD(u, s, vh.transpose(-2, -1))


class QR(Node):
    def __init__(self, mode: str):
        self.mode = mode

    def forward(self, a):
        xp = xp_of(a)
        if a.ndim == 2:
            q, r = xp.linalg.qr(a, mode="complete" if self.mode == "complete" else "reduced")
        else:  # numpy's qr is not batched in older versions: one matrix at a time
            pairs = [xp.linalg.qr(m, mode="complete" if self.mode == "complete" else "reduced")
                     for m in a.reshape((-1,) + a.shape[-2:])]
            q = xp.stack([p[0] for p in pairs]).reshape(a.shape[:-2] + pairs[0][0].shape)
            r = xp.stack([p[1] for p in pairs]).reshape(a.shape[:-2] + pairs[0][1].shape)
        self.q, self.r = q, r
        return q, r

    def backward(self, gq, gr):
        xp = xp_of(self.r)
        q, r = self.q, self.r
        m, n = q.shape[-2], r.shape[-1]
        if m < n or q.shape[-1] != n:
            raise NotImplementedError("linalg.qr: the gradient is implemented for mode='reduced' with "
                                      "at least as many rows as columns")
        gq = xp.zeros(q.shape, dtype=q.dtype) if gq is None else gq
        gr = xp.zeros(r.shape, dtype=r.dtype) if gr is None else gr
        inner = r @ _mT(gr) - _mT(gq) @ q
        copyltu = xp.tril(inner) + _mT(xp.tril(inner, -1))
        b = gq + q @ copyltu
        return _mT(xp.linalg.solve(r, _mT(b)))


class QRResult(NamedTuple):
    Q: Tensor
    R: Tensor


def qr(A: Tensor, mode: str = "reduced") -> QRResult:  # noqa: N803
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    q, r = apply(QR(mode), A)
    if mode == "r":
        return QRResult(Tensor._wrap(xp_of(q._data).zeros((0,), dtype=q._data.dtype)), r)
    return QRResult(q, r)


def qr_legacy(input: Tensor, some: bool = True) -> QRResult:  # noqa: A002
    return qr(input, "reduced" if some else "complete")


class Cholesky(Node):
    def __init__(self, upper: bool):
        self.upper = upper

    def forward(self, a):
        xp = xp_of(a)
        try:
            lower = xp.linalg.cholesky(a)
        except np.linalg.LinAlgError as error:
            raise LinAlgError(f"linalg.cholesky: The factorization could not be completed because the input is "
                              f"not positive-definite ({error}).") from None
        self.lower = lower
        return _mT(lower) if self.upper else lower

    def backward(self, g):
        xp = xp_of(g)
        lower = self.lower
        gl = _mT(g) if self.upper else g
        phi = xp.tril(_mT(lower) @ gl)
        phi = 0.5 * (phi + _mT(xp.tril(phi, -1)))
        inv = xp.linalg.inv(lower)
        return _mT(inv) @ phi @ inv


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:  # noqa: N803
    _square(A, "cholesky")
    return apply(Cholesky(upper), A)


def cholesky_legacy(input: Tensor, upper: bool = False) -> Tensor:  # noqa: A002
    return cholesky(input, upper=upper)


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:  # noqa: N803
    """The pseudo-inverse V diag(1/s) U^T over the singular values above the tolerance."""
    u, s, vh = svd(A, full_matrices=False)
    xp = xp_of(s._data)
    largest = s._data.max(axis=-1, keepdims=True) if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,))
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else max(A.shape[-2:]) * np.finfo(s._data.dtype).eps
    limit = xp.maximum(0.0 if atol is None else atol, rtol * largest)
    keep = Tensor._wrap(s._data > limit)
    safe = s + Tensor._wrap((s._data <= limit).astype(s._data.dtype))  # 1 where dropped: no division by 0
    inverse = (1.0 / safe) * keep.to(s.dtype)
    return (vh.transpose(-2, -1) * inverse.unsqueeze(-2)) @ u.transpose(-2, -1)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:  # noqa: A002
    return pinv(input, rtol=rcond)


def matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:  # noqa: N803
    s = svdvals(A.detach())._data
    xp = xp_of(s)
    largest = s.max(axis=-1, keepdims=True) if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,))
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else max(A.shape[-2:]) * np.finfo(s.dtype).eps
    limit = xp.maximum(0.0 if atol is None else atol, rtol * largest)
    return Tensor._wrap((s > limit).sum(axis=-1).astype(np.int64))


def _approximate_basis(A: Tensor, q: int, niter: int) -> Tensor:  # noqa: N803
    """An orthonormal basis of A's range from a random sketch and niter power iterations (Halko et al.,
    2009, Algorithm 4.4, as torch._lowrank.get_approximate_basis)."""
    from .. import random as _random
    from ..tensor import Tensor as _Tensor

    sketch = _Tensor._wrap(_random.normal((A.shape[-1], q), A._data.dtype, A.device))
    basis = qr(A @ sketch).Q
    for _ in range(niter):
        basis = qr(A.transpose(-2, -1) @ basis).Q
        basis = qr(A @ basis).Q
    return basis


def svd_lowrank(A: Tensor, q=6, niter=2, M=None):  # noqa: N803
    """A rank-q approximate SVD (U, S, V) by randomized range finding, as torch.svd_lowrank (its samples
    are the engine's, so U and V agree with PyTorch's up to signs where the rank is at most q)."""
    q = 6 if q is None else q
    if M is not None:
        A = A - M.expand(*A.shape)
    m, n = A.shape[-2:]
    wide = m < n
    if wide:
        A = A.transpose(-2, -1)
    basis = _approximate_basis(A, q, 2 if niter is None else niter)
    u, s, vh = svd(basis.transpose(-2, -1) @ A, full_matrices=False)
    u, v = basis @ u, vh.transpose(-2, -1)
    return (v, s, u) if wide else (u, s, v)


def pca_lowrank(A: Tensor, q=None, center: bool = True, niter: int = 2):  # noqa: N803
    """Principal directions of A's rows: svd_lowrank of A centred on its column means."""
    m, n = A.shape[-2:]
    q = min(6, m, n) if q is None else q
    if not 0 <= q <= min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if niter < 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if center:
        A = A - A.mean(-2, keepdim=True)
    return svd_lowrank(A, q, niter)
