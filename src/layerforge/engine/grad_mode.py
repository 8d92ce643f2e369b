"""Grad mode: whether operations build a graph (no_grad, enable_grad, set_grad_enabled,
inference_mode). Thread-local, as PyTorch's."""
from __future__ import annotations

import functools
import threading

# ----------------------------------------------------------------------------------------- grad mode
class _GradMode(threading.local):
    # Thread-local: the GUI thread may run inference under no_grad while a worker thread trains.
    enabled = True
    inference = False


_mode = _GradMode()


def is_grad_enabled() -> bool:
    return _mode.enabled


class _GradModeContext:
    """Base of the grad-mode context managers; each also works as a function decorator."""

    _target = True

    def __enter__(self):
        self._previous = _mode.enabled
        _mode.enabled = self._target
        return self

    def __exit__(self, *exc):
        _mode.enabled = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Operations inside build no graph: for inference and for in-place parameter updates."""

    _target = False


class inference_mode(_GradModeContext):
    """``torch.inference_mode``: no graph is built inside, as under no_grad. (PyTorch also marks the
    tensors made inside as inference tensors that autograd later refuses; the engine's stay ordinary
    tensors, so ``is_inference()`` is False for them.) As PyTorch's, ``mode=False`` turns grad mode on."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):  # bare @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def __enter__(self):
        self._previous = (_mode.enabled, _mode.inference)
        _mode.enabled, _mode.inference = not self.mode, self.mode
        return self

    def __exit__(self, *exc):
        _mode.enabled, _mode.inference = self._previous
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper

    def clone(self):
        return inference_mode(self.mode)


def is_inference_mode_enabled() -> bool:
    return _mode.inference


class enable_grad(_GradModeContext):
    _target = True


class set_grad_enabled(_GradModeContext):
    def __init__(self, mode: bool):
        self._target = bool(mode)
        # Like PyTorch, calling it as a function (not as a context) switches the mode right away.
        self._previous = _mode.enabled
        _mode.enabled = self._target

    def __enter__(self):
        return self

    def __call__(self, fn):
        _mode.enabled = self._previous
        target = self._target

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            previous = _mode.enabled
            _mode.enabled = target
            try:
                return fn(*args, **kwargs)
            finally:
                _mode.enabled = previous

        return wrapper
