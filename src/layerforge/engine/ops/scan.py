"""Scans along one dimension: cumsum, cumprod, cummax/cummin, logcumsumexp; and prod.

The running recurrences (cumulative maximum, log-add-exp, cumprod's gradient with zeros) loop over the
scanned dimension in Python, vectorised over every other one, so they need from the array module only
what numpy and cupy both have.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..autograd import Node
from ..tensor import Tensor
from .common import apply, dim_aliases, normalize_dim, xp_of
from .index import scatter_add_along


def _integers_to_int64(a: Tensor, dtype) -> Tensor:
    """PyTorch's accumulation dtype: integers and bool add up in int64 unless ``dtype`` is given."""
    if dtype is not None:
        return a.to(dtype)
    return a.to("int64") if a._data.dtype.kind in "biu" else a


def _reverse_cumsum(g, axis):
    xp = xp_of(g)
    return xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis)


class CumSum(Node):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, a):
        return xp_of(a).cumsum(a, axis=self.axis).astype(a.dtype, copy=False)

    def backward(self, g):
        return _reverse_cumsum(g, self.axis)


class CumProd(Node):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, a):
        self.a = a
        return xp_of(a).cumprod(a, axis=self.axis).astype(a.dtype, copy=False)

    def backward(self, g):
        # d out_j / d a_i = prod_{k <= j, k != i} a_k, exact where some a_k are zero:
        # grad_i = before_i * tail_i, before_i = prod_{k < i} a_k, tail_i = g_i + a_{i+1} * tail_{i+1}.
        xp = xp_of(g)
        a = xp.moveaxis(self.a, self.axis, 0)
        g = xp.moveaxis(g, self.axis, 0)
        n = a.shape[0]
        if n == 0:
            return xp.moveaxis(g, 0, self.axis)
        before = xp.concatenate([xp.ones_like(a[:1]), xp.cumprod(a[:-1], axis=0)], axis=0)
        tail = xp.empty_like(g)
        tail[n - 1] = g[n - 1]
        for i in range(n - 2, -1, -1):
            tail[i] = g[i] + a[i + 1] * tail[i + 1]
        return xp.moveaxis(before * tail, 0, self.axis)


class CumExtremum(Node):
    """cummax / cummin: running values and the index of the latest extremum (ties take the later
    index, NaN wins and stays, as PyTorch's); the gradient goes to that index."""

    def __init__(self, axis, largest):
        self.axis, self.largest = axis, largest

    def forward(self, a):
        xp = xp_of(a)
        self.shape = a.shape
        moved = xp.moveaxis(a, self.axis, 0)
        values, indices = xp.empty_like(moved), xp.zeros(moved.shape, dtype=np.int64)
        if moved.shape[0]:
            best, where_best = moved[0].copy(), xp.zeros(moved.shape[1:], dtype=np.int64)
            values[0] = best
            for i in range(1, moved.shape[0]):
                x = moved[i]
                take = (x >= best) if self.largest else (x <= best)
                if a.dtype.kind == "f":
                    take = (take | xp.isnan(x)) & ~xp.isnan(best)
                best = xp.where(take, x, best)
                where_best = xp.where(take, i, where_best)
                values[i], indices[i] = best, where_best
        self.indices = xp.moveaxis(indices, 0, self.axis)
        return xp.moveaxis(values, 0, self.axis), self.indices

    def backward(self, g, g_indices=None):
        out = xp_of(g).zeros(self.shape, dtype=g.dtype)
        return scatter_add_along(out, self.axis, self.indices, g)


class LogCumSumExp(Node):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, a):
        xp = xp_of(a)
        moved = xp.moveaxis(a, self.axis, 0)
        out = xp.empty_like(moved)
        if moved.shape[0]:
            out[0] = moved[0]
            for i in range(1, moved.shape[0]):
                out[i] = xp.logaddexp(out[i - 1], moved[i])
        self.a, self.out = moved, out
        return xp.moveaxis(out, 0, self.axis)

    def backward(self, g):
        # grad_i = sum_{j >= i} g_j exp(a_i - out_j) = exp(a_i - out_i) * w_i with
        # w_i = g_i + exp(out_i - out_{i+1}) w_{i+1}; every exponent is <= 0, so nothing overflows.
        xp = xp_of(g)
        g = xp.moveaxis(g, self.axis, 0)
        a, out = self.a, self.out
        n = a.shape[0]
        w = xp.empty_like(g)
        if n:
            w[n - 1] = g[n - 1]
            with np.errstate(invalid="ignore"):
                for i in range(n - 2, -1, -1):
                    step = xp.exp(out[i] - out[i + 1])
                    w[i] = g[i] + xp.where(xp.isnan(step), 0, step) * w[i + 1]
        with np.errstate(invalid="ignore"):
            grad = xp.exp(a - out) * w
        return xp.moveaxis(xp.where(xp.isnan(grad), 0, grad).astype(g.dtype, copy=False), 0, self.axis)


class Prod(Node):
    """The product over some axes; the gradient is the product of the others, exact with zeros."""

    def __init__(self, axis, keepdim):
        self.axis, self.keepdim = axis, keepdim

    def forward(self, a):
        self.a = a
        if self.axis is None:
            return a.prod()
        return a.prod(axis=self.axis, keepdims=self.keepdim)

    def backward(self, g):
        xp = xp_of(g)
        a = self.a
        flat = a.reshape(1, -1) if self.axis is None else xp.moveaxis(a, self.axis, -1)
        n = flat.shape[-1]
        ones = xp.ones_like(flat[..., :1])
        before = xp.concatenate([ones, xp.cumprod(flat[..., :-1], axis=-1)], axis=-1) if n else flat
        after = xp.flip(xp.concatenate([ones, xp.cumprod(xp.flip(flat, -1)[..., :-1], axis=-1)], axis=-1), -1) \
            if n else flat
        others = before * after
        if self.axis is None:
            return (g * others.reshape(a.shape)).astype(g.dtype, copy=False)
        if not self.keepdim:
            g = xp.expand_dims(g, self.axis)
        return xp.moveaxis(others, -1, self.axis) * g


class ValuesIndices(NamedTuple):
    """What cummax/cummin (and sort, topk, ...) return, as torch.return_types: values and indices."""

    values: Tensor
    indices: Tensor


def _values_indices(values: Tensor, indices: Tensor) -> ValuesIndices:
    indices.requires_grad = False
    indices.grad_fn = None
    return ValuesIndices(values, indices)


@dim_aliases
def cumsum(input: Tensor, dim, *, dtype=None) -> Tensor:  # noqa: A002
    a = _integers_to_int64(input, dtype)
    return apply(CumSum(normalize_dim(dim, a.ndim)), a) if a.ndim else a.clone()


@dim_aliases
def cumprod(input: Tensor, dim, *, dtype=None) -> Tensor:  # noqa: A002
    a = _integers_to_int64(input, dtype)
    return apply(CumProd(normalize_dim(dim, a.ndim)), a) if a.ndim else a.clone()


def _cum_extremum(a: Tensor, dim, largest: bool) -> ValuesIndices:
    axis = normalize_dim(dim, a.ndim)
    if a.ndim == 0:
        return _values_indices(a.clone(), Tensor._wrap(xp_of(a._data).zeros((), dtype=np.int64)))
    return _values_indices(*apply(CumExtremum(axis, largest), a))


@dim_aliases
def cummax(input: Tensor, dim) -> ValuesIndices:  # noqa: A002
    return _cum_extremum(input, dim, True)


@dim_aliases
def cummin(input: Tensor, dim) -> ValuesIndices:  # noqa: A002
    return _cum_extremum(input, dim, False)


@dim_aliases
def logcumsumexp(input: Tensor, dim) -> Tensor:  # noqa: A002
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"logcumsumexp_out_cpu" not implemented for '
                                  f"'{input.dtype.name.capitalize()}'")
    axis = normalize_dim(dim, input.ndim)
    return apply(LogCumSumExp(axis), input) if input.ndim else input.clone()


@dim_aliases
def prod(input: Tensor, dim=None, keepdim=False, *, dtype=None) -> Tensor:  # noqa: A002
    a = _integers_to_int64(input, dtype)
    axis = None if dim is None or a.ndim == 0 else normalize_dim(dim, a.ndim)
    if axis is None and keepdim and dim is not None:
        return apply(Prod(None, False), a)
    return apply(Prod(axis, keepdim), a)

