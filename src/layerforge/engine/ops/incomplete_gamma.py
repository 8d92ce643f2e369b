"""The regularized incomplete gamma functions igamma P(a, x) and igammac Q(a, x) = 1 - P(a, x), as
torch.igamma / torch.igammac / torch.special.gammainc(c), on numpy or cupy (numpy has no kernel).

P by its power series where x < a + 1, Q by its continued fraction (modified Lentz) elsewhere, each
with the prefactor x^a e^-x / Gamma(a) taken in logs; PyTorch's values at the edges (a = 0, x = 0,
infinities, negative or NaN arguments). The gradient in x is +-x^(a-1) e^-x / Gamma(a); PyTorch has
no gradient in a and raises when one is asked for, and so does the engine.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Node
from .common import apply, broadcast_error, unbroadcast, xp_of
from .elementwise_math import _pair
from .special import lgamma

_TINY = 1e-300
_MAX_TERMS = 2000
_CHECK_EVERY = 16


def _series(xp, a, x):
    """P(a, x) / prefactor * a: sum of x^n / ((a+1)...(a+n))."""
    term = xp.ones(a.shape)
    total = xp.ones(a.shape)
    shifted = a.copy()
    for n in range(1, _MAX_TERMS + 1):
        shifted = shifted + 1.0
        term = term * x / shifted
        total = total + term
        if n % _CHECK_EVERY == 0 and not bool((xp.abs(term) > 1e-17 * xp.abs(total)).any()):
            break
    return total / a


def _continued_fraction(xp, a, x):
    """Q(a, x) / prefactor by the modified Lentz method."""
    b = x + 1.0 - a
    c = xp.full(a.shape, 1.0 / _TINY)
    d = 1.0 / xp.where(xp.abs(b) < _TINY, _TINY, b)
    h = d
    for i in range(1, _MAX_TERMS + 1):
        an = -i * (i - a)
        b = b + 2.0
        d = an * d + b
        d = 1.0 / xp.where(xp.abs(d) < _TINY, _TINY, d)
        c = b + an / c
        c = xp.where(xp.abs(c) < _TINY, _TINY, c)
        step = d * c
        h = h * step
        if i % _CHECK_EVERY == 0 and not bool((xp.abs(step - 1.0) > 1e-16).any()):
            break
    return h


def _lower_and_upper(a, x):
    """(P, Q) in float64 for arrays a and x of one broadcast shape."""
    xp = xp_of(a)
    a, x = xp.broadcast_arrays(a.astype(np.float64), x.astype(np.float64))
    with np.errstate(all="ignore"):
        regular = (a > 0) & (x > 0) & xp.isfinite(a) & xp.isfinite(x)
        use_series = regular & (x < a + 1.0)
        use_fraction = regular & ~use_series
        a_ok = xp.where(regular, a, 1.0)
        log_prefactor = a_ok * xp.log(xp.where(regular, x, 1.0)) - xp.where(regular, x, 1.0) - lgamma(a_ok)
        prefactor = xp.exp(log_prefactor)
        lower = prefactor * _series(xp, a_ok, xp.where(use_series, x, 0.0))
        upper = prefactor * _continued_fraction(xp, a_ok, xp.where(use_fraction, x, a_ok + 2.0))
        p = xp.where(use_series, lower, 1.0 - upper)
        q = xp.where(use_series, 1.0 - lower, upper)
        # PyTorch's edges: P = 1 where a = 0 < x or x = inf > a; P = 0 where x = 0 < a or a = inf > x
        one = ((a == 0) & (x > 0)) | (xp.isinf(x) & (x > 0) & xp.isfinite(a) & (a > 0))
        zero = ((x == 0) & (a > 0)) | (xp.isinf(a) & (a > 0) & xp.isfinite(x) & (x >= 0))
        p = xp.where(one, 1.0, xp.where(zero, 0.0, p))
        q = xp.where(one, 0.0, xp.where(zero, 1.0, q))
        invalid = ~(regular | one | zero)
        p, q = xp.where(invalid, np.nan, p), xp.where(invalid, np.nan, q)
    return p, q


class _IncompleteGamma(Node):
    upper = False

    def forward(self, a, x):
        p, q = _lower_and_upper(a, x)
        self.a, self.x = a, x
        return (q if self.upper else p).astype(np.result_type(a.dtype, x.dtype), copy=False)

    def backward(self, g):
        if self.inputs[0].requires_grad:
            raise NotImplementedError(f"the derivative for '{'igammac' if self.upper else 'igamma'}: input' is "
                                      f"not implemented.")
        xp = xp_of(g)
        a, x = self.a.astype(np.float64), self.x.astype(np.float64)
        with np.errstate(all="ignore"):
            density = xp.exp(-x + (a - 1.0) * xp.log(x) - lgamma(a))
        gx = g * (-density if self.upper else density).astype(g.dtype, copy=False)
        return None, unbroadcast(gx, self.x.shape)


class Igamma(_IncompleteGamma):
    upper = False


class Igammac(_IncompleteGamma):
    upper = True


def _op(node_cls, name: str):
    def op(input, other):  # noqa: A002
        a, x = _pair(input, other, name)
        if a._data.dtype.kind != "f":
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{a.dtype.name.capitalize()}\'')
        try:
            return apply(node_cls(), a, x)
        except ValueError:
            raise broadcast_error(name, a.shape, x.shape) from None

    op.__name__ = op.__qualname__ = name
    return op


igamma = _op(Igamma, "igamma")
igammac = _op(Igammac, "igammac")
