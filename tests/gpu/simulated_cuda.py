"""The simulated GPU's device side: one device, its memory figures and cupy's errors.

Part of the strict CPU stand-in for cupy (simulated_cupy.py, which explains it); nothing here
touches arrays.
"""
from __future__ import annotations

import threading
import types

DEVICE_NAME = "Simulated GPU (numpy on the CPU)"
TOTAL_MEMORY = 16 * 2 ** 30  # what the simulated device reports, and where its allocations fail


class OutOfMemoryError(MemoryError):
    """cupy.cuda.memory.OutOfMemoryError, with cupy's message."""

    def __init__(self, size, total, limit=0):
        super().__init__(f"Out of memory allocating {size:,} bytes (allocated so far: {total:,} bytes).")


class CUDARuntimeError(RuntimeError):
    pass


DEVICE_COUNT = 2  # two simulated GPUs, so that code placing work on "cuda:1" is checked too
_current = threading.local()  # this thread's stack of devices entered with ``with Device(i):``


def current_device() -> int:
    stack = getattr(_current, "stack", None)
    return stack[-1] if stack else 0


class Device:
    """``cupy.cuda.Device``: a simulated GPU; entering it makes it the current one (cupy allocates,
    and runs kernels, on the current device)."""

    def __init__(self, device=None):
        self.id = current_device() if device is None else int(device)
        if not 0 <= self.id < DEVICE_COUNT:
            raise CUDARuntimeError(f"cudaErrorInvalidDevice: invalid device ordinal {self.id}")

    def __enter__(self):
        stack = getattr(_current, "stack", None)
        if stack is None:
            stack = _current.stack = []
        stack.append(self.id)
        return self

    def __exit__(self, *exc):
        _current.stack.pop()
        return False

    def use(self):
        stack = getattr(_current, "stack", None)
        if stack is None:
            stack = _current.stack = []
        if stack:
            stack[-1] = self.id
        else:
            stack.append(self.id)
        return self

    def synchronize(self):
        return None

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


class EventCounter:
    """Counts events by kind: device-to-host reads (each waits for the GPU's queue to drain) or kernel
    launches (each costs launch overhead on a real GPU)."""

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.paused = False  # inside a fused kernel: its operations are one launch, counted once

    def __call__(self, kind: str) -> None:
        if not self.paused:
            self.counts[kind] = self.counts.get(kind, 0) + 1

    def total(self) -> int:
        return sum(self.counts.values())

    def reset(self) -> None:
        self.counts.clear()


class _MemoryPool:
    """cupy's memory pool: the simulated device keeps no cache, so it holds nothing."""

    def used_bytes(self):
        return 0

    def free_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_all_blocks(self, stream=None):
        return None

    def get_limit(self):
        return TOTAL_MEMORY


class _Stream:
    def synchronize(self):
        return None


pool = _MemoryPool()
memory = types.SimpleNamespace(OutOfMemoryError=OutOfMemoryError)
runtime = types.SimpleNamespace(
    getDeviceCount=lambda: DEVICE_COUNT, getDevice=current_device,
    getDeviceProperties=lambda i: {"name": DEVICE_NAME.encode(), "totalGlobalMem": TOTAL_MEMORY},
    memGetInfo=lambda: (TOTAL_MEMORY, TOTAL_MEMORY), CUDARuntimeError=CUDARuntimeError,
    runtimeGetVersion=lambda: 12080, driverGetVersion=lambda: 12080)


def is_available() -> bool:
    return True


def get_current_stream() -> _Stream:
    return _Stream()
