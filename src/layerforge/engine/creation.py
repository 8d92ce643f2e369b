"""Making tensors: ``tensor``, ``from_numpy``, ``zeros``, ``arange``, ``randn`` and the rest."""
from __future__ import annotations

import math

import numpy as np

from . import backend
from . import random as _random
from .dtypes import get_default_dtype, to_dtype
from .tensor import Tensor

_wrap = Tensor._wrap


def _to_array(data, dtype):
    """Python data (numbers, nested lists, numpy arrays, tensors) as a numpy array of PyTorch's dtype."""
    if isinstance(data, Tensor):
        arr = backend.to_host(data._data)
    elif isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in _flat(data)):
        arr = np.asarray([backend.to_host(d._data) if isinstance(d, Tensor) else d for d in data])
    else:
        try:
            arr = data if isinstance(data, np.ndarray) else np.asarray(data)
        except ValueError as exc:
            raise ValueError(f"could not build a tensor from {type(data).__name__}: the nested lists "
                             f"are ragged (every row must have the same length): {exc}") from None
        if arr.dtype == object:
            raise TypeError(f"could not build a tensor from {type(data).__name__}: the nested lists "
                            "are ragged or hold something that is not a number")
        if not isinstance(data, np.ndarray) and arr.dtype.kind == "f" and dtype is None:
            arr = arr.astype(get_default_dtype().np)  # Python floats become float32, as in PyTorch
    if dtype is not None:
        arr = arr.astype(to_dtype(dtype).np, copy=False)
    elif arr.dtype.kind in "iu" and arr.dtype != np.uint8:
        arr = arr.astype(np.int64, copy=False) if not isinstance(data, np.ndarray) else arr
    elif arr.dtype.kind in "US":
        raise TypeError(f"could not build a tensor from strings ({arr.dtype}); only numbers and bools")
    return arr


def _flat(items):
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flat(item)
        else:
            yield item


def _place(arr, device, requires_grad=False):
    dev = backend.factory_device(device)
    if dev.type != "cpu":
        arr = backend.to_device_array(arr, dev)
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor that copies ``data``."""
    arr = _to_array(data, dtype)
    if isinstance(data, (np.ndarray, Tensor)) or arr is data or not arr.flags.c_contiguous:
        arr = arr.copy(order="C")
    return _place(arr, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a numpy array (or tensor) when it can."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (device or dtype) else data
    return _place(_to_array(data, dtype), device)


def from_numpy(array: np.ndarray) -> Tensor:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    to_dtype(array.dtype)  # raises a clear error for unsupported dtypes
    return _wrap(array)


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)):
            raise TypeError(f"size must be a tuple of ints, got {size!r}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
    return tuple(int(s) for s in size)


def _make(fill, size, dtype, device, requires_grad):
    np_dtype = (to_dtype(dtype) if dtype is not None else get_default_dtype()).np
    dev = backend.factory_device(device)
    xp = backend.array_module(dev)
    with backend.device_context(dev):
        arr = fill(xp, _size(size), np_dtype)
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _make(lambda xp, s, d: xp.zeros(s, dtype=d), size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _make(lambda xp, s, d: xp.ones(s, dtype=d), size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _make(lambda xp, s, d: xp.empty(s, dtype=d), size, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    if dtype is None:
        if isinstance(fill_value, bool):
            dtype = "bool"
        elif isinstance(fill_value, int):
            dtype = "int64"
    return _make(lambda xp, s, d: xp.full(s, fill_value, dtype=d), (tuple(size),), dtype, device,
                 requires_grad)


def _shaped_like(make, name: str):
    """``name(t)``: ``make`` with ``t``'s shape, and ``t``'s dtype and device unless given."""
    def like(t, dtype=None, device=None, requires_grad=False):
        return make(t.shape, dtype=t.dtype if dtype is None else dtype,
                    device=t.device if device is None else device, requires_grad=requires_grad)

    like.__name__ = like.__qualname__ = name
    return like


zeros_like = _shaped_like(zeros, "zeros_like")
ones_like = _shaped_like(ones, "ones_like")
empty_like = _shaped_like(empty, "empty_like")


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=t.dtype if dtype is None else dtype,
                device=t.device if device is None else device, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    if end is None:
        start, end = 0, start
    values = [start, end, step]
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        is_float = any(isinstance(v, float) or (isinstance(v, Tensor) and v.is_floating_point())
                       for v in values)
        dtype = get_default_dtype() if is_float else "int64"
    start, end, step = (float(v) if isinstance(v, Tensor) else v for v in values)
    count = max(math.ceil((end - start) / step), 0)
    np_dtype = to_dtype(dtype).np
    arr = (start + step * np.arange(count, dtype=np.float64)).astype(np_dtype) if np_dtype.kind == "f" \
        else np.arange(start, start + step * count, step)[:count].astype(np_dtype)
    return _place(arr, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False) -> Tensor:
    np_dtype = (to_dtype(dtype) if dtype is not None else get_default_dtype()).np
    arr = np.linspace(float(start), float(end), int(steps)).astype(np_dtype)
    return _place(arr, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    np_dtype = (to_dtype(dtype) if dtype is not None else get_default_dtype()).np
    return _place(np.eye(n, m if m is not None else n, dtype=np_dtype), device, requires_grad)


def _random_dtype(dtype):
    d = to_dtype(dtype) if dtype is not None else get_default_dtype()
    if not d.is_floating_point:
        raise RuntimeError(f"random floats need a floating point dtype, got {d}")
    return d.np


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    arr = _random.uniform(_size(size), _random_dtype(dtype), backend.factory_device(device), generator)
    return _finish(arr, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    arr = _random.normal(_size(size), _random_dtype(dtype), backend.factory_device(device), generator)
    return _finish(arr, requires_grad)


rand_like = _shaped_like(rand, "rand_like")
randn_like = _shaped_like(randn, "randn_like")


def randint(low, high=None, size=None, generator=None, dtype=None, device=None,
            requires_grad=False) -> Tensor:
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size' (a tuple of ints)")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    np_dtype = to_dtype(dtype).np if dtype is not None else np.int64
    arr = _random.integers(low, high, _size((tuple(size),)), np_dtype, backend.factory_device(device),
                           generator)
    return _finish(arr, requires_grad)


def randperm(n, generator=None, dtype=None, device=None) -> Tensor:
    arr = _random.permutation(int(n), backend.factory_device(device), generator)
    if dtype is not None:
        arr = arr.astype(to_dtype(dtype).np)
    return _wrap(arr)


def normal(mean, std, size=None, generator=None, dtype=None, device=None) -> Tensor:
    shape = _size((tuple(size),)) if size is not None else ()
    arr = _random.normal(shape, _random_dtype(dtype), backend.factory_device(device), generator, mean, std)
    return _wrap(arr)


def bernoulli(probabilities: Tensor, generator=None) -> Tensor:
    p = probabilities._data
    draws = _random.uniform(p.shape, p.dtype, probabilities.device, generator)
    return _wrap((draws < p).astype(p.dtype))


def _finish(arr, requires_grad):
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False) -> Tensor:
    np_dtype = (to_dtype(dtype) if dtype is not None else get_default_dtype()).np
    arr = np.power(float(base), np.linspace(float(start), float(end), int(steps))).astype(np_dtype)
    return _place(arr, device, requires_grad)


def range(start=0, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A001
    """The deprecated torch.range: like arange but including ``end``, in the default float dtype."""
    if end is None:
        start, end = 0, start
    count = int(math.floor((end - start) / step)) + 1
    np_dtype = (to_dtype(dtype) if dtype is not None else get_default_dtype()).np
    arr = (start + step * np.arange(max(count, 0), dtype=np.float64)).astype(np_dtype)
    return _place(arr, device, requires_grad)


def scalar_tensor(s, dtype=None, device=None, requires_grad=False) -> Tensor:
    np_dtype = (to_dtype(dtype) if dtype is not None else get_default_dtype()).np
    return _place(np.asarray(s, dtype=np_dtype), device, requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype,
                   device=device if device is not None else input.device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False) -> Tensor:
    if isinstance(obj, Tensor) and not copy:
        out = obj.to(device=device, dtype=dtype) if (device is not None or dtype is not None) else obj
    else:
        out = tensor(obj, dtype=dtype, device=device)
    return out.requires_grad_(True) if requires_grad else out
