"""Order statistics: sort, argsort, msort, topk, kthvalue, median, mode; and the counting functions
unique, bincount, histc (no gradient).

Every differentiable one picks indices first (a stable sort, so ties resolve as PyTorch's CPU kernels
do) and then reads the values through one node, ``TakeAlong``, whose gradient goes back to the
picked positions.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Node
from ..tensor import Tensor
from .common import apply, dim_aliases, normalize_dim, xp_of
from .index import scatter_add_along
from .reduce import ExtremumAll
from .scan import ValuesIndices, _values_indices
from .shape import squeeze

_wrap = Tensor._wrap


class TakeAlong(Node):
    """Values at ``indices`` along ``axis``; the gradient adds back at those positions."""

    def __init__(self, axis, indices):
        self.axis, self.indices = axis, indices

    def forward(self, a):
        self.shape = a.shape
        return xp_of(a).take_along_axis(a, self.indices, axis=self.axis)

    def backward(self, g):
        return scatter_add_along(xp_of(g).zeros(self.shape, dtype=g.dtype), self.axis, self.indices, g)


def _order(data, axis: int, descending: bool):
    """A stable argsort along ``axis``; NaN sorts as the largest value, as in PyTorch."""
    xp = xp_of(data)
    if not descending:
        return xp.argsort(data, axis=axis, kind="stable")
    key = data.astype(np.int64) if data.dtype.kind in "bu" else data
    if key.dtype.kind == "f":
        nan = xp.isnan(key)
        order = xp.argsort(xp.where(nan, -np.inf, -key), axis=axis, kind="stable")
        # a second stable sort on "is not NaN" puts the NaNs first, keeping their order
        first = xp.argsort(~xp.take_along_axis(nan, order, axis=axis), axis=axis, kind="stable")
        return xp.take_along_axis(order, first, axis=axis)
    return xp.argsort(-key, axis=axis, kind="stable")


def _take(a: Tensor, axis: int, indices) -> Tensor:
    return apply(TakeAlong(axis, indices), a)


def _sort_result(a: Tensor, axis: int, indices) -> ValuesIndices:
    return _values_indices(_take(a, axis, indices), _wrap(indices.astype(np.int64, copy=False)))


@dim_aliases
def sort(input: Tensor, dim=-1, descending=False, stable=False) -> ValuesIndices:  # noqa: A002
    if input.ndim == 0:
        return _values_indices(input.clone(), _wrap(xp_of(input._data).zeros((), dtype=np.int64)))
    axis = normalize_dim(dim, input.ndim)
    return _sort_result(input, axis, _order(input._data, axis, descending))


@dim_aliases
def argsort(input: Tensor, dim=-1, descending=False, stable=False) -> Tensor:  # noqa: A002
    return sort(input, dim, descending, stable).indices


def msort(input: Tensor) -> Tensor:  # noqa: A002
    return sort(input, 0).values


@dim_aliases
def topk(input: Tensor, k: int, dim=-1, largest=True, sorted=True) -> ValuesIndices:  # noqa: A002
    axis = normalize_dim(dim, input.ndim)
    n = input.shape[axis] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range (k={k}, size {n} along dim {dim})")
    if input.ndim == 0:
        return sort(input)
    order = _order(input._data, axis, largest)
    picked = order[tuple(slice(0, k) if d == axis else slice(None) for d in range(input.ndim))]
    return _sort_result(input, axis, picked)


def _selected(a: Tensor, axis: int, picked, keepdim: bool) -> ValuesIndices:
    """One value per row along ``axis`` (``picked`` has size 1 there), squeezed unless keepdim."""
    values, indices = _take(a, axis, picked), _wrap(picked.astype(np.int64, copy=False))
    if not keepdim:
        values, indices = squeeze(values, axis), _wrap(indices._data.squeeze(axis))
    return _values_indices(values, indices)


def _kth(a: Tensor, k: int, dim, keepdim: bool, name: str) -> ValuesIndices:
    if a.ndim == 0:
        return _values_indices(a.clone(), _wrap(xp_of(a._data).zeros((), dtype=np.int64)))
    axis = normalize_dim(dim, a.ndim)
    n = a.shape[axis]
    if not 0 <= k < n:
        raise RuntimeError(f"{name}(): selected number k out of range for dimension {dim} of size {n}")
    xp = xp_of(a._data)
    order = _order(a._data, axis, False)
    picked = order[tuple(slice(k, k + 1) if d == axis else slice(None) for d in range(a.ndim))]
    if name == "median" and a._data.dtype.kind == "f":  # a NaN in a row makes its median NaN
        nan = xp.isnan(a._data)
        first_nan = xp.expand_dims(xp.argmax(nan, axis=axis), axis)
        picked = xp.where(xp.expand_dims(nan.any(axis=axis), axis), first_nan, picked)
    return _selected(a, axis, picked, keepdim)


@dim_aliases
def kthvalue(input: Tensor, k: int, dim=-1, keepdim=False) -> ValuesIndices:  # noqa: A002
    return _kth(input, k - 1, dim, keepdim, "kthvalue")


class MedianAll(ExtremumAll):
    """median() of every element: the lower middle value; the gradient is shared among its ties."""

    def __init__(self):
        pass

    def forward(self, a):
        xp = xp_of(a)
        self.a = a
        flat = xp.sort(a.reshape(-1))
        self.out = flat[(flat.size - 1) // 2]
        if a.dtype.kind == "f" and bool(xp.isnan(flat[-1])):
            self.out = flat[-1]
        return xp.asarray(self.out)


@dim_aliases
def median(input: Tensor, dim=None, keepdim=False):  # noqa: A002
    if dim is None:
        if input.numel() == 0:
            return _wrap(xp_of(input._data).asarray(np.nan, dtype=input._data.dtype))
        return apply(MedianAll(), input)
    n = input.shape[normalize_dim(dim, input.ndim)] if input.ndim else 1
    return _kth(input, (n - 1) // 2, dim, keepdim, "median")


@dim_aliases
def mode(input: Tensor, dim=-1, keepdim=False) -> ValuesIndices:  # noqa: A002
    """The most frequent value of each row (the smallest among equally frequent ones) and the index
    of its last occurrence, as PyTorch's."""
    if input.ndim == 0:
        return _values_indices(input.clone(), _wrap(xp_of(input._data).zeros((), dtype=np.int64)))
    axis = normalize_dim(dim, input.ndim)
    rows = np.moveaxis(backend.to_host(input._data), axis, -1)
    flat = rows.reshape(-1, rows.shape[-1])
    picked = np.zeros(len(flat), dtype=np.int64)
    for r, row in enumerate(flat):
        values, counts = np.unique(row, return_counts=True)
        best = values[np.argmax(counts)]  # argmax takes the first, so the smallest value among ties
        picked[r] = np.flatnonzero(row == best)[-1] if best == best else np.flatnonzero(row != row)[-1]
    picked = np.moveaxis(picked.reshape(rows.shape[:-1] + (1,)), -1, axis)
    return _selected(input, axis, backend.to_device_array(picked, input.device), keepdim)


def unique(input: Tensor, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct values (sorted), optionally with each element's position among them and counts."""
    xp = xp_of(input._data)
    data = input._data if dim is not None else input._data.reshape(-1)
    axis = None if dim is None else normalize_dim(dim, input.ndim)
    values, inverse, counts = np.unique(backend.to_host(data), return_inverse=True, return_counts=True,
                                        axis=axis)
    out = [_wrap(xp.asarray(backend.to_device_array(values, input.device)))]
    if return_inverse:
        shape = input.shape if dim is None else (input.shape[axis],)
        out.append(_wrap(backend.to_device_array(inverse.reshape(shape).astype(np.int64), input.device)))
    if return_counts:
        out.append(_wrap(backend.to_device_array(counts.astype(np.int64), input.device)))
    return out[0] if len(out) == 1 else tuple(out)


def bincount(input: Tensor, weights=None, minlength=0) -> Tensor:  # noqa: A002
    data = input._data
    xp = xp_of(data)
    if data.dtype.kind not in "iub":
        raise NotImplementedError(f'"bincount_cpu" not implemented for \'{input.dtype.name.capitalize()}\'')
    if data.ndim != 1 or (data.size and bool((data < 0).any())):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    w = None if weights is None else weights._data
    if w is not None and w.shape != data.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    counts = xp.bincount(data.astype(np.int64), weights=w, minlength=minlength)
    if w is None:
        return _wrap(counts.astype(np.int64, copy=False))
    return _wrap(counts.astype(w.dtype if w.dtype.kind == "f" else np.float64, copy=False))


def histc(input: Tensor, bins=100, min=0, max=0) -> Tensor:  # noqa: A002
    """Counts in ``bins`` equal bins over [min, max] (the data's range when both are 0); values
    outside are left out, and max falls in the last bin, as in PyTorch."""
    data = input._data
    if data.dtype.kind != "f":
        raise RuntimeError(f'"histogram_cpu" not implemented for \'{input.dtype.name.capitalize()}\'')
    if bins <= 0:
        raise RuntimeError("torch.histc(): bins must be > 0")
    xp = xp_of(data)
    low, high = float(min), float(max)
    if low == high and data.size:
        low, high = float(data.min()), float(data.max())
    if low == high:
        low, high = low - 1, high + 1
    if low > high:
        raise RuntimeError("torch.histc(): max must be larger than min")
    inside = data[(data >= low) & (data <= high)]
    position = ((inside - low) * bins / (high - low)).astype(np.int64)
    position = xp.where(position == bins, bins - 1, position)
    return _wrap(xp.bincount(position, minlength=bins).astype(data.dtype))
