"""Adaptive max pooling over the last 1, 2 or 3 axes, as one node (``MaxPool2d`` takes 2-d bins that
tile the plane when no indices are asked for).

PyTorch's bins: output row i covers input rows [floor(i H / OH), ceil((i + 1) H / OH)), and likewise
along each pooled axis, so where the sizes do not divide, neighbouring bins share a row or a column
and bins differ in length. The maximum is separable: over the last axis's bins first (each row's
maximum over every column bin, (..., H, OW)), then over each earlier axis's bins in turn. Each stage
is a running maximum over the bins' offsets, gathering the u-th position of every bin at once
(``bin_table``; a shorter bin repeats its last position, which changes no maximum).

The gradient of each output goes where PyTorch's index points: the bin's first maximum in row-major
order (with a NaN in the bin, its last NaN, as PyTorch's kernel scans). It is found axis by axis on
forward's partial maxima, as MaxPool2d's tiling backward finds it: in 2-d, the bin's first row whose
maximum over the column bin is the output, then that row's first column equal to it; one scatter
writes the gradients, so every other element gets PyTorch's 0.0. It replaced, in 2-d, one amax node
per row bin and per column bin, whose gradient split ties evenly (after a ReLU a bin of zeros ties
throughout) where PyTorch's goes to one element: (32, 16, 32, 32) to 7x7, forward 2.13 -> 0.85-0.98
ms, backward 6.9 -> 1.8-2.1 ms (PyTorch's 1.8 and 0.6); in 3-d, one max node per bin:
(8, 8, 16, 16, 16) to 4x4x4, forward + backward 19.5 -> 1.3 ms (PyTorch's 0.8), to 5x5x5 46 -> 1.6.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Node
from ..tensor import Tensor
from .common import apply, xp_of


def adaptive_bins(size, out):
    """PyTorch's adaptive bins: output i covers [floor(i*size/out), ceil((i+1)*size/out))."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def bin_table(size, out):
    """(longest bin, out) positions: row u holds each bin's u-th position, or its last for shorter
    bins (``adaptive_bins``)."""
    starts, stops = np.array(adaptive_bins(size, out)).T
    lengths = stops - starts
    offsets = np.arange(int(lengths.max()))[:, None]
    return starts + np.minimum(offsets, lengths - 1)


def adaptive_max_pool(input, sizes, return_indices, name):  # noqa: A002 (PyTorch's name)
    """Adaptive max pooling of Tensor ``input`` over its last ``len(sizes)`` axes to ``sizes`` (ints),
    with PyTorch's checks: the output, or (output, int64 indices flat over the pooled axes)."""
    k = len(sizes)
    if 0 in input.shape[-k - 1:]:
        raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but "
                           f"input has sizes {list(input.shape)} with dimension "
                           f"{list(input.shape).index(0, input.ndim - k - 1)} being empty")
    if 0 in sizes:
        out = input.new_zeros(tuple(input.shape[:-k]) + tuple(sizes))
        return (out, out.long()) if return_indices else out
    node = AdaptiveMaxPool(sizes)
    out = apply(node, input)
    return (out, Tensor._wrap(node.plane_indices())) if return_indices else out


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


class AdaptiveMaxPool(Node):
    """x (..., *spatial) -> (..., *output_size), over the last ``len(output_size)`` axes (1-d, 2-d and
    3-d pooling); ``plane_indices`` gives PyTorch's indices (flat over the pooled axes)."""

    def __init__(self, output_size):
        self.output_size = tuple(output_size)

    def forward(self, x):
        xp = xp_of(x)
        k = len(self.output_size)
        self.tables = [xp.asarray(bin_table(size, out)) for size, out in zip(x.shape[-k:], self.output_size)]
        # reduced[i]: x reduced over the pooled axes i, ..., k - 1, the last first (reduced[k] is x,
        # reduced[0] the output); backward's search walks them the other way
        reduced = [x]
        for i in range(k - 1, -1, -1):
            if i == k - 1:
                # Gathering along the last axis copies one value at a time: this stage runs on the
                # input with its last two axes swapped, where each gathered position is one run of
                # values ((32, 16, 32, 32) to 3x3: 1.74 -> 0.63 ms with the transposing copy;
                # (64, 64, 24, 24) to 7 columns: 10.9 -> 4.0)
                swapped = xp.ascontiguousarray(xp.swapaxes(x, -1, -2))
                maxima = _running_max(xp, swapped, self.tables[i], x.ndim - 2)
                reduced.append(xp.ascontiguousarray(xp.swapaxes(maxima, -1, -2)))
            else:
                reduced.append(_running_max(xp, reduced[-1], self.tables[i], x.ndim - k + i))
        self.reduced = reduced[::-1]
        self.x = x
        return self.reduced[0]

    def plane_indices(self):
        """(..., *output_size) int64: where each output's element sits, flat over the pooled axes. Axis
        by axis from the first: the bin's first position (last with a NaN, as PyTorch's kernel scans)
        whose maximum over the rest of the bin (``reduced``, the later axes already reduced) is the
        output, each candidate one gather over all outputs."""
        xp = xp_of(self.x)
        best, tables, out_sizes = self.reduced[0], self.tables, self.output_size
        k = len(out_sizes)
        spatial = self.x.shape[-k:]
        planes = best.size // math.prod(out_sizes)
        best = best.reshape((planes,) + out_sizes)
        nan = _nan_mask(xp, best)
        plane = xp.arange(planes).reshape((planes,) + (1,) * k)
        outputs = [xp.arange(o).reshape((1,) * (j + 1) + (o,) + (1,) * (k - j - 1))   # each output axis's index
                   for j, o in enumerate(out_sizes)]
        chosen = []
        for i in range(k):
            # reduced[i + 1] is (planes, spatial[:i + 1], out_sizes[i + 1:])
            shape = spatial[:i + 1] + out_sizes[i + 1:]
            table = tables[i]
            if i == 0:   # the candidates of all outputs at once, each a run of the later axes' outputs
                candidates = self.reduced[1].reshape((planes,) + shape)[:, table]
                hits = _matches(xp, xp.moveaxis(candidates, 1, 0), best, nan)
            else:        # one value per output, at the positions chosen so far
                strides = [math.prod(shape[j + 1:]) for j in range(k)]
                flat = xp.ascontiguousarray(self.reduced[i + 1]).reshape(-1)
                base = plane * math.prod(shape)
                for j in range(k):
                    if j != i:
                        base = base + (chosen[j] if j < i else outputs[j]) * strides[j]
                hits = xp.empty((len(table),) + best.shape, dtype=bool)
                for u in range(len(table)):
                    hits[u] = _matches(xp, flat[base + table[u][outputs[i]] * strides[i]], best, nan)
            chosen.append(table[_pick(xp, hits.reshape(len(table), -1), nan).reshape(best.shape), outputs[i]])
        index = chosen[0]
        for i in range(1, k):
            index = index * spatial[i] + chosen[i]
        return index.astype(np.int64).reshape(self.reduced[0].shape)

    def backward(self, g):
        xp = xp_of(g)
        x_shape = self.x.shape
        k = len(self.output_size)
        volume, outputs = math.prod(x_shape[-k:]), math.prod(self.output_size)
        planes = g.size // outputs
        index = self.plane_indices().reshape(planes, outputs)
        index += (xp.arange(planes) * volume)[:, None]
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
