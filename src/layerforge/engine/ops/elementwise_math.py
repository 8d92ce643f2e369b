"""The rest of PyTorch's elementwise math, each function once with its derivative.

A unary function is a row of ``UNARY``: how to compute it and its derivative from the input ``x`` and
the output ``y``. Binary functions are rows of ``BINARY`` with one derivative per input. One node class
per function (``TanBackward`` in a graph, as PyTorch names them) runs the row on numpy or cupy arrays.
Integer inputs are computed in the default float dtype, as PyTorch does.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Node
from ..dtypes import get_default_dtype
from ..tensor import Tensor
from .activation import erf as _erf
from .common import Number, apply, as_tensor_arg, broadcast_error, promote_pair, unbroadcast, xp_of
from .elementwise_functions import _float_input, _scalar_like, add, div, mul, sub
from .special import bessel_i1 as _i1
from .special import digamma as _digamma
from .special import erfc as _erfc
from .special import erfinv as _erfinv
from .special import lgamma as _lgamma
from .special import polygamma as _polygamma

_wrap = Tensor._wrap
_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _sinc(xp, x):
    px = math.pi * x
    return xp.where(x == 0, 1.0, xp.sin(px) / xp.where(x == 0, 1.0, px)).astype(x.dtype, copy=False)


def _sinc_derivative(xp, x, y):
    px = math.pi * x
    safe = xp.where(x == 0, 1.0, x)
    return xp.where(x == 0, 0.0, (xp.cos(px) - y) / safe)


def _i0(xp, x):
    return xp.i0(x) if xp is not np else np.i0(x)


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# name: (forward(xp, x), derivative(xp, x, y))
UNARY = {
    "tan": (lambda xp, x: xp.tan(x), lambda xp, x, y: 1 + y * y),
    "asin": (lambda xp, x: xp.arcsin(x), lambda xp, x, y: 1 / xp.sqrt(1 - x * x)),
    "acos": (lambda xp, x: xp.arccos(x), lambda xp, x, y: -1 / xp.sqrt(1 - x * x)),
    "atan": (lambda xp, x: xp.arctan(x), lambda xp, x, y: 1 / (1 + x * x)),
    "sinh": (lambda xp, x: xp.sinh(x), lambda xp, x, y: xp.cosh(x)),
    "cosh": (lambda xp, x: xp.cosh(x), lambda xp, x, y: xp.sinh(x)),
    "asinh": (lambda xp, x: xp.arcsinh(x), lambda xp, x, y: 1 / xp.sqrt(x * x + 1)),
    "acosh": (lambda xp, x: xp.arccosh(x), lambda xp, x, y: 1 / xp.sqrt((x - 1) * (x + 1))),
    "atanh": (lambda xp, x: xp.arctanh(x), lambda xp, x, y: 1 / (1 - x * x)),
    "log2": (lambda xp, x: xp.log2(x), lambda xp, x, y: 1 / (x * _LN2)),
    "log10": (lambda xp, x: xp.log10(x), lambda xp, x, y: 1 / (x * _LN10)),
    "log1p": (lambda xp, x: xp.log1p(x), lambda xp, x, y: 1 / (1 + x)),
    "expm1": (lambda xp, x: xp.expm1(x), lambda xp, x, y: y + 1),
    "exp2": (lambda xp, x: xp.exp2(x), lambda xp, x, y: y * _LN2),
    "erf": (lambda xp, x: _erf(x), lambda xp, x, y: _TWO_OVER_SQRT_PI * xp.exp(-x * x)),
    "erfc": (lambda xp, x: _erfc(x), lambda xp, x, y: -_TWO_OVER_SQRT_PI * xp.exp(-x * x)),
    "erfinv": (lambda xp, x: _erfinv(x), lambda xp, x, y: (math.sqrt(math.pi) / 2) * xp.exp(y * y)),
    "sinc": (_sinc, _sinc_derivative),
    "lgamma": (lambda xp, x: _lgamma(x), lambda xp, x, y: _digamma(x)),
    "digamma": (lambda xp, x: _digamma(x), lambda xp, x, y: _polygamma(1, x)),
    "i0": (lambda xp, x: _i0(xp, x), lambda xp, x, y: _i1(x)),
    "rad2deg": (lambda xp, x: x * (180.0 / math.pi), lambda xp, x, y: 180.0 / math.pi),
    "deg2rad": (lambda xp, x: x * (math.pi / 180.0), lambda xp, x, y: math.pi / 180.0),
    # torch.special's: -x log x (0 at 0, -inf below), I1, and the standard normal CDF
    "entr": (lambda xp, x: xp.where(x > 0, -x * xp.log(xp.where(x > 0, x, 1.0)), xp.where(x == 0, 0.0, -np.inf)),
             lambda xp, x, y: -(1.0 + xp.log(x))),
    "i1": (lambda xp, x: _i1(x), lambda xp, x, y: xp.where(x == 0, 0.5, _i0(xp, x) - y / xp.where(x == 0, 1.0, x))),
    "ndtr": (lambda xp, x: 0.5 * _erfc(-x * _SQRT_HALF), lambda xp, x, y: _INV_SQRT_2PI * xp.exp(-0.5 * x * x)),
}


class Unary(Node):
    """One row of UNARY; subclassed per function so the graph names it."""

    fn = derivative = None

    def forward(self, a):
        xp = xp_of(a)
        with np.errstate(all="ignore"):
            out = xp.asarray(type(self).fn(xp, a)).astype(a.dtype, copy=False)
        self.a, self.out = a, out
        return out

    def backward(self, g):
        with np.errstate(all="ignore"):
            return (g * type(self).derivative(xp_of(g), self.a, self.out)).astype(g.dtype, copy=False)


def _unary(name: str):
    forward, derivative = UNARY[name]
    node = type(name.capitalize(), (Unary,), {"fn": staticmethod(forward),
                                              "derivative": staticmethod(derivative)})

    def op(input):  # noqa: A002
        return apply(node(), _float_input(input))

    op.__name__ = op.__qualname__ = name
    return op


tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh, log2, log10, log1p, expm1, exp2, erf, erfc, \
    erfinv, sinc, lgamma, digamma, i0, rad2deg, deg2rad, entr, i1, ndtr = (_unary(name) for name in UNARY)


class Polygamma(Unary):
    def __init__(self, n):
        self.n = n

    def forward(self, a):
        with np.errstate(all="ignore"):
            self.a, self.out = a, _polygamma(self.n, a)
        return self.out

    def backward(self, g):
        with np.errstate(all="ignore"):
            return (g * _polygamma(self.n + 1, self.a)).astype(g.dtype, copy=False)


def polygamma(n: int, input):  # noqa: A002
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return apply(Polygamma(int(n)), _float_input(input))


def mvlgamma(input, p: int):  # noqa: A002
    """The multivariate log-gamma of dimension p: p(p-1)/4 log(pi) + sum of lgamma(x - i/2)."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = _float_input(input)
    if bool((x._data <= (p - 1) / 2).any()):
        raise RuntimeError(f"All elements must be greater than (p-1)/2 = {(p - 1) / 2}")
    total = lgamma(x)
    for i in range(1, p):
        total = total + lgamma(x - i / 2)
    return total + p * (p - 1) / 4 * math.log(math.pi)


# ------------------------------------------------------------------------------ binary
def _logaddexp_grads(xp, a, b, y, base_e=True):
    scale = 1.0 if base_e else _LN2
    return xp.exp((a - y) * scale), xp.exp((b - y) * scale)


# name: (forward(xp, a, b), gradients(xp, a, b, y) -> (d/da, d/db) factors, or None where zero)
BINARY = {
    "atan2": (lambda xp, a, b: xp.arctan2(a, b),
              lambda xp, a, b, y: (b / (a * a + b * b), -a / (a * a + b * b))),
    "hypot": (lambda xp, a, b: xp.hypot(a, b), lambda xp, a, b, y: (a / y, b / y)),
    "logaddexp": (lambda xp, a, b: xp.logaddexp(a, b), lambda xp, a, b, y: _logaddexp_grads(xp, a, b, y)),
    "logaddexp2": (lambda xp, a, b: xp.logaddexp2(a, b),
                   lambda xp, a, b, y: _logaddexp_grads(xp, a, b, y, base_e=False)),
    "xlogy": (lambda xp, a, b: xp.where((a == 0) & ~xp.isnan(b), 0.0, a * xp.log(b)),
              lambda xp, a, b, y: (xp.where((a == 0) & (b <= 0), 0.0, xp.log(b)), a / b)),
    "xlog1py": (lambda xp, a, b: xp.where((a == 0) & ~xp.isnan(b), 0.0, a * xp.log1p(b)),
                lambda xp, a, b, y: (xp.where((a == 0) & (b <= -1), 0.0, xp.log1p(b)), a / (b + 1))),
    "copysign": (lambda xp, a, b: xp.copysign(a, b),
                 lambda xp, a, b, y: (xp.where(a == 0, 0.0, y / xp.where(a == 0, 1.0, a)), None)),
    "fmod": (lambda xp, a, b: xp.fmod(a, b), lambda xp, a, b, y: (1.0, -xp.trunc(a / b))),
    "float_power": (lambda xp, a, b: xp.power(a, b),
                    lambda xp, a, b, y: (xp.where(b == 0, 0.0, b * a ** (b - 1)),
                                         xp.where((a == 0) & (b >= 0), 0.0, y * xp.log(a)))),
    # PyTorch's gradients: 1 for input where it moves (0 where input == other, the result is other), 0 for other
    "nextafter": (lambda xp, a, b: xp.nextafter(a, b), lambda xp, a, b, y: (a != b, None)),
}
_FLOAT_RESULT = {"atan2", "xlogy", "xlog1py", "copysign"}
_FLOAT_ONLY = {"hypot", "logaddexp", "logaddexp2", "nextafter"}


class Binary(Node):
    """One row of BINARY; subclassed per function so the graph names it."""

    fn = gradients = None

    def forward(self, a, b):
        xp = xp_of(a)
        with np.errstate(all="ignore"):
            out = xp.asarray(type(self).fn(xp, a, b)).astype(xp.result_type(a, b), copy=False)
        self.a, self.b, self.out = a, b, out
        return out

    def backward(self, g):
        xp = xp_of(g)
        with np.errstate(all="ignore"):
            da, db = type(self).gradients(xp, self.a, self.b, self.out)
            ga = None if da is None else unbroadcast((g * da).astype(g.dtype, copy=False), self.a.shape)
            gb = xp.zeros(self.b.shape, g.dtype) if db is None else \
                unbroadcast((g * db).astype(g.dtype, copy=False), self.b.shape)
        return ga, gb


def _binary(name: str):
    forward, gradients = BINARY[name]
    node = type(name.capitalize(), (Binary,), {"fn": staticmethod(forward),
                                               "gradients": staticmethod(gradients)})

    def op(input, other):  # noqa: A002
        a, b = _pair(input, other, name)
        if name == "float_power":  # always in double precision, as PyTorch's
            a, b = a.to("float64"), b.to("float64")
        elif name in _FLOAT_RESULT and a._data.dtype.kind != "f":
            a, b = a.to(get_default_dtype()), b.to(get_default_dtype())
        elif name in _FLOAT_ONLY and a._data.dtype.kind != "f":
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{a.dtype.name.capitalize()}\'')
        elif name == "fmod" and a._data.dtype.kind in "biu" and bool(xp_of(b._data).any(b._data == 0)):
            raise RuntimeError("ZeroDivisionError")
        try:
            return apply(node(), a, b)
        except ValueError:
            raise broadcast_error(name, a.shape, b.shape) from None

    op.__name__ = op.__qualname__ = name
    return op


def _pair(a, b, op: str):
    if not isinstance(a, Tensor):
        a = _scalar_like(a, b) if isinstance(a, Number) else as_tensor_arg(a, b)
    if not isinstance(b, Tensor):
        b = _scalar_like(b, a) if isinstance(b, Number) else as_tensor_arg(b, a)
    return promote_pair(a, b, op)


(atan2, hypot, logaddexp, logaddexp2, xlogy, xlog1py, copysign, fmod, float_power,
 nextafter) = (_binary(n) for n in BINARY)

# numpy's spellings, which PyTorch also accepts
arcsin, arccos, arctan, arcsinh, arccosh, arctanh, arctan2 = asin, acos, atan, asinh, acosh, atanh, atan2


# ------------------------------------------------------------------------------ composites and no-grad
def lerp(input, end, weight):  # noqa: A002
    """start + weight * (end - start), with PyTorch's gradients for all three."""
    return add(input, mul(weight, sub(end, input)))


def addcmul(input, tensor1, tensor2, *, value=1):  # noqa: A002
    return add(input, mul(mul(tensor1, tensor2), value))


def addcdiv(input, tensor1, tensor2, *, value=1):  # noqa: A002
    return add(input, mul(div(tensor1, tensor2), value))


class NanToNum(Node):
    def __init__(self, nan, posinf, neginf):
        self.values = (nan, posinf, neginf)

    def forward(self, a):
        xp = xp_of(a)
        nan, posinf, neginf = self.values
        info = np.finfo(a.dtype)
        posinf = info.max if posinf is None else posinf
        neginf = info.min if neginf is None else neginf
        self.finite = xp.isfinite(a)
        out = xp.where(xp.isnan(a), nan, a)
        return xp.where(out == np.inf, posinf, xp.where(out == -np.inf, neginf, out)).astype(a.dtype)

    def backward(self, g):
        return g * self.finite


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):  # noqa: A002
    if input._data.dtype.kind != "f":
        return input.clone()
    return apply(NanToNum(nan, posinf, neginf), input)


def signbit(input) -> Tensor:  # noqa: A002
    data = input._data
    return _wrap(xp_of(data).signbit(data) if data.dtype.kind == "f" else data < 0)


def heaviside(input, values) -> Tensor:  # noqa: A002
    if input._data.dtype != values._data.dtype:
        raise RuntimeError(f"heaviside is not yet implemented for tensors with different dtypes "
                           f"({input.dtype.name} and {values.dtype.name})")
    xp = xp_of(input._data)
    x, v = input._data, values._data
    return _wrap(xp.where(x == 0, v, (x > 0).astype(x.dtype)).astype(x.dtype))


class Logit(Node):
    def __init__(self, eps):
        self.eps = eps

    def forward(self, a):
        xp = xp_of(a)
        self.a = a
        x = a if self.eps is None else xp.clip(a, self.eps, 1 - self.eps)
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.log(x / (1 - x)).astype(a.dtype, copy=False)

    def backward(self, g):
        xp = xp_of(g)
        a = self.a
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = g / (a * (1 - a))
        if self.eps is not None:  # flat where the input was clamped, as PyTorch's
            grad = xp.where((a < self.eps) | (a > 1 - self.eps), 0, grad)
        return grad.astype(g.dtype, copy=False)


def logit(input, eps=None):  # noqa: A002
    return apply(Logit(eps), _float_input(input))


def positive(input):  # noqa: A002
    return input
