"""Sharing memory with other array libraries, as PyTorch does: DLPack both ways (``from_dlpack``,
``to_dlpack``, ``Tensor.__dlpack__``, so ``torch.from_dlpack(our_tensor)`` and
``from_dlpack(a_torch_tensor)`` share the memory instead of copying) and ``frombuffer`` over any
Python buffer. numpy arrays are the CPU side, cupy arrays the GPU side."""
from __future__ import annotations

import warnings

import numpy as np

from . import backend
from .dtypes import to_dtype
from .tensor import Tensor

_CPU, _CUDA = 1, 2  # DLPack's device types


class _Capsule:
    """A bare DLPack capsule (from an older to_dlpack) as an object numpy/cupy can import."""

    def __init__(self, capsule, device_type=_CPU):
        self.capsule, self.device_type = capsule, device_type

    def __dlpack__(self, stream=None, **_):
        return self.capsule

    def __dlpack_device__(self):
        return self.device_type, 0


def from_dlpack(ext_tensor) -> Tensor:
    """A tensor on the memory of ``ext_tensor`` (anything with ``__dlpack__``, or a DLPack capsule)."""
    source = ext_tensor if hasattr(ext_tensor, "__dlpack__") else _Capsule(ext_tensor)
    device_type, index = source.__dlpack_device__()
    if int(device_type) == _CPU:
        array = np.from_dlpack(source)
    elif int(device_type) == _CUDA:
        xp = backend.array_module(backend.as_device(f"cuda:{index}"))
        array = xp.from_dlpack(source)
    else:
        raise RuntimeError(f"Unsupported device_type: {int(device_type)}")
    to_dtype(array.dtype)  # a clear error for dtypes the engine has not
    return Tensor._wrap(array)


def _dlpack(self, stream=None, **kwargs):
    if self.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    return self._data.__dlpack__(**({"stream": stream} if stream is not None else {}), **kwargs)


def _dlpack_device(self):
    if self.device.type == "cpu":
        return _CPU, 0
    return _CUDA, self.device.index or 0


def to_dlpack(tensor: Tensor):
    """The DLPack capsule of ``tensor`` (it shares the memory)."""
    return _dlpack(tensor)


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0, requires_grad: bool = False) -> Tensor:
    """A 1-d tensor on the memory of a Python buffer (bytearray, memoryview, array.array, ...)."""
    np_dtype = np.dtype(to_dtype(dtype).name)
    view = memoryview(buffer)
    length = view.nbytes
    if count == 0 or (count < 0 and length - offset <= 0):
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if offset < 0 or offset >= length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({length} bytes) minus 1")
    if count < 0 and (length - offset) % np_dtype.itemsize:
        raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} bytes) must be a multiple "
                         f"of element size ({np_dtype.itemsize})")
    if count > 0 and count * np_dtype.itemsize > length - offset:
        raise ValueError(f"requested buffer length ({count} * {np_dtype.itemsize} bytes) after offset ({offset} "
                         f"bytes) must not be greater than actual buffer length ({length} bytes)")
    if view.readonly:
        warnings.warn("The given buffer is not writable, and PyTorch does not support non-writable tensors. "
                      "The engine's tensor stays read-only.", UserWarning, stacklevel=2)
    array = np.frombuffer(buffer, dtype=np_dtype, count=count, offset=offset)
    out = Tensor._wrap(array)
    if requires_grad:
        out.requires_grad_(True)
    return out


def install_methods(cls) -> None:
    cls.__dlpack__ = _dlpack
    cls.__dlpack_device__ = _dlpack_device
