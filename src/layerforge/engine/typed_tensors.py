"""Tensor factories that older and tutorial code calls: ``x.new_zeros(...)`` and friends (dtype and
device of ``x``), and the legacy typed constructors ``torch.FloatTensor``, ``torch.LongTensor``, ...
which also answer ``isinstance(t, torch.FloatTensor)`` by dtype, as PyTorch's do.
"""
from __future__ import annotations

from . import creation
from .dtypes import to_dtype
from .tensor import Tensor


def _options(self: Tensor, dtype, device):
    return {"dtype": self.dtype if dtype is None else dtype, "device": self.device if device is None else device}


def new_zeros(self: Tensor, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return creation.zeros(*size, **_options(self, dtype, device), requires_grad=requires_grad)


def new_ones(self: Tensor, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return creation.ones(*size, **_options(self, dtype, device), requires_grad=requires_grad)


def new_empty(self: Tensor, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return creation.empty(*size, **_options(self, dtype, device), requires_grad=requires_grad)


def new_full(self: Tensor, size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return creation.full(size, fill_value, **_options(self, dtype, device), requires_grad=requires_grad)


def new_tensor(self: Tensor, data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A copy of ``data`` (never sharing storage), by default of ``self``'s dtype and device."""
    return creation.tensor(data, **_options(self, dtype, device), requires_grad=requires_grad)


def install_methods(cls) -> None:
    for fn in (new_zeros, new_ones, new_empty, new_full, new_tensor):
        setattr(cls, fn.__name__, fn)


class _TypedTensorMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == "cpu"


class _TypedTensor(metaclass=_TypedTensorMeta):
    """``FloatTensor(data)`` copies data; ``FloatTensor(2, 3)`` is uninitialised of that size."""

    dtype = None

    def __new__(cls, *args, device=None):
        if len(args) == 1 and not isinstance(args[0], int):
            return creation.tensor(args[0], dtype=cls.dtype, device=device)
        if not all(isinstance(a, int) for a in args):
            raise TypeError(f"{cls.__name__}() takes data (a sequence, array or Tensor) or sizes (ints), "
                            f"got {args!r}")
        return creation.empty(*args, dtype=cls.dtype, device=device)


def _typed(name: str, dtype_name: str):
    return _TypedTensorMeta(name, (_TypedTensor,), {"dtype": to_dtype(dtype_name)})


FloatTensor = _typed("FloatTensor", "float32")
DoubleTensor = _typed("DoubleTensor", "float64")
HalfTensor = _typed("HalfTensor", "float16")
LongTensor = _typed("LongTensor", "int64")
IntTensor = _typed("IntTensor", "int32")
ShortTensor = _typed("ShortTensor", "int16")
CharTensor = _typed("CharTensor", "int8")
ByteTensor = _typed("ByteTensor", "uint8")
BoolTensor = _typed("BoolTensor", "bool")
