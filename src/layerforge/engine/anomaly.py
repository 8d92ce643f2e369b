"""Anomaly detection, as ``torch.autograd.detect_anomaly``: while it is on, every graph node keeps the
stack of the forward call that made it; a backward that fails, or (with ``check_nan``) a node whose
gradient has a NaN, reports that stack as a warning and raises PyTorch's error.

Off by default; when off the forward pays one attribute read per operation and backward one per node.
"""
from __future__ import annotations

import os
import traceback
import warnings

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
           "set_anomaly_enabled"]


class _State:
    enabled = False
    check_nan = True


STATE = _State()


def is_anomaly_enabled() -> bool:
    return STATE.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return STATE.check_nan


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    STATE.enabled, STATE.check_nan = bool(enabled), bool(check_nan)


class set_detect_anomaly:
    """Turns anomaly detection on or off: at once when called, restored on leaving a ``with``."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self._previous = (STATE.enabled, STATE.check_nan)
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        set_anomaly_enabled(*self._previous)
        return False


class detect_anomaly(set_detect_anomaly):
    """Anomaly detection on inside the ``with`` block."""

    def __init__(self, check_nan: bool = True):
        self._previous = (STATE.enabled, STATE.check_nan)
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only "
                      "be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self):
        set_anomaly_enabled(True, self.check_nan)


_ENGINE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def record(node) -> None:
    """Keep the stack of the forward call that made ``node`` (called only while detection is on): the
    caller's frames, as PyTorch shows them, without the engine's own."""
    frames = [f for f in traceback.extract_stack()[:-1] if not f.filename.startswith(_ENGINE)]
    node._forward_stack = traceback.format_list(frames)


def report(node) -> None:
    stack = node.__dict__.get("_forward_stack")
    where = "".join(stack) if stack else "  (made while anomaly detection was off)\n"
    warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n{where}",
                  UserWarning, stacklevel=3)


def check(node, input_grads) -> None:
    """PyTorch's error for a node whose gradient for some input has a NaN (with check_nan on)."""
    if not STATE.check_nan:
        return
    for i, g in enumerate(input_grads):
        if g is not None and g.dtype.kind in "fc" and bool((g != g).any()):
            report(node)
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
