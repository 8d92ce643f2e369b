"""``engine.cuda``: whether a CUDA GPU can be used, how many, their names, and why not."""
from __future__ import annotations

from . import backend
from .random import default_generator


def is_available() -> bool:
    return backend.cuda_is_available()


def device_count() -> int:
    return backend.cuda_device_count()


def get_device_name(device=0) -> str:
    index = device if isinstance(device, int) else backend.as_device(device).index or 0
    return backend.cuda_device_name(index)


def unavailable_reason() -> str | None:
    """None when CUDA works, else a sentence a person can act on (shown in the app's device box)."""
    return backend.cuda_unavailable_reason()


def manual_seed(seed: int) -> None:
    for i in range(device_count()):
        default_generator(f"cuda:{i}").manual_seed(seed)


manual_seed_all = manual_seed


def synchronize(device=None) -> None:
    if is_available():
        cp = backend.array_module(backend.as_device(device or "cuda"))
        cp.cuda.Device(backend.as_device(device or "cuda").index).synchronize()


def memory_allocated(device=None) -> int:
    if not is_available():
        return 0
    cp = backend.array_module(backend.as_device(device or "cuda"))
    return int(cp.get_default_memory_pool().used_bytes())


def empty_cache() -> None:
    if is_available():
        cp = backend.array_module(backend.as_device("cuda"))
        cp.get_default_memory_pool().free_all_blocks()
