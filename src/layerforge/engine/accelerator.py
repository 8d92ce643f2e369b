"""``torch.accelerator``: the device-neutral questions recent tutorials ask (is there a GPU, which).

Here the only accelerator is CUDA (through cupy); without one, ``current_accelerator()`` is None and
tutorials fall back to the CPU as they do with PyTorch.
"""
from __future__ import annotations

from . import backend, cuda


def is_available() -> bool:
    return backend.cuda_is_available()


def current_accelerator(check_available: bool = False):
    """``device('cuda')`` where a CUDA GPU can be used, else None."""
    return backend.as_device("cuda") if backend.cuda_is_available() else None


def device_count() -> int:
    return backend.cuda_device_count()


_current = [0]


def current_device_index() -> int:
    return _current[0] if backend.cuda_is_available() else -1


def set_device_index(index) -> None:
    index = index if isinstance(index, int) else backend.as_device(index).index or 0
    if not 0 <= index < device_count():
        raise RuntimeError(f"device index {index} is out of range: {device_count()} accelerator(s)")
    _current[0] = index
    backend.array_module(backend.as_device(f"cuda:{index}")).cuda.Device(index).use()


set_device_idx = set_device_index
current_device_idx = current_device_index


def synchronize(device=None) -> None:
    if backend.cuda_is_available():
        cuda.synchronize(device)
