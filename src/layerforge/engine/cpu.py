"""``torch.cpu``: the CPU as a device module (what ``torch.get_device_module("cpu")`` returns), with the
calls device-agnostic code makes on it. Work on the CPU is synchronous, so there is nothing to wait for."""
from __future__ import annotations


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def set_device(device) -> None:
    """Only the CPU is one: nothing to switch."""


def synchronize(device=None) -> None:
    """CPU work has finished when its call returns."""


def is_initialized() -> bool:
    return True


def empty_cache() -> None:
    """Give back the CPU buffers the engine keeps between training steps (large activations, gradients
    and scratch reused from step to step so their pages stay mapped; up to 256 MiB): what
    ``torch.cuda.empty_cache`` is for a GPU. Buffers still in use go back to the pool when freed."""
    from .ops.buffer_pool import workspace
    workspace.clear()
