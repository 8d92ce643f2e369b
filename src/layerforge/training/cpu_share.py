"""How many BLAS threads a run beside a window uses: one fewer than there are CPUs, for a small model.

The window draws its charts on a CPU too; when every CPU also runs a thread of numpy's BLAS pool, a
matrix product waits for the one thread the drawing took. Measured on 2 CPUs with the digits CNN:
316 steps/s with two BLAS threads beside the window, 358 with one (headless, two threads make 385).
A model whose matrix products are large is the other way round: the MNIST MLP (60 MFLOP a batch's
forward pass) ran at 82% of headless with one BLAS thread beside the window and at 94% with two
(bench_gui.py --example mnist-mlp, 2 CPUs, 2026-12-06), so from BIG_STEP_FLOPS on a run keeps them all.
Qt-free, so that any front end that draws while a run trains can use it.
"""
from __future__ import annotations

from typing import Callable

from ..engine import get_num_threads, set_num_threads
from ..engine.threads import available_cpus
from ..graph import ModelSpec
from ..graph.analyze import analyze

# A batch's forward pass from which a run beside the window keeps every BLAS thread: the digits CNN
# (under 3 MFLOP) gains from leaving a core, the MNIST MLP (60 MFLOP) loses.
BIG_STEP_FLOPS = 20_000_000


def step_flops(spec: ModelSpec, batch_size: int) -> int:
    """FLOPs of one batch's forward pass (Model > Analyze's count); 0 where it cannot be counted."""
    try:
        return int(analyze(spec).total_flops) * max(1, int(batch_size))
    except Exception:  # noqa: BLE001 - a model Analyze cannot count keeps the default policy
        return 0


def leave_a_core_for_the_window(device: str, step_flops: int = 0) -> Callable[[], None] | None:
    """On a CPU run of a small model, use one BLAS thread fewer than there are CPUs; returns what puts
    the count back (None when nothing was changed: a GPU run, a single CPU, or a batch's forward pass
    of at least BIG_STEP_FLOPS)."""
    if not str(device).startswith("cpu") or step_flops >= BIG_STEP_FLOPS:
        return None
    before = get_num_threads()
    wanted = max(1, min(before, available_cpus() - 1))
    if wanted == before:
        return None
    set_num_threads(wanted)
    return lambda: set_num_threads(before)
