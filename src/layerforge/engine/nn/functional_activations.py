"""More of ``torch.nn.functional``: activations, normalisation by norms, similarities, and the dropout
variants. Each is a composition of engine operations, so its gradient is theirs; the formulas are
PyTorch's (documented in its ``torch.nn.functional`` pages).
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops as _ops
from .. import random as _random
from ..ops import activation as _act
from ..ops.buffer_pool import lent as _lent
from ..ops.common import apply as _apply
from ..ops.common import on_input_gpu as _on_input_gpu
from ..ops.common import normalize_dim as _normalize_dim
from ..ops.linalg import PNorm as _PNorm
from ..tensor import Tensor as _Tensor

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _elu(input, alpha=1.0):  # noqa: A002
    return _apply(_act.Elu(alpha), input)


def _softplus(input):  # noqa: A002
    return _apply(_act.Softplus(1.0, 20.0), input)


def _float(x, op):
    """The activations' kernels are for floating point inputs (PyTorch has none for integers either)."""
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point input, got {x.dtype.name}")
    return x


def hardswish(input, inplace=False):  # noqa: A002
    return _apply(_act.Hardswish(), _float(input, "hardswish"))


def hardsigmoid(input, inplace=False):  # noqa: A002
    return _apply(_act.Hardsigmoid(), _float(input, "hardsigmoid"))


def mish(input, inplace=False):  # noqa: A002
    return input * _ops.tanh(_softplus(input))


def logsigmoid(input):  # noqa: A002
    return -_softplus(-input)


def softsign(input):  # noqa: A002
    return input / (1 + _ops.abs(input))


def softmin(input, dim=None, dtype=None):  # noqa: A002
    return _ops.softmax(-input if dtype is None else -input.to(dtype), dim)


def selu(input, inplace=False):  # noqa: A002
    return _elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input, alpha=1.0, inplace=False):  # noqa: A002
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _elu(input / alpha, 1.0) * alpha


def glu(input, dim=-1):  # noqa: A002
    axis = _normalize_dim(dim, input.ndim)
    if input.shape[axis] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {axis} is size {input.shape[axis]}")
    first, second = _ops.chunk(input, 2, axis)
    return first * _ops.sigmoid(second)


def tanhshrink(input):  # noqa: A002
    return input - _ops.tanh(input)


def threshold(input, threshold, value, inplace=False):  # noqa: A002
    return _ops.where(input > threshold, input, value)


def softshrink(input, lambd=0.5):  # noqa: A002
    return _ops.where(input > lambd, input - lambd, _ops.where(input < -lambd, input + lambd, 0.0))


def hardshrink(input, lambd=0.5):  # noqa: A002
    return _ops.where((input > lambd) | (input < -lambd), input, 0.0)


def prelu(input, weight):  # noqa: A002
    """max(0, x) + weight * min(0, x), one weight per channel (dim 1) or one shared."""
    if weight.numel() != 1:
        if input.ndim < 2 or input.shape[1] != weight.numel():
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter "
                               f"numbers = {weight.numel()} and channel size = "
                               f"{input.shape[1] if input.ndim > 1 else 1}.")
    if (isinstance(input, _Tensor) and isinstance(weight, _Tensor) and input.dtype == weight.dtype
            and weight.ndim == 1 and input.ndim):
        return _apply(_act.Prelu(), input, weight)
    if weight.numel() != 1:
        weight = weight.reshape((1, -1) + (1,) * (input.ndim - 2))
    return _ops.where(input > 0, input, weight * input)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):  # noqa: A002
    if not training:
        return _apply(_act.LeakyRelu((lower + upper) / 2), input)
    slopes = _Tensor._wrap(_random.uniform(input._data.shape, input._data.dtype, input.device, None,
                                           lower, upper))
    return _ops.where(input >= 0, input, input * slopes)


# ------------------------------------------------------------------------------ norms and similarity
def _vector_norm(input, p, dim, keepdim):  # noqa: A002
    """The p-norm over one dim, with a zero gradient where the norm is zero (as PyTorch's)."""
    axis = _normalize_dim(dim, input.ndim)
    out = _apply(_PNorm(float(p)), _ops.movedim(input, axis, -1))
    return _ops.unsqueeze(out, axis) if keepdim else out


def _at_least(norm, eps):
    """``norm`` clamped below at eps in value only: PyTorch clamps it under no_grad, so the gradient
    still flows as through the norm itself."""
    base = norm.detach()
    return norm + (_ops.clamp(base, min=eps) - base)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002
    norm = _vector_norm(input, p, dim, keepdim=True)
    return input / _ops.clamp(norm, min=eps).expand_as(input)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    shape = tuple(_broadcast_shape(x1.shape, x2.shape))
    x1, x2 = x1.expand(*shape), x2.expand(*shape)
    n1 = _at_least(_vector_norm(x1, 2, dim, keepdim=True), eps)
    n2 = _at_least(_vector_norm(x2, 2, dim, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    diff = x1 - x2 + eps
    dim = -1 if diff.ndim else 0
    if diff.ndim == 0:
        diff = diff.reshape(1)
    return _vector_norm(diff, p, dim, keepdim)


def _broadcast_shape(a, b):
    return np.broadcast_shapes(tuple(a), tuple(b))


# ------------------------------------------------------------------------------ dropout variants
# the dtypes whose dropout masks come from raw random words (random.keep_mask)
_MASK_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


@_on_input_gpu
def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    data = input._data
    if p == 1.0:
        return input * 0.0
    scale = data.dtype.type(1.0 / (1.0 - p))
    if type(data) is np.ndarray and data.dtype in _MASK_DTYPES:
        # the mask (0 or the scale), kept until backward, in a lent buffer (a fresh array each step
        # faults its pages in wherever malloc gives large blocks back), from raw random words
        mask = _random.keep_mask(data.shape, p, scale, _lent(np, data.shape, data.dtype))
    else:
        mask = (_random.uniform(data.shape, data.dtype, input.device) >= data.dtype.type(p)) * scale
    return input * _Tensor._wrap(mask)


def _channel_dropout(input, p, training, spatial_dims, name):  # noqa: A002
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (spatial_dims + 1, spatial_dims + 2):
        raise RuntimeError(f"{name}: Expected {spatial_dims + 1}D or {spatial_dims + 2}D input, but received "
                           f"a {input.ndim}D input")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    data = input._data
    shape = data.shape[:-spatial_dims] + (1,) * spatial_dims  # one draw per channel
    keep = _random.uniform(shape, data.dtype, input.device) >= data.dtype.type(p)
    return input * _Tensor._wrap(keep * data.dtype.type(1.0 / (1.0 - p)))


def dropout1d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    return _channel_dropout(input, p, training, 1, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    return _channel_dropout(input, p, training, 2, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    return _channel_dropout(input, p, training, 3, "dropout3d")


def alpha_dropout(input, p=0.5, training=False, inplace=False):  # noqa: A002
    """Dropout that keeps SELU's zero mean and unit variance: dropped units take SELU's negative
    saturation value, then an affine map restores the moments (Klambauer et al., 2017), as PyTorch's."""
    return _alpha_dropout(input, p, training, None)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):  # noqa: A002
    """alpha_dropout of whole channels: one draw per (sample, channel), as PyTorch's."""
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return _alpha_dropout(input, p, training, tuple(input.shape[:2]) + (1,) * (input.ndim - 2))


def _alpha_dropout(input, p, training, mask_shape):  # noqa: A002
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    data = input._data
    alpha = _SELU_ALPHA * _SELU_SCALE
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    shape = data.shape if mask_shape is None else mask_shape
    keep = (_random.uniform(shape, data.dtype, input.device) >= data.dtype.type(p)).astype(data.dtype)
    shift = (keep - 1) * data.dtype.type(alpha * a) + data.dtype.type(alpha * a * p)
    return input * _Tensor._wrap(keep * data.dtype.type(a)) + _Tensor._wrap(shift)
