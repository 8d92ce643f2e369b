"""The simulated GPU's device side: one device, its memory figures and cupy's errors.

Part of the strict CPU stand-in for cupy (simulated_cupy.py, which explains it); nothing here
touches arrays.
"""
from __future__ import annotations

import types

DEVICE_NAME = "Simulated GPU (numpy on the CPU)"
TOTAL_MEMORY = 16 * 2 ** 30  # what the simulated device reports, and where its allocations fail


class OutOfMemoryError(MemoryError):
    """cupy.cuda.memory.OutOfMemoryError, with cupy's message."""

    def __init__(self, size, total, limit=0):
        super().__init__(f"Out of memory allocating {size:,} bytes (allocated so far: {total:,} bytes).")


class CUDARuntimeError(RuntimeError):
    pass


class Device:
    """``cupy.cuda.Device``: one simulated GPU, id 0."""

    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)
        if self.id != 0:
            raise CUDARuntimeError(f"cudaErrorInvalidDevice: invalid device ordinal {self.id}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def use(self):
        return self

    def synchronize(self):
        return None

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


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
    getDeviceCount=lambda: 1, getDevice=lambda: 0,
    getDeviceProperties=lambda i: {"name": DEVICE_NAME.encode(), "totalGlobalMem": TOTAL_MEMORY},
    memGetInfo=lambda: (TOTAL_MEMORY, TOTAL_MEMORY), CUDARuntimeError=CUDARuntimeError,
    runtimeGetVersion=lambda: 12080, driverGetVersion=lambda: 12080)


def is_available() -> bool:
    return True


def get_current_stream() -> _Stream:
    return _Stream()
