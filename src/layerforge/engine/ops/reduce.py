"""Reductions: sum, mean, max/min (values and indices), var/std, logsumexp, argmax, softmax."""
from __future__ import annotations

import builtins
from typing import NamedTuple

import numpy as np

from ..autograd import Node
from ..dtypes import get_default_dtype
from ..tensor import Tensor
from .buffer_pool import lent, lent_like, workspace
from .common import apply, dim_aliases, normalize_dim, normalize_dims, xp_of
from .elementwise_functions import maximum, minimum, sqrt
from .rows import row_dots, row_max, row_sums


def _expand_back(g, in_shape, axes, keepdim):
    """Give a reduced gradient its reduced axes back so it broadcasts against the input."""
    if not keepdim and axes:
        shape = list(in_shape)
        for ax in axes:
            shape[ax] = 1
        g = g.reshape(shape)
    return g


def _spread(g, shape):
    """``g`` broadcast to ``shape`` as a fresh, writable array (a ``lent`` one: the gradient of a
    mean over activations is as large as they are)."""
    out = lent(xp_of(g), shape, g.dtype)
    if g.ndim == 0 and type(out) is np.ndarray:
        out.fill(g)
    else:
        out[...] = g
    return out


class Sum(Node):
    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, a):
        self.shape = a.shape
        return a.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, g):
        return _spread(_expand_back(g, self.shape, self.axes, self.keepdim), self.shape)


class Mean(Node):
    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, a):
        self.shape = a.shape
        count = 1
        for ax in self.axes:
            count *= a.shape[ax]
        self.count = count
        if type(a) is np.ndarray and count:
            # ndarray.mean goes through a slow Python wrapper; this is the same sum and division.
            total = np.add.reduce(a, axis=self.axes, keepdims=self.keepdim)
            return np.true_divide(total, count, dtype=a.dtype)
        return a.mean(axis=self.axes, keepdims=self.keepdim)

    def backward(self, g):
        if g.ndim:
            g = _expand_back(g, self.shape, self.axes, self.keepdim)
        return _spread((g / self.count).astype(g.dtype, copy=False), self.shape)


class ExtremumAll(Node):
    """max() / min() over every element; the gradient is shared evenly among ties."""

    def __init__(self, largest):
        self.largest = largest

    def forward(self, a):
        self.a = a
        self.out = a.max() if self.largest else a.min()
        return self.out

    def backward(self, g):
        xp = xp_of(g)
        a = self.a
        hits = (a == self.out) | (xp.isnan(a) & xp.isnan(self.out))
        return (hits * (g / hits.sum())).astype(g.dtype, copy=False)


class ExtremumDim(Node):
    """max(dim) / min(dim): values with indices; the gradient goes to the returned index."""

    def __init__(self, axis, keepdim, largest):
        self.axis, self.keepdim, self.largest = axis, keepdim, largest

    def forward(self, a):
        xp = xp_of(a)
        self.shape = a.shape
        if a.ndim == 0:
            self.idx = xp.zeros((), dtype=np.int64)
            return a.copy(), self.idx
        idx = xp.argmax(a, axis=self.axis) if self.largest else xp.argmin(a, axis=self.axis)
        idx = xp.expand_dims(idx, self.axis)
        values = xp.take_along_axis(a, idx, axis=self.axis)
        self.idx = idx
        if not self.keepdim:
            values = values.squeeze(self.axis)
            idx = idx.squeeze(self.axis)
        return values, idx.astype(np.int64)

    def backward(self, g, g_idx=None):
        xp = xp_of(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        if len(self.shape) == 0:
            return g.copy()
        if not self.keepdim:
            g = xp.expand_dims(g, self.axis)
        xp.put_along_axis(out, self.idx, g, axis=self.axis)
        return out


class Var(Node):
    def __init__(self, axes, correction, keepdim):
        self.axes, self.correction, self.keepdim = axes, correction, keepdim

    def forward(self, a):
        self.a = a
        n = 1
        for ax in self.axes:
            n *= a.shape[ax]
        self.denominator = builtins.max(n - self.correction, 0)  # max is shadowed here
        self.mean = a.mean(axis=self.axes, keepdims=True)
        centered = a - self.mean
        with np.errstate(divide="ignore", invalid="ignore"):
            return (centered * centered).sum(axis=self.axes, keepdims=self.keepdim) / a.dtype.type(
                self.denominator)

    def backward(self, g):
        g = _expand_back(g, self.a.shape, self.axes, self.keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g * (2.0 / self.denominator) * (self.a - self.mean)).astype(g.dtype, copy=False)


class LogSumExp(Node):
    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, a):
        xp = xp_of(a)
        m = a.max(axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            out = xp.log(xp.exp(a - m).sum(axis=self.axes, keepdims=True)) + m
        self.a, self.out_keep = a, out
        return out if self.keepdim else out.squeeze(self.axes) if self.axes else out

    def backward(self, g):
        g = _expand_back(g, self.a.shape, self.axes, self.keepdim)
        xp = xp_of(g)
        return g * xp.exp(self.a - self.out_keep)


def _exp_is_safe(a):
    """Whether exp of every value of CPU floats ``a`` and every row's sum along the last axis are
    finite and normal, so that a softmax needs no shift by each row's maximum: the row maxima (a
    halving over rows of 32: 171 us of the 320 a forward took on (32, 4, 32, 32) attention scores)
    and the shifted copy give way to one minimum and one maximum over the whole array (that forward
    333-344 -> 131-148 us; (256, 1000) 370-395 -> 256-328 us; the transformer row's step 7.2-7.4 ->
    6.7-7.1 ms). The shift is there for values that would overflow; exp(x) / sum is the same
    softmax, rounded at least as well (x - max is rounded where x is not). NaN and infinities answer
    False. (The log-softmax keeps its shift: x - log(sum) cancels to an absolute error of x's
    rounding, 4e-6 near 60, where the shifted form's terms are small.)"""
    if type(a) is not np.ndarray or a.dtype.kind != "f" or a.size < _EXP_CHECK_FROM:
        return False
    info = np.finfo(a.dtype)
    high = float(np.log(info.max)) - float(np.log(a.shape[-1])) - 1.0
    low = float(np.log(info.tiny)) + 1.0
    return bool(a.min() >= low) and bool(a.max() <= high)


# below this many values the two whole-array reductions cost more than the shift saves
_EXP_CHECK_FROM = 4096


class Softmax(Node):
    def __init__(self, axis):
        self.axis = axis

    def _last(self, a):
        """Whether the softmax runs along the last axis (attention's rows): rows.py's reductions."""
        return a.ndim and self.axis in (-1, a.ndim - 1)

    def forward(self, a):
        xp = xp_of(a)
        # The same operations as exp(a - max) / sum, in one buffer (attention's scores are the
        # largest arrays of a small transformer's step).
        last = self._last(a)
        if last and _exp_is_safe(a):
            e = np.exp(a, out=lent_like(np, a))
            e /= row_sums(np, e)[..., None]
            self.out = e
            return e
        e = a - (row_max(xp, a) if last else a.max(axis=self.axis, keepdims=True))
        if not e.ndim:  # numpy gives a scalar for 0-d arrays: make it a buffer
            e = xp.array(e)
        xp.exp(e, out=e)
        e /= row_sums(xp, e)[..., None] if last else e.sum(axis=self.axis, keepdims=True)
        self.out = e
        return e

    def backward(self, g):
        y = self.out
        xp = xp_of(g)
        if self._last(y) and g.shape == y.shape:  # (g - sum(g y)) y, the sum as BLAS dot products
            grad = xp.subtract(g, row_dots(xp, g, y)[..., None])
            grad *= y
            return grad
        grad = g * y
        if not grad.ndim:
            return y * (g - grad)
        total = grad.sum(axis=self.axis, keepdims=True)
        xp.subtract(g, total, out=grad)
        grad *= y
        return grad


class LogSoftmax(Node):
    def __init__(self, axis):
        self.axis = axis

    def _last(self, a):
        """Along the last axis of a CPU array (a classifier's rows): rows.py's reductions, and the
        arrays of a step in the workspace."""
        return type(a) is np.ndarray and a.ndim and self.axis in (-1, a.ndim - 1)

    def forward(self, a):
        xp = xp_of(a)
        if self._last(a):  # (256, 1000): forward even (its two per-row passes dominate), backward 663 -> 510-610 us
            shifted = np.subtract(a, row_max(np, a), out=lent_like(np, a))
            exp = np.exp(shifted, out=workspace.take(np, a.shape, a.dtype))
            shifted -= np.log(row_sums(np, exp))[..., None]
            workspace.give(exp)
            self.out = shifted
            return shifted
        shifted = a - a.max(axis=self.axis, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        return self.out

    def backward(self, g):
        xp = xp_of(g)
        if self._last(g) and g.shape == self.out.shape:  # g - exp(out) * sum(g), in one buffer
            grad = np.exp(self.out, out=lent_like(np, g))
            grad *= row_sums(np, g)[..., None]
            return np.subtract(g, grad, out=grad)
        return g - xp.exp(self.out) * g.sum(axis=self.axis, keepdims=True)


# ------------------------------------------------------------------------------ user-facing functions
def _floating(a: Tensor, op: str) -> Tensor:
    if a._data.dtype.kind != "f":
        raise RuntimeError(f"{op}(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {a.dtype.name.capitalize()}")
    return a


@dim_aliases
def sum(a: Tensor, dim=None, keepdim=False, dtype=None):  # noqa: A001
    if dtype is not None:
        a = a.to(dtype)
    elif a._data.dtype.kind in "bui":
        a = a.to("int64")
    return apply(Sum(normalize_dims(dim, a.ndim), keepdim), a)


@dim_aliases
def mean(a: Tensor, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        a = a.to(dtype)
    _floating(a, "mean")
    return apply(Mean(normalize_dims(dim, a.ndim), keepdim), a)


class MinMaxResult(NamedTuple):
    """What max(dim)/min(dim) return, as torch.return_types.max: ``values`` and ``indices``."""

    values: Tensor
    indices: Tensor


def _extremum(a: Tensor, dim, keepdim, largest, name):
    if dim is None:
        if a.numel() == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        return apply(ExtremumAll(largest), a)
    axis = normalize_dim(dim, a.ndim)
    if a.ndim and a.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")
    values, indices = apply(ExtremumDim(axis, keepdim, largest), a)
    indices.requires_grad = False
    indices.grad_fn = None
    return MinMaxResult(values, indices)


@dim_aliases
def max(a: Tensor, dim=None, keepdim=False):  # noqa: A001
    if isinstance(dim, Tensor):
        return maximum(a, dim)
    return _extremum(a, dim, keepdim, True, "max")


@dim_aliases
def min(a: Tensor, dim=None, keepdim=False):  # noqa: A001
    if isinstance(dim, Tensor):
        return minimum(a, dim)
    return _extremum(a, dim, keepdim, False, "min")


class AMax(Node):
    """amax/amin over one or several dims; the gradient is shared evenly among ties, as PyTorch's."""

    def __init__(self, axes, keepdim, largest):
        self.axes, self.keepdim, self.largest = axes, keepdim, largest

    def forward(self, a):
        self.a = a
        self.out_keep = a.max(axis=self.axes, keepdims=True) if self.largest else \
            a.min(axis=self.axes, keepdims=True)
        return self.out_keep if self.keepdim else self.out_keep.reshape(
            [n for i, n in enumerate(a.shape) if i not in self.axes])

    def backward(self, g):
        g = _expand_back(g, self.a.shape, self.axes, self.keepdim)
        hits = self.a == self.out_keep
        return (hits * (g / hits.sum(axis=self.axes, keepdims=True))).astype(g.dtype, copy=False)


@dim_aliases
def amax(a: Tensor, dim=(), keepdim=False):
    """Largest values over ``dim`` (all dims when empty), without indices."""
    return apply(AMax(normalize_dims(dim if dim != () else None, a.ndim), keepdim, True), a)


@dim_aliases
def amin(a: Tensor, dim=(), keepdim=False):
    return apply(AMax(normalize_dims(dim if dim != () else None, a.ndim), keepdim, False), a)


def _correction(unbiased, correction):
    if correction is not None:
        return int(correction)
    return 1 if unbiased in (None, True) else 0


@dim_aliases
def var(a: Tensor, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):  # var(x, False): the old positional 'unbiased'
        dim, unbiased = None, dim
    _floating(a, "var")
    return apply(Var(normalize_dims(dim, a.ndim), _correction(unbiased, correction), keepdim), a)


@dim_aliases
def std(a: Tensor, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return sqrt(var(a, dim, unbiased, keepdim, correction=correction))


@dim_aliases
def logsumexp(a: Tensor, dim, keepdim=False):
    if a._data.dtype.kind != "f":
        a = a.to(get_default_dtype())
    return apply(LogSumExp(normalize_dims(dim, a.ndim), keepdim), a)


def _arg(a: Tensor, dim, keepdim, largest):
    xp = xp_of(a._data)
    fn = xp.argmax if largest else xp.argmin
    if dim is None:
        out = fn(a._data.reshape(-1))
        if keepdim:
            out = xp.asarray(out).reshape((1,) * a.ndim)
        return Tensor._wrap(xp.asarray(out, dtype=np.int64))
    axis = normalize_dim(dim, a.ndim)
    out = fn(a._data, axis=axis) if a.ndim else xp.zeros((), dtype=np.int64)
    if keepdim and a.ndim:
        out = xp.expand_dims(out, axis)
    return Tensor._wrap(xp.asarray(out, dtype=np.int64))


@dim_aliases
def argmax(a: Tensor, dim=None, keepdim=False):
    return _arg(a, dim, keepdim, True)


@dim_aliases
def argmin(a: Tensor, dim=None, keepdim=False):
    return _arg(a, dim, keepdim, False)


def _softmax_input(a: Tensor, dtype):
    if dtype is not None:
        return a.to(dtype)
    if a._data.dtype.kind != "f":
        return a.to(get_default_dtype())
    return a


@dim_aliases
def softmax(a: Tensor, dim=None, dtype=None):
    a = _softmax_input(a, dtype)
    if dim is None:
        dim = 0 if a.ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit choice
    return apply(Softmax(normalize_dim(dim, a.ndim)), a)


@dim_aliases
def log_softmax(a: Tensor, dim=None, dtype=None):
    a = _softmax_input(a, dtype)
    if dim is None:
        dim = 0 if a.ndim in (0, 1, 3) else 1
    return apply(LogSoftmax(normalize_dim(dim, a.ndim)), a)
