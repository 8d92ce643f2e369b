"""erf, erfc and erfinv on numpy or cupy arrays (numpy has none of them), keeping the dtype."""
from __future__ import annotations

import math

import numpy as np

from ..backend import gpu_special
from .activation import erf
from .common import xp_of

_exact_erfc = np.vectorize(math.erfc, otypes=[np.float64])
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def erfc(a):
    """1 - erf(a), without the cancellation of computing it so for large a."""
    xp = xp_of(a)
    if xp is not np:
        return gpu_special("erfc", a)
    return _exact_erfc(a).astype(a.dtype, copy=False)


def erfinv(y):
    """The inverse of erf on (-1, 1): ±inf at ±1 and NaN outside, as PyTorch's.

    Giles' single-precision approximation ("Approximating the erfinv function", 2010) as the start,
    then Newton steps on erf(x) = y in float64, which make it exact to float64 rounding. Only erf is
    needed from the array module, so the same code runs on numpy and cupy.
    """
    xp = xp_of(y)
    y64 = y.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -xp.log((1.0 - y64) * (1.0 + y64))
        central = w - 2.5
        p = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                  -0.00417768164, 0.246640727, 1.50140941):
            p = c + p * central
        tail = xp.sqrt(w) - 3.0
        q = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                  0.00943887047, 1.00167406, 2.83297682):
            q = c + q * tail
        x = xp.where(w < 5.0, p, q) * y64
        for _ in range(2):
            step = (erf(x) - y64) / (_TWO_OVER_SQRT_PI * xp.exp(-x * x))
            x = x - xp.where(xp.isfinite(step), step, 0.0)
        x = xp.where(y64 == 1.0, np.inf, xp.where(y64 == -1.0, -np.inf, x))
        x = xp.where(xp.abs(y64) > 1.0, np.nan, x)
    return x.astype(y.dtype, copy=False)
