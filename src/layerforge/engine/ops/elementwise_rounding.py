"""Piecewise-constant and rounding elementwise kernels: floor, ceil, trunc, round and sign (zero
gradient), division with a rounding mode, floor division (no derivative, as in PyTorch) and Python's
modulo. The user-facing functions over them are in ``elementwise_functions.py``."""
from __future__ import annotations

import numpy as np

from ..autograd import Node
from .common import unbroadcast, xp_of


class Stepwise(Node):
    """floor, ceil, trunc, round, sign: constant between jumps, so PyTorch's gradient is zero."""

    def __init__(self, fn):
        self.fn = fn

    def forward(self, a):
        return self.fn(a)

    def backward(self, g):
        return xp_of(g).zeros_like(g)


class RoundedDiv(Node):
    """``div(a, b, rounding_mode=...)``, integers exactly; piecewise constant, so the gradient is zero."""

    def __init__(self, mode):
        self.mode = mode

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        xp = xp_of(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.mode == "floor":
                return xp.floor_divide(a, b)
            if a.dtype.kind in "iu":  # toward zero: floor, then one step back up where inexact
                q = xp.floor_divide(a, b)
                return q + ((q < 0) & (q * b != a)).astype(q.dtype)
            return xp.trunc(a / b).astype(xp.result_type(a, b), copy=False)

    def backward(self, g):
        xp = xp_of(g)
        return xp.zeros(self.shapes[0], dtype=g.dtype), xp.zeros(self.shapes[1], dtype=g.dtype)


class FloorDivide(RoundedDiv):
    """``floor_divide`` / ``//``: PyTorch defines no derivative for it, so backward refuses, as there."""

    def __init__(self):
        super().__init__("floor")

    def backward(self, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


class Remainder(Node):
    """Python's modulo (the sign of the divisor); d/da = 1, d/db = -floor(a / b)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp_of(a).remainder(a, b)

    def backward(self, g):
        with np.errstate(divide="ignore", invalid="ignore"):
            gb = -g * xp_of(g).floor_divide(self.a, self.b)
        return unbroadcast(g, self.a.shape), unbroadcast(gb.astype(g.dtype, copy=False), self.b.shape)
