"""The kernel namespace: every tensor operation by its PyTorch name, and Tensor's method forms.

Kernels live in modules grouped by kind (elementwise, reduce, shape, index, linalg); this module adds
the small operations that need no graph node of their own (comparisons, in-place updates, device
moves) and binds the method forms onto Tensor, so each operation is written once.
"""
from __future__ import annotations

import builtins

import numpy as np

from .. import backend
from ..autograd import Node
from ..grad_mode import _mode
from ..tensor import Tensor
from .common import (Number, apply, as_tensor_arg, broadcast_error, check_same_device, dim_aliases, on_input_gpu,
                     unbroadcast, xp_of)
from .aliases import (chain_matmul, clamp_max, clamp_min, detach, fill, frexp, gcd, ger, get_device, gradient,
                      is_complex, is_floating_point, is_nonzero, is_same_size, is_signed, isneginf, isposinf,
                      isreal, lcm, ldexp, ravel, result_type, split_with_sizes, swapdims, tile, unsafe_chunk,
                      unsafe_split, vdot)
from .bitwise import install_operators as _install_bitwise_operators
from .bitwise import (bitwise_and, bitwise_left_shift, bitwise_not, bitwise_or, bitwise_right_shift,
                      bitwise_xor, logical_xor)
from .elementwise_functions import (abs, add, cast, ceil, clamp, cos, div, exp, fix, floor, floor_divide,
                                    frac, log, maximum, minimum, mul, neg, pow, relu, remainder, round, rsub,
                                    sgn, sigmoid, sign, sin, sqrt, sub, tanh, trunc, where)
from .elementwise_math import (acos, acosh, addcdiv, addcmul, arccos, arccosh, arcsin, arcsinh, arctan,
                               arctan2, arctanh, asin, asinh, atan, atan2, atanh, copysign, cosh, deg2rad,
                               digamma, erf, erfc, erfinv, exp2, expm1, float_power, fmod, heaviside, hypot,
                               i0, lerp, lgamma, log10, log1p, log2, logaddexp, logaddexp2, logit, mvlgamma,
                               nan_to_num, nextafter, polygamma, positive, rad2deg, signbit, sinc, sinh, tan,
                               xlogy)
from .incomplete_gamma import igamma, igammac
from .einsum import einsum, tensordot
from .rearrange import (atleast_1d, atleast_2d, atleast_3d, cartesian_prod, column_stack, diag, diag_embed,
                        diagflat, diagonal, dsplit, flip, fliplr, flipud, hsplit, hstack, index_select,
                        meshgrid, moveaxis, movedim, narrow, repeat_interleave, roll, rot90, row_stack,
                        select, tensor_split, trace, tril, tril_indices, triu, triu_indices, unfold,
                        vsplit, vstack, dstack)
from .search import (argwhere, block_diag, broadcast_shapes, broadcast_tensors, broadcast_to, bucketize,
                     channel_shuffle, combinations, histogram, histogramdd, isin, nonzero, pdist, searchsorted,
                     unique_consecutive, unravel_index, vander)
from .stats import (aminmax, corrcoef, cov, cumulative_trapezoid, diff, dist, fmax, fmin, nanmean, nanmedian,
                    nanquantile, nansum, quantile, std_mean, trapezoid, trapz, var_mean)
from .scatter import (diagonal_scatter, index_add, index_copy, index_fill, index_reduce, masked_scatter,
                      masked_select, scatter, scatter_add, scatter_reduce, select_scatter, slice_scatter, take,
                      take_along_dim)
from .index import gather, getitem, masked_fill, setitem
from .linalg_dense import det, inverse, logdet, matrix_power, renorm, slogdet
from .linalg import (addbmm, addmm, addmv, addr, baddbmm, bmm, cdist, cross, dot, inner, kron, matmul, mm, mv,
                     outer)
from .reduce import (amax, amin, argmax, argmin, log_softmax, logsumexp, max, mean, min, softmax, std, sum,
                     var)
from .scan import cummax, cummin, cumprod, cumsum, logcumsumexp, prod
from .sort import argsort, bincount, histc, kthvalue, median, mode, msort, sort, topk, unique
from .shape import (_shape_arg, cat, chunk, expand, flatten, pad, permute, reshape, split, squeeze,
                    stack, t, transpose, unbind, unflatten, unsqueeze)

_wrap = Tensor._wrap


class Clone(Node):
    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return g


def clone(a: Tensor) -> Tensor:
    return apply(Clone(), a)


class ToDevice(Node):
    def __init__(self, target):
        self.target = target

    def forward(self, a):
        self.source = backend.device_of(a)
        return backend.to_device_array(a, self.target)

    def backward(self, g):
        return backend.to_device_array(g, self.source)


def to_device(a: Tensor, target) -> Tensor:
    return apply(ToDevice(target), a)


# ------------------------------------------------------------------------------ no-gradient operations
def _operand(other, like: Tensor):
    if isinstance(other, Tensor):
        check_same_device(like, other, "comparison")
        return other._data
    if isinstance(other, Number):
        return other
    return as_tensor_arg(other, like)._data


def compare(a: Tensor, other, name: str) -> Tensor:
    """Comparisons and logical ops: boolean results, never part of a graph."""
    if name == "equal" and other is None:
        return False
    xp = xp_of(a._data)
    try:
        return _wrap(xp.asarray(getattr(xp, name)(a._data, _operand(other, a))))
    except ValueError:
        raise broadcast_error(name, a.shape, getattr(other, "shape", ())) from None


def _no_grad_unary(fn_name):
    def op(a: Tensor) -> Tensor:
        xp = xp_of(a._data)
        return _wrap(xp.asarray(getattr(xp, fn_name)(a._data)))

    op.__name__ = fn_name
    return op


logical_not = _no_grad_unary("logical_not")
isnan = _no_grad_unary("isnan")
isinf = _no_grad_unary("isinf")
isfinite = _no_grad_unary("isfinite")


def _comparison(name: str, fn_name: str):
    """``name(a, b)``: the array module's ``fn_name`` through ``compare``."""
    def op(a: Tensor, b) -> Tensor:
        return compare(a, b, fn_name)

    op.__name__ = op.__qualname__ = name
    return op


logical_and = _comparison("logical_and", "logical_and")
logical_or = _comparison("logical_or", "logical_or")
eq = _comparison("eq", "equal")
ne = _comparison("ne", "not_equal")
lt = _comparison("lt", "less")
le = _comparison("le", "less_equal")
gt = _comparison("gt", "greater")
ge = _comparison("ge", "greater_equal")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


@on_input_gpu
def equal(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and bool(xp_of(a._data).all(a._data == b._data))


def allclose(a: Tensor, b: Tensor, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    return bool(xp_of(a._data).allclose(a._data, _operand(b, a), rtol=rtol, atol=atol,
                                        equal_nan=equal_nan))


def isclose(a: Tensor, b, rtol=1e-5, atol=1e-8, equal_nan=False) -> Tensor:
    return _wrap(xp_of(a._data).isclose(a._data, _operand(b, a), rtol=rtol, atol=atol,
                                        equal_nan=equal_nan))


def _truth_reduction(name: str):
    """``all`` / ``any``: whether every / some element is non-zero, over ``dim`` or everywhere."""
    def op(a: Tensor, dim=None, keepdim=False) -> Tensor:
        truth = a._data.astype(bool)
        return _wrap(xp_of(a._data).asarray(getattr(truth, name)(axis=dim, keepdims=keepdim)))

    op.__name__ = op.__qualname__ = name
    return op


all = dim_aliases(_truth_reduction("all"))  # noqa: A001
any = dim_aliases(_truth_reduction("any"))  # noqa: A001


def count_nonzero(a: Tensor, dim=None) -> Tensor:
    return _wrap(xp_of(a._data).asarray(xp_of(a._data).count_nonzero(a._data, axis=dim), dtype=np.int64))


# ------------------------------------------------------------------------------ in-place updates
_INPLACE = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
            "pow": np.power}


@on_input_gpu
def inplace(t: Tensor, other, op: str) -> Tensor:
    """Update ``t``'s storage in place; only where no gradient could be corrupted, as PyTorch allows."""
    if _mode.enabled and t.requires_grad:
        if t.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               "operation. Wrap the update in `with torch.no_grad():`")
        raise RuntimeError("in-place operations on tensors that are part of a graph are not supported; "
                           "write `x = x + y` instead of `x += y`")
    data = t._data
    other_data = other
    if isinstance(other, Tensor):
        other_data = other._data
        if type(other_data) is not type(data) or (type(data) is not np.ndarray and other.device != t.device):
            if op == "copy":  # from the host, or from another GPU
                other_data = backend.to_device_array(other_data, t.device)
            else:
                check_same_device(t, other, f"{op}_")
    try:
        if op in ("fill", "copy"):
            data[...] = other_data
        elif xp_of(data) is np:
            _INPLACE[op](data, other_data, out=data)  # ufuncs cast "same_kind", as PyTorch does
        else:
            getattr(xp_of(data), _INPLACE[op].__name__)(data, other_data, out=data)
    except (ValueError, TypeError) as exc:
        shape = tuple(getattr(other_data, "shape", ()))
        raise RuntimeError(f"in-place {op} of a tensor of shape {tuple(data.shape)} and dtype "
                           f"{t.dtype.name} with a value of shape {shape}: {exc}") from None
    return t


# ------------------------------------------------------------------------------ composites
def square(a):
    return mul(a, a)


def reciprocal(a):
    return div(1.0, a)


def rsqrt(a):
    return div(1.0, sqrt(a))


def norm(a: Tensor, p=2, dim=None, keepdim=False):
    if p == 2 or p == "fro":
        return sqrt(sum(mul(a, a), dim=dim, keepdim=keepdim))
    if p == 1:
        return sum(abs(a), dim=dim, keepdim=keepdim)
    if p == float("inf"):
        return amax(abs(a), dim, keepdim) if dim is not None else max(abs(a))
    return pow(sum(pow(abs(a), p), dim=dim, keepdim=keepdim), 1.0 / p)


class Repeat(Node):
    def __init__(self, repeats):
        self.repeats = repeats

    def forward(self, a):
        xp = xp_of(a)
        self.orig_shape = a.shape
        self.in_shape = (1,) * (len(self.repeats) - a.ndim) + a.shape
        return xp.tile(a.reshape(self.in_shape), self.repeats)

    def backward(self, g):
        split_shape = []
        for r, n in zip(self.repeats, self.in_shape):
            split_shape += [r, n]
        g = g.reshape(split_shape).sum(axis=tuple(range(0, len(split_shape), 2)))
        return g.reshape(self.orig_shape)


def repeat(a: Tensor, *repeats):
    repeats = _shape_arg(repeats)
    if len(repeats) < a.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    return apply(Repeat(repeats), a)


def _view(a, *shape):
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, np.integer)):
        return a.to(shape[0])  # view(dtype) reinterprets in PyTorch; a cast is the honest subset here
    return reshape(a, *shape)


# Methods with a trailing underscore: the same operation written into the tensor's own storage.
_IN_PLACE = ["igamma", "igammac", "nextafter", "lgamma", "digamma", "i0", "mvlgamma", "index_reduce", "renorm",
             "scatter", "scatter_add",
             "scatter_reduce", "index_fill", "index_add", "index_copy", "masked_scatter", "tril", "triu",
             "floor", "ceil", "round", "trunc", "frac", "fix", "sign", "sgn", "abs", "absolute", "neg",
             "negative", "sigmoid", "tanh", "log", "log1p", "log2", "log10", "exp", "exp2", "expm1", "sin",
             "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "arcsin",
             "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "atan2", "arctan2", "erf", "erfc", "erfinv",
             "sinc", "logit", "deg2rad", "rad2deg", "square", "reciprocal", "rsqrt", "fmod", "remainder",
             "lerp", "addcmul", "addcdiv", "hypot", "copysign", "xlogy", "float_power", "heaviside",
             "nan_to_num", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
             "bitwise_right_shift", "logical_not", "logical_and", "logical_or", "logical_xor", "eq", "ne", "lt",
             "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal", "cumsum",
             "cumprod", "fill_diagonal", "clamp_min", "clamp_max", "clip", "multiply", "divide", "subtract",
             "true_divide", "floor_divide", "addmm", "addmv", "addbmm", "baddbmm", "addr", "gcd", "lcm",
             "ldexp"]


def _in_place_form(fn):
    def method(self, *args, **kwargs):
        return inplace(self, fn(self.detach(), *args, **kwargs), "copy")

    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    return method


def fill_diagonal(input: Tensor, fill_value, wrap: bool = False) -> Tensor:  # noqa: A002
    """``fill_diagonal_``'s values: the main diagonal (of every dimension at once) set to fill_value."""
    xp = xp_of(input._data)
    out = input._data.copy()
    n = builtins.min(input.shape) if input.ndim else 0
    if input.ndim == 2 and wrap and input.shape[0] > input.shape[1]:  # restart below a blank row
        period = input.shape[1] + 1
        rows = xp.arange(input.shape[0])
        rows = rows[rows % period != input.shape[1]]
        out[rows, rows % period] = fill_value
        return _wrap(out)
    idx = xp.arange(n)
    out[(idx,) * input.ndim] = fill_value
    return _wrap(out)


def install_methods(cls) -> None:
    """Give Tensor the method form of each operation (``x.sum()`` for ``torch.sum(x)``)."""
    same = ["igamma", "igammac", "nextafter", "histogram", "lgamma", "digamma", "i0", "mvlgamma",
            "diagonal_scatter", "select_scatter", "slice_scatter",
            "index_reduce", "renorm", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs",
            "neg", "clamp", "sum", "mean", "max", "min", "amax", "amin", "var", "std", "logsumexp", "argmax",
            "argmin", "softmax", "log_softmax", "reshape", "flatten", "unflatten", "permute", "transpose", "t",
            "squeeze", "unsqueeze", "expand", "split", "chunk", "unbind", "matmul", "mm", "bmm", "dot", "outer",
            "add", "sub", "mul", "div", "pow", "maximum", "minimum", "gather", "masked_fill", "logical_not",
            "logical_and", "logical_or", "isnan", "isinf", "isfinite", "sign", "floor", "ceil", "trunc",
            "round", "eq", "ne", "lt", "le", "gt", "ge", "equal", "allclose", "isclose", "all", "any", "square",
            "reciprocal", "rsqrt", "norm", "repeat", "remainder", "count_nonzero", "bitwise_and", "bitwise_or",
            "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "logical_xor", "sgn",
            "fix", "frac", "floor_divide", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp", "prod",
            "argsort", "kthvalue", "median", "mode", "msort", "sort", "topk", "unique", "bincount", "histc",
            "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "log2", "log10", "log1p",
            "expm1", "exp2", "erf", "erfc", "erfinv", "sinc", "rad2deg", "deg2rad", "atan2", "hypot",
            "logaddexp", "logaddexp2", "xlogy", "copysign", "fmod", "float_power", "arcsin", "arccos", "arctan",
            "arcsinh", "arccosh", "arctanh", "arctan2", "lerp", "addcmul", "addcdiv", "nan_to_num", "signbit",
            "heaviside", "logit", "positive", "select", "narrow", "movedim", "moveaxis", "flip", "fliplr",
            "flipud", "roll", "rot90", "tril", "triu", "diagonal", "diag_embed", "diag", "trace",
            "index_select", "repeat_interleave", "tensor_split", "hsplit", "vsplit", "dsplit", "scatter",
            "scatter_add", "scatter_reduce", "index_add", "index_copy", "index_fill", "masked_select",
            "masked_scatter", "take", "take_along_dim", "mv", "addmm", "addmv", "addbmm", "baddbmm", "addr",
            "inner", "kron", "cross", "unfold", "inverse", "det", "logdet", "slogdet", "matrix_power",
            "greater", "greater_equal", "less", "less_equal", "not_equal", "ravel", "tile", "vdot", "ger",
            "split_with_sizes", "unsafe_split", "unsafe_chunk", "is_complex", "is_signed", "is_nonzero",
            "is_same_size", "isposinf", "isneginf", "isreal", "gcd", "lcm", "ldexp", "frexp", "nonzero",
            "argwhere", "nansum", "nanmean", "nanmedian", "quantile", "nanquantile", "aminmax", "cov",
            "corrcoef", "dist", "diff", "fmax", "fmin", "broadcast_to", "unique_consecutive", "diagflat",
            "clamp_min", "clamp_max", "swapdims"]
    namespace = globals()
    _install_bitwise_operators(cls)
    for name in same:
        setattr(cls, name, namespace[name])
    cls.view = _view
    cls.view_as = lambda self, other: reshape(self, other.shape)
    cls.reshape_as = lambda self, other: reshape(self, other.shape)
    cls.expand_as = lambda self, other: expand(self, other.shape)
    cls.swapaxes = transpose
    cls.multiply = mul
    cls.divide = div
    cls.subtract = sub
    cls.true_divide = div
    cls.clip = clamp
    cls.absolute = abs
    cls.negative = neg
    cls.relu_ = lambda self: inplace(self, relu(self.detach()), "copy")
    cls.exp_ = lambda self: inplace(self, exp(self.detach()), "copy")
    cls.sqrt_ = lambda self: inplace(self, sqrt(self.detach()), "copy")
    cls.where = lambda self, condition, other: where(condition, self, other)
    cls.polygamma = lambda self, n: polygamma(n, self)
    cls.polygamma_ = lambda self, n: inplace(self, polygamma(n, self.detach()), "copy")
    for name in _IN_PLACE:
        fn = namespace.get(name) or getattr(cls, name, None)
        if fn is not None and not hasattr(cls, name + "_"):
            setattr(cls, name + "_", _in_place_form(fn))



__all__ = [n for n in dir() if not n.startswith("_")]
