"""Freed memory kept for the next training step, where the C library's malloc can be told to.

A training step allocates the same few-megabyte arrays every time (activations, their gradients,
normalisation temporaries). glibc's malloc, left to itself, returns such blocks to the operating
system as soon as they are freed: a block above its mmap threshold is unmapped, and free space above
its trim threshold at the top of the heap is given back. The next step's arrays of the same size then
come from fresh pages, which the kernel faults in and zeroes one 4 KiB page at a time: ~2,500 page
faults per step for a small conv + GroupNorm model, a quarter of its step time. (PyTorch's CPU tensors
come from the same malloc; its performance guides suggest preloading jemalloc or tcmalloc for this.)

``keep_freed_memory()`` raises both thresholds, so blocks up to ``MMAP_THRESHOLD`` come from the heap
and up to ``TRIM_THRESHOLD`` of free heap is kept for reuse. It is called once when the engine is
imported. It changes nothing but where freed memory waits: peak memory is what the program needed
anyway; what changes is that the process keeps up to ``TRIM_THRESHOLD`` of free heap instead of
returning it at once. Only glibc (Linux) is tuned; macOS's and Windows' allocators, and musl, are left
as they are. ``LAYERFORGE_MALLOC=system`` in the environment leaves glibc's defaults too.
"""
from __future__ import annotations

import ctypes
import os
import sys

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

# 32 MiB: the largest mmap threshold glibc's own adaptive rule ever sets on 64-bit systems.
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 256 * 2**20

_state = {"tuned": False}


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed blocks for reuse (see the module's docstring); True where it did."""
    if _state["tuned"]:
        return True
    if not sys.platform.startswith("linux") or opted_out():
        return False
    try:
        libc = ctypes.CDLL(None)           # the C library this process already runs on
        libc.gnu_get_libc_version          # noqa: B018 (present in glibc only: musl's malloc has no such knobs)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _state["tuned"] = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD,
                                                                                       TRIM_THRESHOLD))
    return _state["tuned"]


def opted_out() -> bool:
    """Whether ``LAYERFORGE_MALLOC=system`` asks to leave malloc as it is."""
    return os.environ.get("LAYERFORGE_MALLOC", "").strip().lower() == "system"


def freed_memory_kept() -> bool:
    """Whether ``keep_freed_memory`` tuned this process's malloc."""
    return _state["tuned"]
