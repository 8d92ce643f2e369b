"""``torch.distributions``, the distributions reinforcement-learning and VAE tutorials use: Normal,
Bernoulli, Categorical, Uniform, with PyTorch's parameterisations (``probs`` or ``logits``), shapes
(``batch_shape``, ``event_shape``), ``sample``/``rsample``/``log_prob``/``entropy``, and
``kl_divergence`` between two of a kind. Differentiable through the engine's operations; samples are
drawn from the engine's generator (so they are not PyTorch's numbers, only PyTorch's distribution).
"""
from __future__ import annotations

import math

import numpy as np

from . import ops as _ops
from . import random as _random
from .autograd import no_grad
from .creation import tensor as _tensor
from .nn.functional import softplus
from .nn.functional_losses import binary_cross_entropy_with_logits
from .ops.elementwise_math import erf, erfinv
from .tensor import Size, Tensor
from .tensor_extras import multinomial

_wrap = Tensor._wrap


def _as_tensor(value, like=None):
    if isinstance(value, Tensor):
        return value
    dtype = like.dtype if isinstance(like, Tensor) and like.is_floating_point() else None
    return _tensor(float(value) if isinstance(value, (int, float)) else value, dtype=dtype,
                   device=like.device if isinstance(like, Tensor) else None)


def _near(value: Tensor, *params):
    """The parameters on value's device where they are 0-d (PyTorch lets a CPU scalar meet a GPU tensor)."""
    return [p.to(value.device) if p.ndim == 0 and p.device != value.device else p for p in params]


def _broadcast(*values):
    tensors = [_as_tensor(v) for v in values]
    shape = np.broadcast_shapes(*[tuple(t.shape) for t in tensors])
    return [t if tuple(t.shape) == shape else t.expand(*shape) for t in tensors]


def _shape(sample_shape) -> tuple:
    return (sample_shape,) if isinstance(sample_shape, int) else tuple(sample_shape)


class Distribution:
    """What every distribution shares: shapes, sample() without gradient, stddev from variance."""

    has_rsample = False

    def __init__(self, batch_shape=(), event_shape=()):
        self._batch_shape, self._event_shape = Size(batch_shape), Size(event_shape)

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    def _extended_shape(self, sample_shape=()) -> tuple:
        return _shape(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape)

    def sample(self, sample_shape=()):
        with no_grad():
            return self.rsample(sample_shape).detach() if self.has_rsample else self._sample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterised sampler (rsample)")

    @property
    def stddev(self):
        return _ops.sqrt(self.variance)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Normal(Distribution):
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _broadcast(loc, scale)
        super().__init__(tuple(self.loc.shape))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self.scale ** 2

    @property
    def stddev(self):
        return self.scale

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = _wrap(_random.normal(shape, self.loc._data.dtype, self.loc.device))
        return self.loc + eps * self.scale

    def log_prob(self, value):
        value = _as_tensor(value, self.loc)
        loc, scale = _near(value, self.loc, self.scale)
        return -((value - loc) ** 2) / (2 * scale ** 2) - _ops.log(scale) - math.log(math.sqrt(2 * math.pi))

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + _ops.log(self.scale)

    def cdf(self, value):
        value = _as_tensor(value, self.loc)
        loc, scale = _near(value, self.loc, self.scale)
        return 0.5 * (1 + erf((value - loc) / (scale * math.sqrt(2))))

    def icdf(self, value):
        value = _as_tensor(value, self.loc)
        loc, scale = _near(value, self.loc, self.scale)
        return loc + scale * erfinv(2 * value - 1) * math.sqrt(2)

    def __repr__(self):
        return f"Normal(loc: {self.loc}, scale: {self.scale})"


class Uniform(Distribution):
    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = _broadcast(low, high)
        super().__init__(tuple(self.low.shape))

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = _wrap(_random.uniform(shape, self.low._data.dtype, self.low.device))
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        value = _as_tensor(value, self.low)
        low, high = _near(value, self.low, self.high)
        inside = ((low <= value) & (high > value)).to(low.dtype)
        return _ops.log(inside) - _ops.log(high - low)

    def entropy(self):
        return _ops.log(self.high - self.low)

    def cdf(self, value):
        value = _as_tensor(value, self.low)
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)


def _logits_from_probs(probs, binary: bool):
    eps = float(np.finfo(probs._data.dtype).eps)
    clamped = probs.clamp(eps, 1 - eps)
    return _ops.log(clamped) - _ops.log1p(-clamped) if binary else _ops.log(clamped)


class Bernoulli(Distribution):
    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.probs = _as_tensor(probs)
            self.logits = _logits_from_probs(self.probs, True)
        else:
            self.logits = _as_tensor(logits)
            self.probs = _ops.sigmoid(self.logits)
        super().__init__(tuple(self.probs.shape))

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def _sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = _wrap(_random.uniform(shape, self.probs._data.dtype, self.probs.device))
        return (u < self.probs.detach()).to(self.probs.dtype)

    def log_prob(self, value):
        logits, value = _broadcast(self.logits, _as_tensor(value, self.logits))
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")


class Categorical(Distribution):
    """One of K categories along the last dim of probs/logits (unnormalised is fine, as PyTorch)."""

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            probs = _as_tensor(probs)
            self.probs = probs / probs.sum(-1, keepdim=True)
            self.logits = _logits_from_probs(self.probs, False)
        else:
            logits = _as_tensor(logits)
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
            self.probs = _ops.softmax(self.logits, -1)
        self._num_events = self.probs.shape[-1]
        super().__init__(tuple(self.probs.shape[:-1]))

    @property
    def param_shape(self):
        return self.probs.shape

    @property
    def mean(self):
        return self.probs.new_full(self.batch_shape, float("nan"))

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return self.probs.new_full(self.batch_shape, float("nan"))

    def _sample(self, sample_shape=()):
        shape = _shape(sample_shape)
        count = int(np.prod(shape)) if shape else 1
        rows = self.probs.detach().reshape(-1, self._num_events)
        draws = multinomial(rows, count, replacement=True)  # (rows, count)
        return draws.t().reshape(shape + tuple(self.batch_shape))

    def log_prob(self, value):
        value = _as_tensor(value).long()
        value = value.unsqueeze(-1)
        shape = np.broadcast_shapes(tuple(value.shape[:-1]), tuple(self.logits.shape[:-1]))
        logits = self.logits.expand(*shape, self._num_events)
        index = value.expand(*shape, 1)
        return logits.gather(-1, index).squeeze(-1)

    def entropy(self):
        smallest = float(np.finfo(self.logits._data.dtype).min)
        logits = self.logits.clamp(min=smallest)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True):
        values = _tensor(np.arange(self._num_events), device=self.probs.device)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        return values.expand(self._num_events, *self.batch_shape) if expand else values


def kl_divergence(p: Distribution, q: Distribution):
    """KL(p || q) for two distributions of the same kind, in closed form."""
    if isinstance(p, Normal) and isinstance(q, Normal):
        var_ratio = (p.scale / q.scale) ** 2
        t1 = ((p.loc - q.loc) / q.scale) ** 2
        return 0.5 * (var_ratio + t1 - 1 - _ops.log(var_ratio))
    if isinstance(p, Categorical) and isinstance(q, Categorical):
        t = p.probs * (p.logits - q.logits)
        t = _ops.where(q.probs == 0, float("inf"), t)
        t = _ops.where(p.probs == 0, 0.0, t)
        return t.sum(-1)
    if isinstance(p, Bernoulli) and isinstance(q, Bernoulli):
        t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
        t1 = _ops.where(p.probs == 0, 0.0, _ops.where(q.probs == 0, float("inf"), t1))
        t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
        t2 = _ops.where(p.probs == 1, 0.0, _ops.where(q.probs == 1, float("inf"), t2))
        return t1 + t2
    if isinstance(p, Uniform) and isinstance(q, Uniform):
        result = _ops.log((q.high - q.low) / (p.high - p.low))
        outside = (q.low > p.low) | (q.high < p.high)
        return _ops.where(outside, float("inf"), result)
    raise NotImplementedError(f"kl_divergence({type(p).__name__}, {type(q).__name__}) is not implemented")
