"""How many BLAS threads a run beside a window uses: one fewer than there are CPUs.

The window draws its charts on a CPU too; when every CPU also runs a thread of numpy's BLAS pool, a
matrix product waits for the one thread the drawing took. Measured on 2 CPUs with the digits CNN:
316 steps/s with two BLAS threads beside the window, 358 with one (headless, two threads make 385).
Qt-free, so that any front end that draws while a run trains can use it.
"""
from __future__ import annotations

from typing import Callable

from ..engine import get_num_threads, set_num_threads
from ..engine.threads import available_cpus


def leave_a_core_for_the_window(device: str) -> Callable[[], None] | None:
    """On a CPU run, use one BLAS thread fewer than there are CPUs; returns what puts the count back
    (None when nothing was changed: a GPU run, or a single CPU)."""
    if not str(device).startswith("cpu"):
        return None
    before = get_num_threads()
    wanted = max(1, min(before, available_cpus() - 1))
    if wanted == before:
        return None
    set_num_threads(wanted)
    return lambda: set_num_threads(before)
