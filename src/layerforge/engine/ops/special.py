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


# ------------------------------------------------------------------------------ the gamma family
# Written with elementwise array operations only, so the same code runs on numpy and cupy, in float64.
_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_BERNOULLI = (1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66, -691.0 / 2730, 7.0 / 6)  # B2 .. B14


def _lgamma_positive(xp, x):
    """log Γ(x) for x >= 0.5 (Lanczos, g = 7, n = 9: about 15 significant digits)."""
    z = x - 1.0
    series = xp.full(x.shape, _LANCZOS[0])
    for k, c in enumerate(_LANCZOS[1:], start=1):
        series = series + c / (z + k)
    t = z + _LANCZOS_G + 0.5
    return _HALF_LOG_2PI + (z + 0.5) * xp.log(t) - t + xp.log(series)


def lgamma(a):
    """log |Γ(a)|: Lanczos above 1/2, the reflection formula below; +inf at 0 and the negative integers."""
    xp = xp_of(a)
    x = a.astype(np.float64)
    with np.errstate(all="ignore"):
        reflect = x < 0.5
        safe = xp.where(reflect, 1.0 - x, x)
        positive = _lgamma_positive(xp, safe)
        sine = xp.abs(xp.sin(math.pi * x))
        reflected = math.log(math.pi) - xp.log(sine) - positive
        out = xp.where(reflect, reflected, positive)
        out = xp.where((reflect & (x == xp.floor(x))) | xp.isinf(x), np.inf, out)
    return out.astype(a.dtype, copy=False)


def polygamma(n: int, a):
    """ψ^(n)(a), the n-th derivative of digamma (n = 0 is digamma itself): the recurrence shifts the
    argument to 10 or more, where the asymptotic series with Bernoulli numbers is exact to ~1e-15."""
    xp = xp_of(a)
    x = a.astype(np.float64)
    with np.errstate(all="ignore"):
        if n == 0:
            return _digamma(xp, x).astype(a.dtype, copy=False)
        sign = -1.0 if n % 2 == 0 else 1.0  # (-1) ** (n + 1)
        factorial = math.factorial(n)
        total = xp.zeros(x.shape)
        shifted = x
        for _ in range(12):
            small = shifted < 10
            total = total + xp.where(small, 1.0 / shifted ** (n + 1), 0.0)
            shifted = xp.where(small, shifted + 1, shifted)
        tail = math.factorial(n - 1) / shifted ** n + factorial / (2 * shifted ** (n + 1))
        for k, b in enumerate(_BERNOULLI, start=1):
            tail = tail + b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) / shifted ** (2 * k + n)
        out = sign * (factorial * total + tail)
        out = xp.where((x <= 0) & (x == xp.floor(x)), np.nan if n % 2 == 0 else np.inf, out)
    return out.astype(a.dtype, copy=False)


def _digamma(xp, x):
    reflect = x < 0.5
    y = xp.where(reflect, 1.0 - x, x)
    total = xp.zeros(x.shape)
    for _ in range(12):
        small = y < 10
        total = total - xp.where(small, 1.0 / y, 0.0)
        y = xp.where(small, y + 1, y)
    inv2 = 1.0 / (y * y)
    series = xp.log(y) - 0.5 / y
    power = inv2
    for k, b in enumerate(_BERNOULLI, start=1):
        series = series - b / (2 * k) * power
        power = power * inv2
    out = series + total
    out = xp.where(reflect, out - math.pi / xp.tan(math.pi * x), out)
    out = xp.where(x == 0, xp.copysign(np.inf, -x), out)  # -inf at +0, +inf at -0, as PyTorch (Cephes)
    return xp.where((x < 0) & (x == xp.floor(x)), np.nan, out)


def digamma(a):
    return polygamma(0, a)


def bessel_i1(a):
    """I1(a), the gradient of I0: its power series below 40, the asymptotic expansion above."""
    xp = xp_of(a)
    x = a.astype(np.float64)
    ax = xp.abs(x)
    half = xp.where(ax < 40, x, 0.0) / 2
    term = half.copy()
    series = half.copy()
    for k in range(1, 90):
        term = term * (half * half) / (k * (k + 1))
        series = series + term
    with np.errstate(all="ignore"):
        expansion, factor = xp.ones(x.shape), xp.ones(x.shape)
        for k in range(1, 12):  # the terms of e^x / sqrt(2 pi x) * sum (-1)^k a_k(1) / x^k
            factor = factor * -(4.0 - (2 * k - 1) ** 2) / (k * 8 * ax)
            expansion = expansion + factor
        big = xp.exp(ax) / xp.sqrt(2 * math.pi * ax) * expansion
    out = xp.where(ax < 40, series, xp.sign(x) * big)
    return out.astype(a.dtype, copy=False)
