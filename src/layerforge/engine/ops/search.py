"""Finding and enumerating: nonzero/argwhere, isin, searchsorted/bucketize, unique_consecutive,
unravel_index, combinations, block_diag, vander, broadcasting helpers, and small predicates.

Index results are int64 (int32 where asked) and carry no gradient; the ones that build values from
an input (combinations, block_diag, vander, broadcast_to) are compositions, so gradients flow.
"""
from __future__ import annotations

import builtins
import itertools

import numpy as np

from .. import backend
from ..tensor import Size, Tensor
from .common import xp_of
from .elementwise_functions import pow
from .index import getitem
from .linalg import cdist
from .shape import _shape_arg, cat, expand, pad, reshape, stack

_wrap = Tensor._wrap


def nonzero(input: Tensor, *, as_tuple: bool = False):  # noqa: A002
    data = input._data
    xp = xp_of(data)
    found = xp.nonzero(data.reshape(1) if data.ndim == 0 else data)
    if as_tuple:
        return tuple(_wrap(i.astype(np.int64)) for i in found)
    if data.ndim == 0:
        return _wrap(xp.zeros((int(found[0].size), 0), dtype=np.int64))
    return _wrap(xp.stack(found, axis=1).astype(np.int64) if found else xp.zeros((0, 0), np.int64))


def argwhere(input: Tensor) -> Tensor:  # noqa: A002
    return nonzero(input)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    like = elements if isinstance(elements, Tensor) else test_elements
    xp = xp_of(like._data)
    a = elements._data if isinstance(elements, Tensor) else xp.asarray(elements)
    b = test_elements._data if isinstance(test_elements, Tensor) else xp.asarray(test_elements)
    found = xp.isin(a, b, invert=invert)
    return _wrap(xp.asarray(found))


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False, right: bool = False,  # noqa: A002
                 side=None, sorter=None) -> Tensor:
    """Where each value would be inserted to keep every (last-dim) row of sorted_sequence sorted."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of "
                               "left while right was True")
        right = side == "right"
    xp = xp_of(sorted_sequence._data)
    seq = sorted_sequence._data
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter._data, axis=-1)
    scalar = not isinstance(input, Tensor)
    values = xp.asarray(input) if scalar else input._data
    where = "right" if right else "left"
    if seq.ndim == 1:
        out = xp.searchsorted(seq, values, side=where)
    else:
        if values.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                               f"dimensions of boundaries tensor and input value tensor must match, but we got "
                               f"boundaries tensor {list(seq.shape)} and input value tensor {list(values.shape)}")
        rows_seq, rows_val = seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1])
        out = xp.stack([xp.searchsorted(s, v, side=where) for s, v in zip(rows_seq, rows_val)]).reshape(values.shape)
    return _wrap(xp.asarray(out).astype(np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:  # noqa: A002
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
                       dim=None):
    host = backend.to_host(input._data)
    if dim is None:
        flat = host.reshape(-1)
        starts = np.concatenate([[True], flat[1:] != flat[:-1]]) if flat.size else np.zeros(0, bool)
        values = flat[starts]
        groups = np.cumsum(starts) - 1
        inverse = groups.reshape(host.shape)
    else:
        axis = dim % host.ndim
        moved = np.moveaxis(host, axis, 0).reshape(host.shape[axis], -1)
        starts = np.concatenate([[True], (moved[1:] != moved[:-1]).any(axis=1)]) if len(moved) else np.zeros(0, bool)
        values = np.moveaxis(np.moveaxis(host, axis, 0)[starts], 0, axis)
        inverse = np.cumsum(starts) - 1
    counts = np.diff(np.flatnonzero(np.concatenate([starts, [True]]))) if starts.size else np.zeros(0, np.int64)
    device = input.device
    out = [_wrap(backend.to_device_array(np.ascontiguousarray(values), device))]
    if return_inverse:
        out.append(_wrap(backend.to_device_array(inverse.astype(np.int64), device)))
    if return_counts:
        out.append(_wrap(backend.to_device_array(counts.astype(np.int64), device)))
    return out[0] if len(out) == 1 else tuple(out)


def unravel_index(indices, shape) -> tuple:
    shape = _shape_arg((shape,) if isinstance(shape, int) else tuple(shape))
    data = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    if data.dtype.kind not in "iu":
        raise TypeError("expected 'indices' to be integer dtype, but got a floating point dtype")
    xp = xp_of(data)
    total = int(np.prod(shape))
    if data.size and (bool((data >= total).any()) or bool((data < -total).any())):
        raise RuntimeError("'indices' must be in range [-prod(shape), prod(shape) - 1]")
    return tuple(_wrap(i.astype(np.int64)) for i in xp.unravel_index(data % max(total, 1), shape))


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:  # noqa: A002
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    make = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    picks = np.array(list(make(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    if picks.size == 0:  # r = 0, or more picks than elements: no combination at all
        return getitem(input, slice(0, 0))
    return getitem(input, _wrap(backend.to_device_array(picks, input.device)))


def block_diag(*tensors) -> Tensor:
    mats = [reshape(t, 1, 1) if t.ndim == 0 else reshape(t, 1, -1) if t.ndim == 1 else t for t in tensors]
    for t in mats:
        if t.ndim != 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input has "
                               f"{t.ndim} dimensions")
    width = sum(t.shape[1] for t in mats)
    rows, left = [], 0
    for t in mats:
        rows.append(pad(t, (left, width - left - t.shape[1])))
        left += t.shape[1]
    return cat(rows, 0)


def vander(x: Tensor, N=None, increasing: bool = False) -> Tensor:
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    powers = range(n) if increasing else range(n - 1, -1, -1)
    if x._data.dtype.kind in "bu":
        x = x.to("int64")
    return stack([pow(x, k) if k else x * 0 + 1 for k in powers], 1) if n else reshape(x, -1, 1)[:, :0]


def broadcast_shapes(*shapes) -> Size:
    return Size(np.broadcast_shapes(*[(s,) if isinstance(s, int) else tuple(s) for s in shapes]))


def broadcast_to(input: Tensor, size) -> Tensor:  # noqa: A002
    return expand(input, *size) if isinstance(size, (tuple, list, Size)) else expand(input, size)


def broadcast_tensors(*tensors):
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t if tuple(t.shape) == tuple(shape) else expand(t, shape) for t in tensors)


class HistogramResult(tuple):
    """(hist, bin_edges), as torch.return_types.histogram."""

    __slots__ = ()
    hist = property(lambda self: self[0])
    bin_edges = property(lambda self: self[1])


def histogram(input: Tensor, bins=100, *, range=None, weight=None, density: bool = False):  # noqa: A002
    """Counts of input in bins (a count of equal bins over range, or the bin edges as a tensor)."""
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the same dtype, but got "
                           f"input {input.dtype.name} and bins float")
    data = backend.to_host(input._data).reshape(-1)
    edges = backend.to_host(bins._data) if isinstance(bins, Tensor) else bins
    w = None if weight is None else backend.to_host(weight._data).reshape(-1)
    low_high = None if range is None else tuple(float(r) for r in range)
    if low_high is None and not isinstance(bins, Tensor) and data.size:
        low_high = (float(data.min()), float(data.max()))
    hist, bin_edges = np.histogram(data, bins=edges, range=low_high, weights=w, density=density)
    dtype = input._data.dtype
    return HistogramResult((_wrap(backend.to_device_array(hist.astype(dtype), input.device)),
                            _wrap(backend.to_device_array(bin_edges.astype(dtype), input.device))))


def histogramdd(input: Tensor, bins=10, *, range=None, weight=None, density: bool = False):  # noqa: A002
    """Counts of the rows of input (points in its last dim's D dimensions) in a D-dimensional grid of
    bins: a count per dimension (or one for all) over range, or a list of edge tensors."""
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have the same dtype, but got "
                           f"input {input.dtype.name} and bins float")
    dims = input.shape[-1]
    points = backend.to_host(input._data).reshape(-1, dims)
    if isinstance(bins, (list, tuple)) and bins and isinstance(bins[0], Tensor):
        edges = [backend.to_host(b._data) for b in bins]
    else:
        edges = [int(bins)] * dims if isinstance(bins, (int, np.integer)) else [int(b) for b in bins]
    limits = None
    if range is not None:
        limits = [(float(range[2 * i]), float(range[2 * i + 1])) for i in builtins.range(dims)]
    elif points.shape[0] and not isinstance(edges[0], np.ndarray):
        limits = [(float(points[:, i].min()), float(points[:, i].max())) for i in builtins.range(dims)]
    w = None if weight is None else backend.to_host(weight._data).reshape(-1)
    hist, bin_edges = np.histogramdd(points, bins=edges, range=limits, weights=w, density=density)
    dtype = input._data.dtype
    return HistogramddResult((_wrap(backend.to_device_array(hist.astype(dtype), input.device)),
                              tuple(_wrap(backend.to_device_array(e.astype(dtype), input.device)) for e in bin_edges)))


class HistogramddResult(tuple):
    """(hist, bin_edges), as torch.return_types.histogramdd (bin_edges a tuple, one per dimension)."""

    __slots__ = ()
    hist = property(lambda self: self[0])
    bin_edges = property(lambda self: self[1])


def pdist(input: Tensor, p: float = 2.0) -> Tensor:  # noqa: A002
    """The p-norm distance of every pair of rows (i < j), in row-major order, as PyTorch's."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    n = input.shape[0]
    rows, cols = np.triu_indices(n, 1)
    distances = cdist(input, input, p=p)
    return getitem(distances, (_wrap(backend.to_device_array(rows, input.device)),
                               _wrap(backend.to_device_array(cols, input.device))))


def channel_shuffle(input: Tensor, groups: int) -> Tensor:  # noqa: A002
    n, c = input.shape[0], input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    rest = tuple(input.shape[2:])
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(n, c, *rest)
