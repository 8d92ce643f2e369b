"""Reductions along the last axis of many rows: sums and dot products by BLAS, maxima by halving.

numpy reduces the last axis one row at a time, with a fixed cost per row, so rows of tens to a few
thousand values, the shape of normalisation statistics (one row per channel or sample) and of
attention's softmax (one row per query), spend most of their time there: a max over (32, 4, 32, 32)
attention scores takes 360 us, seven times their exp. BLAS's matrix-vector product with a vector of
ones sums the same rows ~8x faster, its dot products give sums of products without writing the
products, and a max taken by halving rows shorter than ``NUMPY_MAX_ROW`` (a few elementwise maxima
over all rows at once) is ~2x faster and exact.

The sums are rounded differently from numpy's pairwise sums (BLAS keeps several float32
accumulators), within float32's rounding; the maxima are the same values. Rows shorter than
``BLAS_ROW`` and non-numpy arrays take numpy's own reductions.
"""
from __future__ import annotations

import numpy as np

# Rows at least this long go to BLAS or the halving max; on shorter ones the per-call costs win.
BLAS_ROW = 16


def row_sums(xp, rows):
    """(..., K) -> (...): each row's sum, as one BLAS matrix-vector product with a vector of ones."""
    k = rows.shape[-1]
    if k < BLAS_ROW or xp is not np:
        return rows.sum(axis=-1)
    return (rows.reshape(-1, k) @ np.ones(k, dtype=rows.dtype)).reshape(rows.shape[:-1])


def row_dots(xp, a, b):
    """(..., K), (..., K) -> (...): each row's dot product, by BLAS: one read of each operand and no
    temporary, where ``(a * b).sum(-1)`` writes and reads a full-size product (3x the time)."""
    if a.shape[-1] < BLAS_ROW:
        return (a * b).sum(axis=-1)
    return xp.matmul(a[..., None, :], b[..., :, None])[..., 0, 0]


# From this row length up numpy's own maximum, a vectorised loop along each row, beats the halving:
# 262,144 values in rows of 128 216 against 241 us, of 256 119 against 195, of 1,000 36 against 174
# (in rows of 32: 717 against 387).
NUMPY_MAX_ROW = 128


def row_max(xp, a):
    """(..., K) -> (..., 1): each row's maximum (NaN where the row has one). Rows of ``BLAS_ROW`` to
    ``NUMPY_MAX_ROW`` values are halved: the larger of each row's two halves, then of that result's
    halves, and so on."""
    n = a.shape[-1]
    if n < BLAS_ROW or n >= NUMPY_MAX_ROW or xp is not np:
        return a.max(axis=-1, keepdims=True)
    m = a
    while n > 1:
        half = n // 2
        top = np.maximum(m[..., :half], m[..., half:2 * half])
        if n % 2:  # the odd one out joins the first column
            np.maximum(top[..., :1], m[..., 2 * half:], out=top[..., :1])
        m, n = top, half
    return m
