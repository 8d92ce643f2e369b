"""Window functions for signal processing, as ``torch.hann_window`` and friends: periodic by default
(the window of length N + 1 without its last point), in the default float dtype."""
from __future__ import annotations

import math

import numpy as np

from .creation import _place
from .dtypes import get_default_dtype, to_dtype


def _window(make, window_length: int, periodic: bool, dtype, device, requires_grad):
    if window_length < 0:
        raise RuntimeError(f"window_length must be non-negative, got {window_length}")
    np_dtype = (to_dtype(dtype) if dtype is not None else get_default_dtype()).np
    if window_length == 0:
        values = np.zeros(0)
    elif window_length == 1:
        values = np.ones(1)
    else:
        n = window_length + 1 if periodic else window_length
        values = make(np.arange(n, dtype=np.float64), n)[:window_length]
    return _place(values.astype(np_dtype), device, requires_grad)


def _cosine_sum(*coefficients):
    def make(k, n):
        return sum((-1) ** i * c * np.cos(2 * math.pi * i * k / (n - 1)) for i, c in enumerate(coefficients))
    return make


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, device=None, requires_grad=False):
    return _window(_cosine_sum(0.5, 0.5), window_length, periodic, dtype, device, requires_grad)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype=None, device=None, requires_grad=False):
    return _window(_cosine_sum(alpha, beta), window_length, periodic, dtype, device, requires_grad)


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, device=None, requires_grad=False):
    return _window(_cosine_sum(0.42, 0.5, 0.08), window_length, periodic, dtype, device, requires_grad)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, device=None, requires_grad=False):
    def make(k, n):
        return 1 - np.abs(2 * k / (n - 1) - 1)
    return _window(make, window_length, periodic, dtype, device, requires_grad)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype=None, device=None,
                  requires_grad=False):
    def make(k, n):
        return np.i0(beta * np.sqrt(np.clip(1 - (2 * k / (n - 1) - 1) ** 2, 0, None))) / np.i0(beta)
    return _window(make, window_length, periodic, dtype, device, requires_grad)
