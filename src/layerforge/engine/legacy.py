"""PyTorch's top-level entry points that take an integer reduction (0 none, 1 mean, 2 sum) or their own
argument order where nn.functional's forms take names: torch.kl_div, torch.batch_norm, ... each passes
on to the engine's nn.functional form. Also torch.feature_dropout and the in-place dropouts,
nonzero_static, unsafe_split_with_sizes, and the samplers torch.poisson and torch.binomial.
"""
from __future__ import annotations

import numpy as np

from . import backend
from . import random as _random
from .autograd import Node
from .nn import functional as F
from .ops import nonzero
from .ops.aliases import split_with_sizes
from .ops.common import apply
from .tensor import Tensor

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(value) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"reduction must be an int (0: none, 1: mean, 2: sum), not {type(value).__name__}")
    if value not in _REDUCTIONS:
        raise ValueError(f"{value} is not a valid value for reduction")
    return _REDUCTIONS[value]


def kl_div(input, target, reduction=1, *, log_target=False):  # noqa: A002
    """The elementwise mean for reduction 1, as nn.functional's 'mean' (without its warning: PyTorch's
    top-level form gives none)."""
    if _reduction(reduction) == "mean":
        total = F.kl_div(input, target, reduction="sum", log_target=log_target)
        count = int(np.prod(np.broadcast_shapes(tuple(input.shape), tuple(target.shape))))
        return total / count
    return F.kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=1):  # noqa: A002
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=_reduction(reduction),
                                              pos_weight=pos_weight)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=1):
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=1):
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def hinge_embedding_loss(input, target, margin=1.0, reduction=1):  # noqa: A002
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, reduction=1):
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):  # noqa: A002
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_reduction(reduction))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=1, zero_infinity=False):
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _reduction(reduction), zero_infinity)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,  # noqa: A002
               cudnn_enabled):
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,  # noqa: A002
                  cudnn_enabled):
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def _check_probability(p) -> None:  # the top-level forms raise RuntimeError (nn.functional's ValueError)
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")


def feature_dropout(input, p, train):  # noqa: A002
    """Dropout of whole channels (dim 1): one draw per (sample, channel), as torch.feature_dropout."""
    _check_probability(p)
    if not train or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    data = input._data
    shape = tuple(data.shape[:2]) + (1,) * (data.ndim - 2)
    keep = _random.uniform(shape, data.dtype, input.device) >= data.dtype.type(p)
    return input * Tensor._wrap(keep * data.dtype.type(1.0 / (1.0 - p)))


def _in_place(fn):
    def op(input, p, train):  # noqa: A002
        result = fn(input, p, train)
        if result is not input:
            input.copy_(result)
        return input

    op.__name__ = op.__qualname__ = fn.__name__ + "_"
    return op


def dropout(input, p, train):  # noqa: A002
    _check_probability(p)
    return F.dropout(input, p, train)


def alpha_dropout(input, p, train):  # noqa: A002
    _check_probability(p)
    return F.alpha_dropout(input, p, train)


def feature_alpha_dropout(input, p, train):  # noqa: A002
    _check_probability(p)
    return F.feature_alpha_dropout(input, p, train)


dropout_, alpha_dropout_, feature_dropout_ = _in_place(dropout), _in_place(alpha_dropout), _in_place(feature_dropout)
feature_alpha_dropout_ = _in_place(feature_alpha_dropout)


def nonzero_static(input, *, size: int, fill_value: int = -1):  # noqa: A002
    """The first ``size`` rows of nonzero(input), padded with fill_value to exactly ``size`` rows."""
    found = nonzero(input)
    xp = backend.module_of(found._data)
    rows = found._data[:size]
    if rows.shape[0] < size:
        padding = xp.full((size - rows.shape[0], found.shape[1]), fill_value, dtype=rows.dtype)
        rows = xp.concatenate([rows, padding])
    return Tensor._wrap(rows)


def unsafe_split_with_sizes(input, split_sizes, dim=0):  # noqa: A002
    return split_with_sizes(input, split_sizes, dim)


class Poisson(Node):
    """Samples with the input as rates; the gradient is zero, as PyTorch's."""

    def __init__(self, generator):
        self.generator = generator

    def forward(self, rates):
        rng = _random._generator_for(backend.device_of(rates), self.generator)
        return rng.poisson(rates).astype(rates.dtype)

    def backward(self, g):
        return backend.module_of(g).zeros_like(g)


class Binomial(Node):
    """Samples of Binomial(count, prob); PyTorch has no gradient for it and raises when asked for one."""

    def __init__(self, generator):
        self.generator = generator

    def forward(self, count, prob):
        rng = _random._generator_for(backend.device_of(count), self.generator)
        return rng.binomial(count.astype(np.int64), prob).astype(count.dtype)

    def backward(self, g):
        raise RuntimeError("derivative for aten::binomial is not implemented")


def poisson(input, generator=None):  # noqa: A002
    return apply(Poisson(generator), input)


def binomial(count, prob, generator=None):
    return apply(Binomial(generator), count, prob)
