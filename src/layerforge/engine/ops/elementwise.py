"""Elementwise kernels: arithmetic with broadcasting, math functions, activations, clamp, where."""
from __future__ import annotations

import numpy as np

from ..autograd import Node
from ..tensor import Tensor
from .common import (Number, apply, as_tensor_arg, broadcast_error, promote_pair, scalar_target,
                     unbroadcast, xp_of)


# ------------------------------------------------------------------------------ binary, tensor-tensor
class Add(Node):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a + b

    def backward(self, g):
        a_shape, b_shape = self.shapes
        shape = g.shape
        return (g if shape == a_shape else unbroadcast(g, a_shape),
                g if shape == b_shape else unbroadcast(g, b_shape))


class Sub(Node):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a - b

    def backward(self, g):
        # A constant operand (a target, say) needs no negated copy of the gradient.
        gb = unbroadcast(-g, self.shapes[1]) if self.inputs[1].requires_grad else None
        return unbroadcast(g, self.shapes[0]), gb


class Mul(Node):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        a, b = self.a, self.b
        ga = unbroadcast(g * b, a.shape) if self.inputs[0].requires_grad else None
        gb = unbroadcast(g * a, b.shape) if self.inputs[1].requires_grad else None
        return ga, gb


class Div(Node):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        a, b = self.a, self.b
        ga = g / b
        return unbroadcast(ga, a.shape), unbroadcast(-ga * a / b, b.shape)


class Pow(Node):
    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a ** b
        return self.out

    def backward(self, g):
        a, b, out = self.a, self.b, self.out
        xp = xp_of(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = g * b * a ** (b - 1)
            gb = g * out * xp.log(a)
        # PyTorch's convention: d(a**0)/da is 0 everywhere, also at a == 0 (0 * inf would give nan).
        ga = xp.where(b == 0, 0, ga).astype(g.dtype, copy=False)
        # PyTorch's convention: d(0**b)/db is 0 where b >= 0 (the log would give nan).
        gb = xp.where((a == 0) & (b >= 0), 0, gb).astype(g.dtype, copy=False)
        return unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)


class Maximum(Node):
    def forward(self, a, b):
        self.a, self.b = a, b
        return xp_of(a).maximum(a, b)

    def backward(self, g):
        return _select_grads(g, self.a, self.b, self.a > self.b)


class Minimum(Node):
    def forward(self, a, b):
        self.a, self.b = a, b
        return xp_of(a).minimum(a, b)

    def backward(self, g):
        return _select_grads(g, self.a, self.b, self.a < self.b)


def _select_grads(g, a, b, a_wins):
    # Ties share the gradient equally, as PyTorch does for maximum/minimum.
    tie = (a == b)
    half = g * 0.5
    ga = g * a_wins + half * tie
    gb = g * ~(a_wins | tie) + half * tie
    return unbroadcast(ga.astype(g.dtype, copy=False), a.shape), unbroadcast(gb.astype(g.dtype, copy=False), b.shape)


# ------------------------------------------------------------------------------ tensor-scalar
class AddScalar(Node):
    def __init__(self, s):
        self.s = s

    def forward(self, a):
        return a + self.s

    def backward(self, g):
        return g


class MulScalar(Node):
    def __init__(self, s):
        self.s = s

    def forward(self, a):
        return a * self.s

    def backward(self, g):
        return g * self.s


class RSubScalar(Node):
    """s - a"""

    def __init__(self, s):
        self.s = s

    def forward(self, a):
        return self.s - a

    def backward(self, g):
        return -g


class RDivScalar(Node):
    """s / a"""

    def __init__(self, s):
        self.s = s

    def forward(self, a):
        self.out = self.s / a
        self.a = a
        return self.out

    def backward(self, g):
        return -g * self.out / self.a


class PowScalar(Node):
    """a ** s"""

    def __init__(self, s):
        self.s = s

    def forward(self, a):
        self.a = a
        s = self.s
        if s == 2:
            return a * a
        return a ** s

    def backward(self, g):
        s, a = self.s, self.a
        if s == 0:
            return g * 0
        if s == 2:
            return g * (2 * a)
        if s == 1:
            return g
        return g * (s * a ** (s - 1))


class RPowScalar(Node):
    """s ** a"""

    def __init__(self, s):
        self.s = s

    def forward(self, a):
        self.out = self.s ** a
        return self.out

    def backward(self, g):
        if self.s == 0:
            return g * 0
        return g * self.out * float(np.log(self.s))


class Neg(Node):
    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


# ------------------------------------------------------------------------------ unary math
class Exp(Node):
    def forward(self, a):
        self.out = xp_of(a).exp(a)
        return self.out

    def backward(self, g):
        return g * self.out


class Log(Node):
    def forward(self, a):
        self.a = a
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp_of(a).log(a)

    def backward(self, g):
        with np.errstate(divide="ignore", invalid="ignore"):
            return g / self.a


class Sqrt(Node):
    def forward(self, a):
        with np.errstate(invalid="ignore"):
            self.out = xp_of(a).sqrt(a)
        return self.out

    def backward(self, g):
        with np.errstate(divide="ignore", invalid="ignore"):
            return g / (2 * self.out)


class Abs(Node):
    def forward(self, a):
        self.a = a
        return xp_of(a).abs(a)

    def backward(self, g):
        return g * xp_of(g).sign(self.a)


class Sin(Node):
    def forward(self, a):
        self.a = a
        return xp_of(a).sin(a)

    def backward(self, g):
        return g * xp_of(g).cos(self.a)


class Cos(Node):
    def forward(self, a):
        self.a = a
        return xp_of(a).cos(a)

    def backward(self, g):
        return -g * xp_of(g).sin(self.a)


class Tanh(Node):
    def forward(self, a):
        self.out = xp_of(a).tanh(a)
        return self.out

    def backward(self, g):
        out = self.out
        return g * (1 - out * out)


def stable_sigmoid(a):
    """1 / (1 + exp(-a)) without overflow for large |a|, exact in the tails."""
    xp = xp_of(a)
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


class Sigmoid(Node):
    def forward(self, a):
        self.out = stable_sigmoid(a)
        return self.out

    def backward(self, g):
        out = self.out
        return g * out * (1 - out)


class Relu(Node):
    def forward(self, a):
        self.out = xp_of(a).maximum(a, 0)
        return self.out

    def backward(self, g):
        return g * (self.out > 0)


class Clamp(Node):
    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, a):
        self.a = a
        xp = xp_of(a)
        out = a
        if self.low is not None:
            out = xp.maximum(out, self.low)
        if self.high is not None:
            out = xp.minimum(out, self.high)
        # Like PyTorch, NaN inputs stay NaN.
        return xp.where(xp.isnan(a), a, out) if a.dtype.kind == "f" else out

    def backward(self, g):
        a = self.a
        keep = True
        if self.low is not None:
            keep = a >= self.low
        if self.high is not None:
            keep = keep & (a <= self.high)
        return g * keep


class Where(Node):
    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return xp_of(a).where(self.condition, a, b)

    def backward(self, g):
        c = self.condition
        zero = g.dtype.type(0)
        xp = xp_of(g)
        return (unbroadcast(xp.where(c, g, zero), self.shapes[0]),
                unbroadcast(xp.where(c, zero, g), self.shapes[1]))


class Cast(Node):
    def __init__(self, target):
        self.target = target

    def forward(self, a):
        self.source = a.dtype
        return a.astype(self.target)

    def backward(self, g):
        if self.source.kind != "f":
            return None
        return g.astype(self.source)


# ------------------------------------------------------------------------------ user-facing functions
def _binary(node_cls, scalar_node, rscalar_node, a, b, op, true_divide=False):
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            ad, bd = a._data, b._data
            # Fast path (most calls in a training step): two CPU arrays of one floating dtype.
            if type(ad) is np.ndarray and type(bd) is np.ndarray and ad.dtype is bd.dtype \
                    and ad.dtype.kind == "f":
                try:
                    return apply(node_cls(), a, b)
                except ValueError:
                    raise broadcast_error(op, ad.shape, bd.shape) from None
        elif (type(b) is float or type(b) is int) and scalar_node is not None \
                and a._data.dtype.kind == "f":
            return apply(scalar_node(b), a)  # a float tensor and a Python number keep the dtype
    elif (type(a) is float or type(a) is int) and rscalar_node is not None and isinstance(b, Tensor) \
            and b._data.dtype.kind == "f":
        return apply(rscalar_node(a), b)
    if not isinstance(a, Tensor):
        if isinstance(a, Number):
            return _with_scalar(rscalar_node, b, a, op, true_divide)
        a = as_tensor_arg(a, b)
    if not isinstance(b, Tensor):
        if isinstance(b, Number):
            return _with_scalar(scalar_node, a, b, op, true_divide)
        b = as_tensor_arg(b, a)
    a, b = promote_pair(a, b, op)
    if true_divide and a._data.dtype.kind not in "fc":
        from ..dtypes import get_default_dtype

        a, b = a.to(get_default_dtype()), b.to(get_default_dtype())
    try:
        return apply(node_cls(), a, b)
    except ValueError:
        raise broadcast_error(op, a.shape, b.shape) from None


def _with_scalar(make_node, t, s, op, true_divide):
    target = scalar_target(t, s, true_divide)
    if target is not None:
        t = t.to(target)
    if make_node is None:
        raise TypeError(f"unsupported operand for {op}")
    node = make_node(s)
    if node is None:  # the operation is the identity (x + 0, x * 1)
        return t
    return apply(node, t)


def add(a, b, alpha=1):
    if alpha != 1:
        b = mul(b, alpha)
    return _binary(Add, AddScalar, AddScalar, a, b, "add")


def sub(a, b, alpha=1):
    if alpha != 1:
        b = mul(b, alpha)
    return _binary(Sub, lambda s: AddScalar(-s), RSubScalar, a, b, "sub")


def rsub(a, b):
    return sub(b, a)


def mul(a, b):
    return _binary(Mul, MulScalar, MulScalar, a, b, "mul")


def div(a, b, rounding_mode=None):
    if rounding_mode is not None:
        return _rounded_div(a, b, rounding_mode)
    return _binary(Div, lambda s: MulScalar(1.0 / s) if s != 0 else _DivByZero(s), RDivScalar, a, b,
                   "div", true_divide=True)


class _DivByZero(Node):
    """x / 0 keeps IEEE semantics (inf, nan) as PyTorch does."""

    def __init__(self, s):
        self.s = s

    def forward(self, a):
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / self.s

    def backward(self, g):
        with np.errstate(divide="ignore", invalid="ignore"):
            return g / self.s


def _rounded_div(a, b, mode):
    from .. import creation

    a_t = a if isinstance(a, Tensor) else creation.tensor(a)
    b_arr = b._data if isinstance(b, Tensor) else b
    xp = xp_of(a_t._data)
    with np.errstate(divide="ignore", invalid="ignore"):
        if mode == "floor":
            out = xp.floor_divide(a_t._data, b_arr)
        elif mode == "trunc":
            q = a_t._data / b_arr
            out = xp.trunc(q).astype(xp.result_type(a_t._data, b_arr))
        else:
            raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                             f"found '{mode}'")
    return Tensor._wrap(xp.asarray(out))


def pow(a, b):  # noqa: A001  (PyTorch's name)
    return _binary(Pow, PowScalar, RPowScalar, a, b, "pow")


def maximum(a, b):
    return _binary(Maximum, None, None, a, b, "maximum")


def minimum(a, b):
    return _binary(Minimum, None, None, a, b, "minimum")


def neg(a):
    return apply(Neg(), a)


def _float_input(a: Tensor) -> Tensor:
    if a._data.dtype.kind != "f":
        from ..dtypes import get_default_dtype

        return a.to(get_default_dtype())
    return a


def _unary(node_cls):
    def op(a):
        return apply(node_cls(), _float_input(a))

    op.__name__ = node_cls.__name__.lower()
    return op


exp, log, sqrt, sin, cos, tanh, sigmoid = (_unary(c) for c in (Exp, Log, Sqrt, Sin, Cos, Tanh, Sigmoid))


def abs(a):  # noqa: A001
    return apply(Abs(), a)


def relu(a):
    return apply(Relu(), a)


def clamp(a, min=None, max=None):  # noqa: A002
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = a
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    if a._data.dtype.kind != "f" and any(isinstance(v, float) for v in (min, max)):
        a = _float_input(a)  # int tensor, float bound: the result is of the default float dtype
    return apply(Clamp(min, max), a)


def where(condition, a, b):
    cond = condition._data if isinstance(condition, Tensor) else condition
    if isinstance(a, Tensor):
        like = a
    elif isinstance(b, Tensor):
        like = b
    else:
        like = condition
    if not isinstance(a, Tensor):
        a = as_tensor_arg(np.asarray(a, dtype=like._data.dtype) if isinstance(a, Number) else a, like)
    if not isinstance(b, Tensor):
        b = as_tensor_arg(np.asarray(b, dtype=a._data.dtype) if isinstance(b, Number) else b, like)
    a, b = promote_pair(a, b, "where")
    if cond.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with "
                           f"dtype {Tensor._wrap(cond).dtype.name}")
    try:
        return apply(Where(cond), a, b)
    except ValueError:
        raise broadcast_error("where", a.shape, b.shape) from None


def cast(a: Tensor, target_np_dtype) -> Tensor:
    return apply(Cast(target_np_dtype), a)
