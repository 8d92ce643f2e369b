"""Devices and array modules: numpy on the CPU, cupy on CUDA GPUs.

This is the one place that imports cupy, lazily and guarded, so the engine installs and runs on a
machine with no GPU and no cupy. Everything else asks this module for the array module of a device.
"""
from __future__ import annotations

import threading

import numpy as np

_cupy = None
_cupy_error: str | None = None
_cupy_lock = threading.Lock()


def _load_cupy():
    """Import cupy once; remember why it failed so the reason can be shown to a person."""
    global _cupy, _cupy_error
    if _cupy is not None or _cupy_error is not None:
        return _cupy
    with _cupy_lock:
        if _cupy is not None or _cupy_error is not None:
            return _cupy
        try:
            import cupy  # noqa: PLC0415  (the one guarded import of cupy)

            count = cupy.cuda.runtime.getDeviceCount()
            if count < 1:
                _cupy_error = "cupy is installed but found no CUDA GPU"
            else:
                _cupy = cupy
        except ImportError:
            _cupy_error = "cupy is not installed (pip install layerforge[gpu])"
        except Exception as exc:  # a driver or runtime problem: keep the reason, never crash
            _cupy_error = f"cupy could not reach a CUDA GPU: {exc}"
    return _cupy


def cuda_unavailable_reason() -> str | None:
    """None when CUDA can be used, else a sentence saying why not."""
    _load_cupy()
    return _cupy_error


def cuda_is_available() -> bool:
    return _load_cupy() is not None


def cuda_device_count() -> int:
    cp = _load_cupy()
    return 0 if cp is None else int(cp.cuda.runtime.getDeviceCount())


def cuda_device_name(index: int = 0) -> str:
    cp = _require_cupy(index)
    props = cp.cuda.runtime.getDeviceProperties(index)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def _require_cupy(index: int = 0):
    cp = _load_cupy()
    if cp is None:
        raise RuntimeError(f"CUDA device 'cuda:{index}' was asked for, but {_cupy_error}")
    count = cp.cuda.runtime.getDeviceCount()
    if index >= count:
        raise RuntimeError(f"CUDA device 'cuda:{index}' was asked for, but only {count} GPU(s) exist")
    return cp


class device:
    """A device, as in ``torch.device``: ``device("cpu")``, ``device("cuda")``, ``device("cuda", 1)``."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index: int | None = None):
        if isinstance(spec, device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"a device is a string like 'cpu' or 'cuda:0', got {spec!r}")
        text = spec.strip().lower()
        kind, _, idx = text.partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"unknown device '{spec}': expected 'cpu', 'cuda' or 'cuda:N'")
        if idx:
            if index is not None:
                raise RuntimeError(f"device '{spec}' already names an index; got index={index} too")
            if not idx.isdigit():
                raise RuntimeError(f"invalid device '{spec}': the index after ':' must be a number")
            index = int(idx)
        if kind == "cpu":
            index = None
        elif index is None:
            index = 0
        self.type, self.index = kind, index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.type == "cpu" else f"cuda:{self.index}"

    def __repr__(self):
        if self.type == "cpu":
            return "device(type='cpu')"
        return f"device(type='cuda', index={self.index})"


CPU = device("cpu")
_device_cache: dict = {}


def as_device(spec) -> device:
    """Parse a device spec (string, device, or None for the CPU), cached because it is on hot paths."""
    if spec is None:
        return CPU
    if isinstance(spec, device):
        return spec
    found = _device_cache.get(spec)
    if found is None:
        found = device(spec)
        _device_cache[spec] = found
    return found


_default_device = None  # None: the CPU


def set_default_device(spec) -> None:
    """Where factory functions (zeros, tensor, randn, ...) put tensors when no device is given."""
    global _default_device
    _default_device = None if spec is None else as_device(spec)


def get_default_device() -> device:
    return CPU if _default_device is None else _default_device


def factory_device(spec) -> device:
    """A factory function's device: the one asked for, else the default device."""
    if spec is None:
        return CPU if _default_device is None else _default_device
    return as_device(spec)


def array_module(dev: device):
    """numpy for the CPU, cupy for a CUDA device (raising a clear error when none is usable)."""
    if dev.type == "cpu":
        return np
    return _require_cupy(dev.index)


def module_of(array):
    """The array module (numpy or cupy) that owns ``array``."""
    if isinstance(array, np.ndarray) or _cupy is None:
        return np
    return _cupy if isinstance(array, _cupy.ndarray) else np


def device_of(array) -> device:
    if isinstance(array, np.ndarray) or _cupy is None or not isinstance(array, _cupy.ndarray):
        return CPU
    return as_device(f"cuda:{array.device.id}")


def is_gpu_array(array) -> bool:
    return _cupy is not None and isinstance(array, _cupy.ndarray)


def to_device_array(array, dev: device):
    """Copy ``array`` to ``dev`` (a no-op when it is already there)."""
    if dev.type == "cpu":
        if is_gpu_array(array):
            return _cupy.asnumpy(array)
        return array
    cp = _require_cupy(dev.index)
    with cp.cuda.Device(dev.index):
        if isinstance(array, cp.ndarray) and array.device.id == dev.index:
            return array
        return cp.asarray(array)


def to_host(array) -> np.ndarray:
    """A numpy array with the data of ``array`` (copied from the GPU when needed)."""
    if is_gpu_array(array):
        return _cupy.asnumpy(array)
    return np.asarray(array)


def gpu_erf(array):
    """erf of a cupy array, on its GPU (cupyx ships one; numpy has none)."""
    from cupyx.scipy.special import erf  # noqa: PLC0415  (GPU only, after cupy has loaded)

    return erf(array)


def gpu_special(name: str, array):
    """A function of cupyx.scipy.special (erfc, ...) on a cupy array, on its GPU."""
    import cupyx.scipy.special as special  # noqa: PLC0415  (GPU only, after cupy has loaded)

    return getattr(special, name)(array)


class DeviceOutOfMemoryError(MemoryError):
    """A GPU allocation failed. Says how much was asked, what the GPU has free, and what to do."""

    def __init__(self, message: str, requested: int | None, free: int | None, total: int | None,
                 device_name: str):
        super().__init__(message)
        self.requested, self.free, self.total, self.device = requested, free, total, device_name


def _bytes_text(n: int | None) -> str:
    if n is None:
        return "an unknown amount"
    for unit, size in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} bytes"


def _requested_bytes(error) -> int | None:
    """cupy's OutOfMemoryError keeps the size in its message ('Out of memory allocating 1,024 bytes')."""
    import re  # noqa: PLC0415  (only on this rare path)

    found = re.search(r"allocating ([\d,]+) bytes", str(error))
    return int(found.group(1).replace(",", "")) if found else None


def is_device_out_of_memory(error: BaseException) -> bool:
    """True for cupy's allocation failure (device memory), False for anything else."""
    if _cupy is None or isinstance(error, DeviceOutOfMemoryError):
        return False
    return isinstance(error, _cupy.cuda.memory.OutOfMemoryError)


def device_out_of_memory(error: BaseException, where: str = "") -> DeviceOutOfMemoryError:
    """The engine's clear error for a cupy OutOfMemoryError (raise it ``from error``)."""
    requested = _requested_bytes(error)
    free = total = None
    pool_held = 0
    name = "the GPU"
    try:
        dev_id = _cupy.cuda.runtime.getDevice()
        name = f"cuda:{dev_id} ({cuda_device_name(dev_id)})"
        pool = _cupy.get_default_memory_pool()
        pool_held = int(pool.free_bytes())  # cached by cupy, reusable for new arrays
        free, total = (int(n) for n in _cupy.cuda.runtime.memGetInfo())
    except Exception:  # the report must not fail because the driver is in trouble  # noqa: BLE001
        pass
    message = (f"{name} is out of memory{f' in {where}' if where else ''}: {_bytes_text(requested)} was "
               f"asked for, {_bytes_text(free)} is free on the device"
               + (f" (plus {_bytes_text(pool_held)} cached in cupy's pool)" if pool_held else "")
               + (f" of {_bytes_text(total)} in all" if total is not None else "")
               + ". Use a smaller batch size or model, or train on the CPU.")
    return DeviceOutOfMemoryError(message, requested, free, total, name)


def other_gpu(array):
    """``array``'s GPU as a cupy device context when it is not the current GPU, else None.

    cupy runs each kernel on the current GPU and puts its result there, reading another GPU's
    arrays through peer access; PyTorch runs an op on its inputs' device. Entering the context this
    returns makes cupy do what PyTorch does. None for host arrays and on the current GPU, the usual
    case, which costs one attribute read and one runtime call."""
    if _cupy is None or not isinstance(array, _cupy.ndarray):
        return None
    on = array.device
    return None if on.id == _cupy.cuda.runtime.getDevice() else on


def device_context(dev: device):
    """A context manager that makes ``dev`` current for cupy allocations (nothing on the CPU)."""
    if dev.type == "cuda":
        return _require_cupy(dev.index).cuda.Device(dev.index)
    return _NullContext()


class _NullContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
