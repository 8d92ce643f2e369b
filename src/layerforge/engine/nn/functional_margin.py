"""More of nn.functional: the multi-class margin losses (multi_margin_loss, multilabel_margin_loss),
triplet_margin_with_distance_loss, power-average pooling (lp_pool1d/2d/3d) and the ``*_with_indices``
spellings of max pooling. Composed of differentiable operations, so the gradients are theirs."""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from .. import ops as _ops
from ..tensor import Tensor
from .functional_activations import pairwise_distance
from .functional_more import _reduce
from .functional_losses import legacy_reduction


def _rows(input, target, name):
    if input.ndim not in (1, 2):
        raise RuntimeError(f"{name}: Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    return (input.unsqueeze(0), target.reshape(1), True) if input.ndim == 1 else (input, target, False)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,  # noqa: A002
                      reduction="mean"):
    """sum over j != y of max(0, margin - x[y] + x[j])^p (times weight[y]), over the class count."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x, y, single = _rows(input, target, "multi_margin_loss")
    classes = x.shape[1]
    y_column = y.reshape(-1, 1)
    picked = x.gather(1, y_column)
    terms = _ops.clamp(margin - picked + x, min=0)
    if p == 2:
        terms = terms * terms
    if weight is not None:
        terms = terms * weight.gather(0, y).reshape(-1, 1)
    positions = Tensor._wrap(backend.to_device_array(np.arange(classes), x.device)).reshape(1, -1)
    others = positions != y_column
    loss = (terms * others.to(terms.dtype)).sum(1) / classes
    return _reduce(loss.squeeze(0) if single else loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """For each target class j (the labels before the first -1) and each other class i:
    max(0, 1 - (x[j] - x[i])), summed, over the class count."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    x, y, single = (input.unsqueeze(0), target.unsqueeze(0), True) if input.ndim == 1 else (input, target, False)
    labels = backend.to_host(y._data)
    n, classes = x.shape
    is_target = np.zeros((n, classes), dtype=bool)
    for row in range(n):
        for label in labels[row]:
            if label < 0:
                break
            is_target[row, label] = True
    mask = Tensor._wrap(backend.to_device_array(is_target, x.device))
    pair = _ops.clamp(1 - (x.unsqueeze(2) - x.unsqueeze(1)), min=0)  # [row, j, i]
    chosen = (mask.unsqueeze(2) & ~mask.unsqueeze(1)).to(pair.dtype)
    loss = (pair * chosen).sum((1, 2)) / classes
    return _reduce(loss.squeeze(0) if single else loss, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                      swap=False, reduction="mean"):
    distance = distance_function if distance_function is not None else pairwise_distance
    d_pos, d_neg = distance(anchor, positive), distance(anchor, negative)
    if swap:
        d_neg = _ops.minimum(d_neg, distance(positive, negative))
    return _reduce(_ops.clamp(margin - d_neg + d_pos, min=0), reduction)


def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, dims):
    from . import functional as F

    kernel = (kernel_size,) * dims if isinstance(kernel_size, int) else tuple(kernel_size)
    pool = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[dims]
    out = pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (_ops.sign(out) * _ops.relu(out.abs())).mul(math.prod(kernel)).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
                            return_indices=True):
    from . import functional as F
    return F.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
                            return_indices=True):
    from . import functional as F
    return F.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):  # noqa: A002
    from . import functional as F
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):  # noqa: A002
    from . import functional as F
    return F.adaptive_max_pool2d(input, output_size, return_indices=True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
                            return_indices=True):
    from . import functional as F
    return F.max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):  # noqa: A002
    from . import functional as F
    return F.adaptive_max_pool3d(input, output_size, return_indices=True)
