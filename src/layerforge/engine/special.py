"""``torch.special``: PyTorch's special functions under their scipy-style names, with gradients.

Most are the engine's own functions under a second name (gammaln is lgamma, expit is sigmoid, ...);
entr, ndtr, i1 and xlog1py are kernels of their own (ops/elementwise_math.py) and gammainc/gammaincc
are igamma/igammac (ops/incomplete_gamma.py).
"""
from __future__ import annotations

from .ops import (digamma, erf, erfc, erfinv, exp2, expm1, i0, log1p, logit, logsumexp, polygamma,  # noqa: F401
                  round, sigmoid, sinc, xlogy)
from .ops import log_softmax as _log_softmax
from .ops import softmax as _softmax
from .ops.elementwise_math import entr, i1, lgamma, mvlgamma, ndtr, xlog1py  # noqa: F401
from .ops.incomplete_gamma import igamma, igammac

gammaln = lgamma
psi = digamma
expit = sigmoid
gammainc = igamma
gammaincc = igammac


def multigammaln(input, p: int):  # noqa: A002
    return mvlgamma(input, p)


def softmax(input, dim, *, dtype=None):  # noqa: A002
    return _softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):  # noqa: A002
    return _log_softmax(input, dim, dtype=dtype)


__all__ = ["digamma", "entr", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc",
           "gammaln", "i0", "i1", "log1p", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr",
           "polygamma", "psi", "round", "sinc", "softmax", "xlog1py", "xlogy"]
