"""Bitwise operations: ``& | ^ ~ << >>`` on integer tensors (logical on bool), as PyTorch computes them.

They have no gradient and never join a graph. Operands follow PyTorch's promotion (a Python int beside
an int32 tensor keeps int32); floating tensors are refused with PyTorch's ``NotImplementedError``.
"""
from __future__ import annotations

import numpy as np

from ..dtypes import scalar_result_type
from ..tensor import Tensor
from .common import Number, as_tensor_arg, broadcast_error, promote_pair, xp_of

_wrap = Tensor._wrap


def _refuse(kernel: str, array) -> NotImplementedError:
    names = {np.float16: "Half", np.float32: "Float", np.float64: "Double", np.bool_: "Bool"}
    return NotImplementedError(f'"{kernel}_cpu" not implemented for '
                               f"'{names.get(array.dtype.type, str(array.dtype))}'")


def _operands(a, b, op: str):
    """``a`` and ``b`` (Tensors or Python numbers) as two arrays of PyTorch's result dtype."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{op}(): expected at least one Tensor, got {type(a).__name__} and "
                        f"{type(b).__name__}")
    tensor, other = (a, b) if isinstance(a, Tensor) else (b, a)
    if isinstance(other, Number):
        if isinstance(other, float):
            raise _refuse(op, np.zeros(0, np.float32))
        target = scalar_result_type(tensor.dtype, other)
        data = tensor._data if target.np == tensor._data.dtype else tensor._data.astype(target.np)
        scalar = xp_of(data).asarray(other, dtype=target.np)
        return (data, scalar) if tensor is a else (scalar, data)
    other = as_tensor_arg(other, tensor)
    a, b = (tensor, other) if tensor is a else (other, tensor)
    a, b = promote_pair(a, b, op)
    return a._data, b._data


def _integral(kernel: str, allow_bool: bool, *arrays):
    for array in arrays:
        if array.dtype.kind == "f" or (array.dtype.kind == "b" and not allow_bool):
            raise _refuse(kernel, array)


def _binary(name: str, kernel: str, ufunc: str):
    def op(input, other):  # noqa: A002  (PyTorch's argument names)
        x, y = _operands(input, other, name)
        _integral(kernel, True, x, y)
        try:
            return _wrap(getattr(xp_of(x), ufunc)(x, y))
        except ValueError:
            raise broadcast_error(name, x.shape, y.shape) from None

    op.__name__ = op.__qualname__ = name
    return op


bitwise_and = _binary("bitwise_and", "bitwise_and", "bitwise_and")
bitwise_or = _binary("bitwise_or", "bitwise_or", "bitwise_or")
bitwise_xor = _binary("bitwise_xor", "bitwise_xor", "bitwise_xor")


def bitwise_not(input: Tensor) -> Tensor:  # noqa: A002
    data = input._data
    _integral("bitwise_not", True, data)
    return _wrap(xp_of(data).invert(data))


def _shift(name: str, kernel: str, left: bool):
    def op(input, other):  # noqa: A002
        x, y = _operands(input, other, name)
        _integral(kernel, False, x, y)
        xp = xp_of(x)
        try:
            x, y = xp.broadcast_arrays(x, y)
        except ValueError:
            raise broadcast_error(name, x.shape, y.shape) from None
        bits = x.dtype.itemsize * 8
        out_of_range = (y < 0) | (y >= bits)
        amount = xp.where(out_of_range, 0, y).astype(x.dtype)
        if left:  # shifting every bit out leaves 0, as PyTorch defines it
            return _wrap(xp.where(out_of_range, 0, xp.left_shift(x, amount)).astype(x.dtype))
        # ... and shifting right that far leaves the sign: -1 for negative numbers, else 0
        fill = xp.right_shift(x, bits - 1) if x.dtype.kind == "i" else xp.zeros_like(x)
        return _wrap(xp.where(out_of_range, fill, xp.right_shift(x, amount)).astype(x.dtype))

    op.__name__ = op.__qualname__ = name
    return op


bitwise_left_shift = _shift("bitwise_left_shift", "lshift", True)
bitwise_right_shift = _shift("bitwise_right_shift", "rshift", False)


def logical_xor(input: Tensor, other) -> Tensor:  # noqa: A002
    x, y = _operands(input, other, "logical_xor")
    return _wrap(xp_of(x).logical_xor(x, y))


def _invert(self):
    if self._data.dtype.kind not in "biu":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return bitwise_not(self)


def install_operators(cls) -> None:
    """``~ & | ^ << >>`` on Tensor, a Python number on either side."""
    cls.__invert__ = _invert
    for name, fn in (("and", bitwise_and), ("or", bitwise_or), ("xor", bitwise_xor),
                     ("lshift", bitwise_left_shift), ("rshift", bitwise_right_shift)):
        setattr(cls, f"__{name}__", fn)
        setattr(cls, f"__r{name}__", (lambda f: lambda self, other: f(other, self))(fn))
