"""Adaptive max pooling over any bins, as one node (``MaxPool2d`` takes the bins that tile the plane).

PyTorch's bins: output row i covers input rows [floor(i H / OH), ceil((i + 1) H / OH)), and likewise
for columns, so where the sizes do not divide, neighbouring bins share a row or a column and bins
differ in length. The maximum is separable: each input row's maximum over every column bin,
(..., H, OW), then the maximum over each row bin of those, (..., OH, OW). Each stage is a running
maximum over the bins' offsets, gathering the u-th position of every bin at once (``bin_table``; a
shorter bin repeats its last position, which changes no maximum).

The gradient of each output goes where PyTorch's index points: the bin's first maximum in row-major
order (with a NaN in the bin, its last NaN, as PyTorch's kernel scans). It is found in two stages on
forward's row maxima, as MaxPool2d's tiling backward finds it: the bin's first row whose maximum over
the column bin is the output, then that row's first column equal to it; one scatter writes the
gradients, so every other element gets PyTorch's 0.0. It replaced one amax node per row bin and per
column bin, whose gradient split ties evenly (after a ReLU a bin of zeros ties throughout) where
PyTorch's goes to one element: (32, 16, 32, 32) to 7x7, forward 2.13 -> 0.94 ms, backward 6.9 -> 1.8
ms (PyTorch's 1.8 and 0.6).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Node
from .common import xp_of


def bin_table(size, out):
    """(longest bin, out) positions: row u holds each bin's u-th position, or its last for shorter
    bins (PyTorch's adaptive bins: bin i covers [floor(i size / out), ceil((i + 1) size / out)))."""
    index = np.arange(out)
    starts = index * size // out
    lengths = -(-(index + 1) * size // out) - starts
    offsets = np.arange(int(lengths.max()))[:, None]
    return starts + np.minimum(offsets, lengths - 1)


def first_true(xp, hits):
    """(K, R) booleans -> (R,) the row of each column's first True (K where a column has none): the
    largest of the weights K, ..., 1 where True, two passes along the R columns (numpy's argmax along
    axis 0 runs one short loop per column)."""
    k = hits.shape[0]
    dtype = np.uint8 if k < 256 else np.int32
    weights = xp.arange(k, 0, -1, dtype=dtype)[:, None]
    return k - xp.max(xp.multiply(hits, weights, dtype=dtype), axis=0).astype(np.intp)


def _last_true(xp, hits):
    """(K, R) booleans -> (R,) the row of each column's last True (-1 where a column has none)."""
    return hits.shape[0] - 1 - first_true(xp, hits[::-1])


class AdaptiveMaxPool2d(Node):
    """x (..., H, W) of floats -> (..., OH, OW); ``plane_indices`` gives PyTorch's indices."""

    def __init__(self, output_size):
        self.output_size = output_size

    def forward(self, x):
        xp = xp_of(x)
        (oh, ow), (h, w) = self.output_size, x.shape[-2:]
        self.rows, self.cols = (xp.asarray(bin_table(size, out)) for size, out in ((h, oh), (w, ow)))
        # Gathering along the last axis copies one value at a time: the column stage runs on the
        # transposed planes, where each gathered column is one run of H values ((32, 16, 32, 32) to
        # 3x3: 1.74 -> 0.63 ms with the transposing copy; (64, 64, 24, 24) to 7 columns: 10.9 -> 4.0)
        across = x.ndim - 2
        transposed = xp.ascontiguousarray(xp.swapaxes(x, -1, -2))
        maxima = _running_max(xp, transposed, self.cols, across)    # (..., OW, H)
        self.row_maxima = xp.ascontiguousarray(xp.swapaxes(maxima, -1, -2))   # (..., H, OW)
        self.best = _running_max(xp, self.row_maxima, self.rows, across)
        self.x = x
        return self.best

    def plane_indices(self):
        """(..., OH, OW) int64: where each output's element sits in its H*W plane."""
        xp = xp_of(self.x)
        x, best, rows, cols = self.x, self.best, self.rows, self.cols
        (oh, ow), (h, w) = best.shape[-2:], x.shape[-2:]
        planes = best.size // (oh * ow)
        best = best.reshape(planes, oh, ow)
        nan = _nan_mask(xp, best)
        # the bin's first row (last with a NaN) whose maximum over the column bin is the output:
        # candidates (bin row u, plane, OH, OW), each bin row one gather of runs of OW values
        row_maxima = self.row_maxima.reshape(planes, h, ow)
        hits = _matches(xp, xp.moveaxis(row_maxima[:, rows], 1, 0), best, nan)
        row = rows[_pick(xp, hits.reshape(len(rows), -1), nan).reshape(best.shape), xp.arange(oh)[:, None]]
        # that row's first column (last NaN) equal to the output, one gather per bin column
        starts = (xp.arange(planes) * (h * w))[:, None, None] + row * w    # (planes, OH, OW)
        flat = xp.ascontiguousarray(x).reshape(-1)
        hits = xp.empty((len(cols), planes, oh, ow), dtype=bool)
        for v in range(len(cols)):
            hits[v] = _matches(xp, flat[starts + cols[v]], best, nan)
        col = cols[_pick(xp, hits.reshape(len(cols), -1), nan).reshape(best.shape), xp.arange(ow)]
        return (row * w + col).astype(np.int64).reshape(self.best.shape)

    def backward(self, g):
        xp = xp_of(g)
        x_shape = self.x.shape
        (oh, ow), (h, w) = g.shape[-2:], x_shape[-2:]
        planes = g.size // (oh * ow)
        index = self.plane_indices().reshape(planes, oh, ow)
        index += (xp.arange(planes) * (h * w))[:, None, None]
        grad = xp.zeros(x_shape, dtype=g.dtype)
        # neighbouring bins may share the winning element: add.at sums its gradients in the outputs'
        # order, as PyTorch's loop does (numpy's add.at on one flat index per value: (512, 7, 7) 60 us,
        # against 229 for four plain indexed adds over bins two apart, which never share one)
        xp.add.at(grad.reshape(-1), index.reshape(-1), xp.ascontiguousarray(g).reshape(-1))
        return grad


def _running_max(xp, a, table, axis):
    """The maximum over the bins of ``table`` (from ``bin_table``) along ``axis``."""
    # (indexing rather than take, whose out= numpy buffers: (64, 64, 24, 24), 7 rows 0.32 against 0.81 ms)
    along = (slice(None),) * axis
    out = a[along + (table[0],)]
    for index in table[1:]:
        xp.maximum(out, a[along + (index,)], out=out)
    return out


def _nan_mask(xp, best):
    """Where the output is NaN, or None without any (the usual case: one reduction)."""
    if best.size == 0 or not bool(xp.isnan(xp.max(best))):
        return None
    return xp.isnan(best)


def _matches(xp, candidate, best, nan):
    """candidate == best, and where best is NaN (``nan``), candidate is NaN."""
    hits = candidate == best
    if nan is not None:
        hits |= nan & xp.isnan(candidate)
    return hits


def _pick(xp, hits, nan):
    """Each column's first True; where the output is NaN, its last (PyTorch's kernel keeps the last
    NaN it meets)."""
    first = first_true(xp, hits)
    if nan is None:
        return first
    return xp.where(nan.reshape(-1), _last_true(xp, hits), first)
