"""Growable numpy buffers for live charts: appends are cheap, the plot reads a view of the filled part."""
from __future__ import annotations

import math

import numpy as np


class Series:
    """x/y values appended one at a time (or in chunks), stored in arrays that double when full."""

    def __init__(self, capacity: int = 1024):
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self.size = 0

    def append(self, x: float, y: float) -> None:
        if self.size == len(self._x):
            self._x = np.concatenate([self._x, np.empty_like(self._x)])
            self._y = np.concatenate([self._y, np.empty_like(self._y)])
        self._x[self.size] = x
        self._y[self.size] = y
        self.size += 1

    def extend(self, xs: np.ndarray, ys: np.ndarray) -> None:
        count = len(xs)
        while self.size + count > len(self._x):
            self._x = np.concatenate([self._x, np.empty_like(self._x)])
            self._y = np.concatenate([self._y, np.empty_like(self._y)])
        self._x[self.size:self.size + count] = xs
        self._y[self.size:self.size + count] = ys
        self.size += count

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]

    def clear(self) -> None:
        self.size = 0

    def copy(self) -> "Series":
        other = Series(max(16, self.size))
        other._x[: self.size] = self.x
        other._y[: self.size] = self.y
        other.size = self.size
        return other

    def __len__(self) -> int:
        return self.size


class Smoother:
    """Exponential moving average with bias correction (as TensorBoard smooths its scalars)."""

    def __init__(self, weight: float = 0.95):
        self.weight = weight
        self._value = 0.0
        self._count = 0

    def __call__(self, value: float) -> float:
        if not math.isfinite(value):
            return value
        self._count += 1
        self._value = self.weight * self._value + (1.0 - self.weight) * value
        return self._value / (1.0 - self.weight ** self._count)

    def many(self, values: np.ndarray) -> np.ndarray:
        """Smooth a run of finite values (one Python loop, no per-value calls)."""
        out = np.empty(len(values))
        weight, value, count = self.weight, self._value, self._count
        for index, item in enumerate(values.tolist()):
            count += 1
            value = weight * value + (1.0 - weight) * item
            out[index] = value / (1.0 - weight ** count)
        self._value, self._count = value, count
        return out

    def reset(self) -> None:
        self._value, self._count = 0.0, 0
