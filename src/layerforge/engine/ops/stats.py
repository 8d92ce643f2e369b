"""Statistics beyond the basic reductions: NaN-ignoring sums and means, quantiles and nanmedian,
aminmax, std_mean/var_mean, cov/corrcoef, dist, diff, trapezoid rules, fmax/fmin.

Compositions of differentiable operations (sorting reads values through TakeAlong, so quantiles
have gradients), with PyTorch's conventions for NaN, ties and empty input.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import backend
from ..autograd import Node
from ..tensor import Tensor
from .common import apply, dim_aliases, normalize_dim, normalize_dims, xp_of
from .elementwise_functions import add, div, maximum, minimum, mul, sqrt, sub, where
from .index import gather
from .linalg import PNorm, matmul
from .reduce import amax, amin, mean, std, sum, var
from .rearrange import diagonal, narrow
from .scan import cumsum
from .shape import cat, reshape, squeeze, unsqueeze
from .sort import sort

_wrap = Tensor._wrap


def _isnan(a: Tensor) -> Tensor:
    return _wrap(xp_of(a._data).isnan(a._data))


class NanSum(Node):
    """The sum without NaNs; the gradient is the upstream one times "not NaN" (PyTorch's formula, so an
    infinite upstream gradient gives NaN where NaNs were, as there)."""

    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, a):
        xp = xp_of(a)
        self.keep = ~xp.isnan(a)
        return xp.where(self.keep, a, 0).sum(axis=self.axes, keepdims=self.keepdim).astype(a.dtype, copy=False)

    def backward(self, g):
        if not self.keepdim:
            g = g.reshape([1 if i in self.axes else n for i, n in enumerate(self.keep.shape)])
        return g * self.keep


@dim_aliases
def nansum(input: Tensor, dim=None, keepdim=False, *, dtype=None) -> Tensor:  # noqa: A002
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        return sum(input, dim, keepdim)
    return apply(NanSum(normalize_dims(dim, input.ndim), keepdim), input)


@dim_aliases
def nanmean(input: Tensor, dim=None, keepdim=False, *, dtype=None) -> Tensor:  # noqa: A002
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                           f"{input.dtype.name.capitalize()}")
    count = sum(~_isnan(input), dim, keepdim).to(input.dtype)
    return div(nansum(input, dim, keepdim, dtype=dtype), count)


class AMinMax(NamedTuple):
    min: Tensor
    max: Tensor


def aminmax(input: Tensor, *, dim=None, keepdim=False) -> AMinMax:  # noqa: A002
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation "
                               "has no identity.")
        low, high = amin(input), amax(input)
        if keepdim:
            low, high = reshape(low, (1,) * input.ndim), reshape(high, (1,) * input.ndim)
        return AMinMax(low, high)
    return AMinMax(amin(input, dim, keepdim), amax(input, dim, keepdim))


@dim_aliases
def std_mean(input: Tensor, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


@dim_aliases
def var_mean(input: Tensor, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


# ------------------------------------------------------------------------------ order statistics
_INTERPOLATIONS = ("linear", "lower", "higher", "nearest", "midpoint")


def _quantile(input: Tensor, q, dim, keepdim, interpolation, ignore_nan: bool, name: str) -> Tensor:
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                           f"Got {interpolation}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    scalar_q = not isinstance(q, Tensor) or q.ndim == 0
    qs = np.atleast_1d(backend.to_host(q._data) if isinstance(q, Tensor) else np.asarray(q, dtype=np.float64))
    if qs.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    if ((qs < 0) | (qs > 1)).any():
        raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    x = reshape(input, -1) if dim is None else input
    axis = 0 if dim is None else normalize_dim(dim, input.ndim)
    if x.ndim == 0:
        x, axis = reshape(x, 1), 0
    moved = x.movedim(axis, -1)  # rows along the last dim
    n = moved.shape[-1]
    if n == 0:
        raise IndexError(f"{name}() input tensor must be non-empty")
    ordered = sort(moved, -1).values  # NaN sorts last
    nan = _isnan(moved)._data
    xp = xp_of(moved._data)
    valid = (~nan).sum(axis=-1, keepdims=True) if ignore_nan else xp.full(moved.shape[:-1] + (1,), n)
    # PyTorch's reading of NaN: quantile takes a row's last sorted value (a NaN, which sorts last) and
    # nanquantile an all-NaN row's first; the value is NaN and the gradient goes to that element
    has_nan = nan.any(axis=-1, keepdims=True)
    results = []
    for value in qs:
        rank = xp.maximum(valid - 1, 0).astype(np.float64) * float(value)
        if not ignore_nan:
            rank = xp.where(has_nan, float(n - 1), rank)
        low = xp.floor(rank).astype(np.int64)
        high = xp.ceil(rank).astype(np.int64)
        if interpolation == "lower":
            high = low
        elif interpolation == "higher":
            low = high
        elif interpolation == "nearest":
            low = high = xp.round(rank).astype(np.int64)  # halves to even, as PyTorch's round
        low, high = xp.clip(low, 0, n - 1), xp.clip(high, 0, n - 1)
        a, b = gather(ordered, -1, _wrap(low)), gather(ordered, -1, _wrap(high))
        if interpolation == "midpoint":
            weight = xp.full(rank.shape, 0.5)
        else:
            weight = rank - xp.floor(rank) if interpolation == "linear" else xp.zeros(rank.shape)
        results.append(add(a, mul(sub(b, a), _wrap(weight.astype(moved._data.dtype)))))
    out = cat(results, -1) if len(results) > 1 else results[0]  # (..., len(q))
    if dim is None:
        out = reshape(out, (len(qs),) + ((1,) * input.ndim if keepdim else ()))
    else:
        out = out.movedim(-1, 0)  # q first, as PyTorch lays it out
        out = unsqueeze(out, axis + 1) if keepdim else out
    return squeeze(out, 0) if scalar_q else out


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):  # noqa: A002
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):  # noqa: A002
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


class _ValuesIndices(NamedTuple):
    values: Tensor
    indices: Tensor


@dim_aliases
def nanmedian(input: Tensor, dim=None, keepdim=False):  # noqa: A002
    """The lower median of the non-NaN values (NaN where a row has only NaN), with its index."""
    x = reshape(input, -1) if dim is None else input
    axis = 0 if dim is None else normalize_dim(dim, input.ndim)
    if x.ndim == 0:
        x, axis = reshape(x, 1), 0
    xp = xp_of(x._data)
    order = sort(x, axis)
    valid = (~xp.isnan(x._data)).sum(axis=axis, keepdims=True)
    k = xp.maximum(valid - 1, 0) // 2
    values = gather(order.values, axis, _wrap(k))
    indices = _wrap(xp.take_along_axis(order.indices._data, k, axis=axis))
    if dim is None:
        return reshape(values, ())
    if not keepdim:
        values, indices = squeeze(values, axis), _wrap(indices._data.squeeze(axis))
    return _ValuesIndices(values, indices)


# ------------------------------------------------------------------------------ covariance and distances
def cov(input: Tensor, *, correction=1, fweights=None, aweights=None) -> Tensor:  # noqa: A002
    """The covariance of the variables in the rows, observed in the columns (PyTorch's formula)."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    x = reshape(input, 1, -1) if input.ndim < 2 else input
    if x._data.dtype.kind != "f":
        x = x.to("float32")
    observations = x.shape[1]
    weights = None
    for w in (fweights, aweights):
        if w is not None:
            weights = w.to(x.dtype) if weights is None else mul(weights, w.to(x.dtype))
    if weights is None:
        total = float(observations)
        average = mean(x, 1)
        norm = max(total - correction, 0.0)
        centered = sub(x, unsqueeze(average, 1))
        out = div(matmul(centered, centered.t()), norm)
    else:
        total = sum(weights)
        average = div(sum(mul(x, weights), 1), total)
        norm = sub(total, mul(div(sum(mul(weights, aweights.to(x.dtype))), total), correction)) \
            if aweights is not None else sub(total, correction)
        norm = maximum(norm, _wrap(xp_of(x._data).asarray(0.0, dtype=x._data.dtype)))
        centered = sub(x, unsqueeze(average, 1))
        out = div(matmul(centered, mul(centered, weights).t()), norm)
    return squeeze(out)


def corrcoef(input: Tensor) -> Tensor:  # noqa: A002
    c = cov(input)
    if c.ndim == 0:
        return div(c, c)
    d = sqrt(diagonal(c))
    c = div(div(c, unsqueeze(d, 1)), unsqueeze(d, 0))
    return minimum(maximum(c, _wrap(xp_of(c._data).asarray(-1.0, dtype=c._data.dtype))),
                   _wrap(xp_of(c._data).asarray(1.0, dtype=c._data.dtype)))


def dist(input: Tensor, other: Tensor, p=2.0) -> Tensor:  # noqa: A002
    difference = reshape(sub(input, other), -1)
    return apply(PNorm(float(p)), difference)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:  # noqa: A002
    axis = normalize_dim(dim, input.ndim)
    parts = [t for t in (prepend, input, append) if t is not None]
    x = cat(parts, axis) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[axis]
        if length == 0:
            break
        x = sub(narrow(x, axis, 1, length - 1), narrow(x, axis, 0, length - 1))
    return x


def trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    axis = normalize_dim(dim, y.ndim)
    n = y.shape[axis]
    if n == 0:
        return sum(y, axis)
    heights = add(narrow(y, axis, 1, n - 1), narrow(y, axis, 0, n - 1))
    if x is None:
        return mul(sum(heights, axis), (1.0 if dx is None else dx) / 2)
    widths = diff(x, dim=-1 if x.ndim == 1 else axis)
    if widths.ndim == 1 and y.ndim > 1:
        widths = reshape(widths, [-1 if d == axis else 1 for d in range(y.ndim)])
    return div(sum(mul(heights, widths), axis), 2.0)


trapz = trapezoid


def cumulative_trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    axis = normalize_dim(dim, y.ndim)
    n = y.shape[axis]
    heights = add(narrow(y, axis, 1, max(n - 1, 0)), narrow(y, axis, 0, max(n - 1, 0)))
    if x is None:
        return cumsum(mul(heights, (1.0 if dx is None else dx) / 2), axis)
    widths = diff(x, dim=-1 if x.ndim == 1 else axis)
    if widths.ndim == 1 and y.ndim > 1:
        widths = reshape(widths, [-1 if d == axis else 1 for d in range(y.ndim)])
    return cumsum(div(mul(heights, widths), 2.0), axis)


def fmax(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """The larger of the two, ignoring a NaN on one side; ties and NaN pass the gradient to input."""
    nan_other = _isnan(other) if isinstance(other, Tensor) else False
    keep = (input >= other) | nan_other
    return where(keep, input, other)


def fmin(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    nan_other = _isnan(other) if isinstance(other, Tensor) else False
    keep = (input <= other) | nan_other
    return where(keep, input, other)
