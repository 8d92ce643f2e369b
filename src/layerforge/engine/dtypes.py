"""Data types, as in ``torch.float32``: a small object over a numpy dtype, plus PyTorch's promotion."""
from __future__ import annotations

import numpy as np


class dtype:
    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_kind")

    def __init__(self, name: str, np_dtype):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize
        # Category order for PyTorch's promotion: bool < integer < floating.
        self._kind = {"b": 0, "u": 1, "i": 1, "f": 2}[self.np.kind]

    def __repr__(self):
        return f"layerforge.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


float16 = dtype("float16", np.float16)
float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
uint8 = dtype("uint8", np.uint8)
int8 = dtype("int8", np.int8)
int16 = dtype("int16", np.int16)
int32 = dtype("int32", np.int32)
int64 = dtype("int64", np.int64)
bool_ = dtype("bool", np.bool_)

half, float_, double = float16, float32, float64
short, int_, long = int16, int32, int64

_ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool_)
_FROM_NUMPY = {d.np: d for d in _ALL}
_NAMES = {d.name: d for d in _ALL}


def _by_name(name):
    return _NAMES[name]


_default_float = float32


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d) -> None:
    global _default_float
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"the default dtype must be a floating point type, got {d}")
    _default_float = d


def from_numpy_dtype(np_dtype) -> dtype:
    found = _FROM_NUMPY.get(np_dtype)
    if found is None:
        found = _FROM_NUMPY.get(np.dtype(np_dtype))
        if found is None:
            raise TypeError(f"numpy dtype {np.dtype(np_dtype)} has no Layerforge equivalent; "
                            "use float32, float64, int64, int32, uint8 or bool")
    return found


def to_dtype(value) -> dtype:
    """Accept a Layerforge dtype, a numpy dtype/type, a Python type or a name."""
    if isinstance(value, dtype):
        return value
    if value is float:
        return _default_float
    if value is int:
        return int64
    if value is bool:
        return bool_
    if isinstance(value, str) and value in _NAMES:
        return _NAMES[value]
    return from_numpy_dtype(np.dtype(value))


def result_type(a_dtype: dtype, a_dim: int, b_dtype: dtype, b_dim: int) -> dtype:
    """PyTorch's promotion for two tensors.

    Dimensioned tensors outrank 0-d ones unless the 0-d one is of a higher category (bool < integer <
    floating); across categories the higher category's dtype wins as it is (int64 + float32 ->
    float32); within one category the wider type wins (uint8 + int8 -> int16).
    """
    if a_dtype is b_dtype:
        return a_dtype
    if bool(a_dim) != bool(b_dim):
        dimensioned, zero_dim = (a_dtype, b_dtype) if a_dim else (b_dtype, a_dtype)
        return dimensioned if dimensioned._kind >= zero_dim._kind else zero_dim
    if a_dtype._kind != b_dtype._kind:
        return a_dtype if a_dtype._kind > b_dtype._kind else b_dtype
    return from_numpy_dtype(np.promote_types(a_dtype.np, b_dtype.np))


def scalar_result_type(t_dtype: dtype, scalar) -> dtype:
    """PyTorch's promotion for a tensor and a Python number: the number only lifts the category."""
    if isinstance(scalar, bool):
        return t_dtype
    if isinstance(scalar, int):
        return int64 if t_dtype is bool_ else t_dtype
    if isinstance(scalar, float):
        return t_dtype if t_dtype.is_floating_point else _default_float
    if isinstance(scalar, complex):
        raise TypeError("complex numbers are not supported")
    return t_dtype


def promote_types(type1, type2) -> dtype:
    """The dtype two tensors of these dtypes combine into (torch.promote_types)."""
    return result_type(to_dtype(type1), 1, to_dtype(type2), 1)


def can_cast(from_, to) -> bool:
    """Whether PyTorch's type promotion may cast ``from_`` to ``to``: never floating to integral, nor
    anything but bool to bool."""
    source, target = to_dtype(from_), to_dtype(to)
    return source._kind <= target._kind and not (target is bool_ and source is not bool_)
