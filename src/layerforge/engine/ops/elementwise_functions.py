"""The user-facing elementwise functions: argument handling, dtype promotion and fast paths.

Each picks a kernel from ``elementwise.py`` (tensor-tensor, tensor-scalar or scalar-tensor) and applies
it; the kernels trust their arguments.
"""
from __future__ import annotations

import numpy as np

from ..dtypes import get_default_dtype
from ..tensor import Tensor
from .common import Number, apply, as_tensor_arg, broadcast_error, promote_pair, scalar_target, xp_of
from .activation import Relu
from .elementwise import (Abs, Add, AddScalar, Cast, Clamp, Cos, Div, DivByZeroScalar, Exp, Log, Maximum, Minimum,
                          Mul, MulScalar, Neg, Pow, PowScalar, RDivScalar, RPowScalar, RSubScalar, Sigmoid, Sin,
                          Sqrt, Sub, Tanh, Where)
from .elementwise_rounding import FloorDivide, Remainder, RoundedDiv, Stepwise


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
    dtype = t._data.dtype
    if dtype.kind in "iu" and type(getattr(node, "s", None)) is int:
        # integers wrap around as in PyTorch (uint8 - 1); numpy refuses a Python int out of range
        node.s = dtype.type(np.asarray(node.s).astype(dtype))
    return apply(node, t)


def add(a, b, alpha=1):
    if alpha != 1:
        b = mul(b, alpha)
    return _binary(Add, AddScalar, AddScalar, a, b, "add")


def sub(a, b, alpha=1):
    if _is_bool(a) or _is_bool(b):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                           "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    if alpha != 1:
        b = mul(b, alpha)
    return _binary(Sub, lambda s: AddScalar(-s), RSubScalar, a, b, "sub")


def _is_bool(value) -> bool:
    return type(value) is bool or (isinstance(value, Tensor) and value._data.dtype.kind == "b")


def rsub(a, b):
    return sub(b, a)


def mul(a, b):
    return _binary(Mul, MulScalar, MulScalar, a, b, "mul")


def div(a, b, rounding_mode=None):
    if rounding_mode is not None:
        return _rounded_div(a, b, rounding_mode)
    return _binary(Div, lambda s: MulScalar(1.0 / s) if s != 0 else DivByZeroScalar(s), RDivScalar, a, b,
                   "div", true_divide=True)


_ROUNDING_MODES = (None, "trunc", "floor")


def _tensor_pair(a, b, op: str):
    """Two Tensors of PyTorch's result dtype from Tensors, Python numbers or arrays."""
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(f"{op}(): at least one argument must be a Tensor")
        a = as_tensor_arg(a, b) if not isinstance(a, Number) else _scalar_like(a, b)
    if not isinstance(b, Tensor):
        b = as_tensor_arg(b, a) if not isinstance(b, Number) else _scalar_like(b, a)
    return promote_pair(a, b, op)


def _rounded_div(a, b, mode, node_cls=RoundedDiv):
    """``div`` with ``rounding_mode``: the dtype follows PyTorch's promotion (no true division's float
    result), integers divide exactly (no detour through float64), and the gradient is zero."""
    if mode not in _ROUNDING_MODES:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                           f"found '{mode}'")
    a, b = _tensor_pair(a, b, "div")
    if a._data.dtype.kind in "biu" and bool(xp_of(b._data).any(b._data == 0)):
        raise RuntimeError("ZeroDivisionError")
    try:
        return apply(node_cls(mode) if node_cls is RoundedDiv else node_cls(), a, b)
    except ValueError:
        raise broadcast_error("div", a.shape, b.shape) from None


def _scalar_like(number, tensor: Tensor) -> Tensor:
    """A Python number as a 0-d tensor of the dtype PyTorch gives ``tensor (op) number``."""
    target = scalar_target(tensor, number) or tensor.dtype
    return Tensor._wrap(xp_of(tensor._data).asarray(number, dtype=target.np))


def floor_divide(input, other):  # noqa: A002
    return _rounded_div(input, other, "floor", FloorDivide)


def remainder(input, other):  # noqa: A002
    a, b = _tensor_pair(input, other, "remainder")
    try:
        return apply(Remainder(), a, b)
    except ValueError:
        raise broadcast_error("remainder", a.shape, b.shape) from None


def pow(a, b):  # noqa: A001  (PyTorch's name)
    if type(b) is int and b < 0 and isinstance(a, Tensor) and a._data.dtype.kind in "biu":
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return _binary(Pow, PowScalar, RPowScalar, a, b, "pow")


def maximum(a, b):
    return _binary(Maximum, None, None, a, b, "maximum")


def minimum(a, b):
    return _binary(Minimum, None, None, a, b, "minimum")


def neg(a):
    return apply(Neg(), a)


def _float_input(a: Tensor) -> Tensor:
    if a._data.dtype.kind != "f":
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
    """``Tensor.relu`` and ``torch.relu``: the same node as nn.ReLU's (pooled buffers for large arrays)."""
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


def where(condition, input, other):  # noqa: A002  (PyTorch's argument names)
    a, b = input, other
    cond = condition._data if isinstance(condition, Tensor) else condition
    if isinstance(a, Tensor):
        like = a
    elif isinstance(b, Tensor):
        like = b
    else:  # two Python numbers: PyTorch's dtype for them (a float gives the default float dtype)
        like = condition
        if isinstance(a, Number) and isinstance(b, Number):
            kinds = {type(a), type(b)}
            dtype = get_default_dtype().np if float in kinds else np.int64 if int in kinds else np.bool_
            a = as_tensor_arg(np.asarray(a, dtype=dtype), like)
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


def _stepwise(name: str, float_fn, integer_fn=None):
    """A stepwise function (zero gradient) that keeps integer and bool inputs' dtype, as PyTorch."""
    node = type(name.capitalize(), (Stepwise,), {})

    def op(input):  # noqa: A002
        xp = xp_of(input._data)
        if input._data.dtype.kind in "biu":
            fn = integer_fn or (lambda a: a.copy())
        else:
            fn = getattr(xp, float_fn)
        return apply(node(lambda a: xp.asarray(fn(a))), input)

    op.__name__ = op.__qualname__ = name
    return op


floor = _stepwise("floor", "floor")
ceil = _stepwise("ceil", "ceil")
trunc = _stepwise("trunc", "trunc")
fix = _stepwise("fix", "trunc")
sign = _stepwise("sign", "sign", lambda a: a.copy() if a.dtype.kind == "b" else xp_of(a).sign(a))
sgn = sign


_Round = type("Round", (Stepwise,), {})


def round(input, decimals: int = 0):  # noqa: A001,A002
    xp = xp_of(input._data)
    if input._data.dtype.kind in "biu":
        return apply(_Round(lambda a: a.copy()), input)
    return apply(_Round(lambda a: xp.asarray(xp.round(a, decimals))), input)


def frac(input):  # noqa: A002
    """x - trunc(x): its gradient is 1, as PyTorch's."""
    return sub(input, trunc(input).detach())
