"""More of ``torch.nn.functional``: group, instance and RMS normalisation, and the margin, embedding
and likelihood losses. Compositions of engine operations, so their gradients are those operations'
(group norm is one fused node, ``ops.normalization.GroupNorm``); the formulas and reductions are
PyTorch's (its nn.functional pages)."""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from .. import ops as _ops
from ..autograd import no_grad
from ..ops import dense as _dense
from ..ops import normalization as _norm
from ..ops.common import apply as _apply
from ..tensor import Tensor
from .functional_activations import _vector_norm, logsigmoid
from .functional_losses import _check_reduction, legacy_reduction


def _affine(out, weight, bias, channel_dim_shape):
    if weight is not None:
        out = out * weight.reshape(channel_dim_shape)
    if bias is not None:
        out = out + bias.reshape(channel_dim_shape)
    return out


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):  # noqa: A002
    """Normalise each group of channels of each sample over its channels and positions."""
    c = input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got "
                           f"input of shape {list(input.shape)} and num_groups={num_groups}")
    return _group_norm(input, num_groups, weight, bias, eps)[0]


def _group_norm(input, groups, weight, bias, eps):  # noqa: A002
    """The fused group-norm node applied: (output, the node, which keeps the per-sample statistics)."""
    node = _norm.GroupNorm(groups, eps, weight is not None, bias is not None)
    return _apply(node, *[t for t in (input, weight, bias) if t is not None]), node


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,  # noqa: A002
                  use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5):
    """Normalise each channel of each sample over its positions (running statistics when asked).
    With the input's own statistics this is group norm with one group per channel: its fused node
    (the composed form, mean, var, subtract, divide and affine as separate nodes, ran 2.2x PyTorch's
    step), which keeps each sample's mean and variance for the running statistics."""
    dims = tuple(range(2, input.ndim))
    c = input.shape[1]
    shape = (1, c) + (1,) * (input.ndim - 2)
    if use_input_stats and input.ndim >= 3 and input.numel() and c:
        out, node = _group_norm(input, c, weight, bias, eps)
        if running_mean is not None:
            _update_running(running_mean, running_var, Tensor._wrap(node.batch_mean), Tensor._wrap(node.batch_var),
                            input, momentum)
        return out
    if use_input_stats or running_mean is None:
        mean = input.mean(dims, keepdim=True)
        var = input.var(dims, keepdim=True, correction=0)
        if running_mean is not None and use_input_stats:
            _update_running(running_mean, running_var, mean.detach().reshape(input.shape[:2]),
                            var.detach().reshape(input.shape[:2]), input, momentum)
    else:
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
    out = (input - mean) / _ops.sqrt(var + eps)
    return _affine(out, weight, bias, shape)


def _update_running(running_mean, running_var, mean, var, input, momentum):  # noqa: A002
    """Instance norm's running statistics from each sample's (N, C) mean and biased variance: their
    means over the batch, the variance made unbiased over the positions, blended in by momentum."""
    count = math.prod(input.shape[2:])
    with no_grad():
        running_mean.mul_(1 - momentum).add_(mean.mean(0) * momentum)
        running_var.mul_(1 - momentum).add_((var * (count / max(count - 1, 1))).mean(0) * momentum)


def rms_norm(input, normalized_shape, weight=None, eps=None):  # noqa: A002
    """x / sqrt(mean(x^2 over the normalized dims) + eps) * weight; eps defaults to the dtype's eps."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size {list(input.shape)}")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    out = input * _ops.rsqrt((input * input).mean(dims, keepdim=True) + eps)
    return out * weight if weight is not None else out


def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):  # noqa: A002
    """x / (k + alpha / size * sum of x^2 over the ``size`` neighbouring channels) ** beta."""
    squares = (input * input).unsqueeze(1)
    pad = [0, 0] * (input.ndim - 2) + [size // 2, (size - 1) // 2]
    padded = _ops.pad(squares, pad)
    windows = _ops.cat([padded.narrow(2, i, input.shape[1]) for i in range(size)], 1).sum(1)
    return input / _ops.pow(windows * (alpha / size) + k, beta)


# ------------------------------------------------------------------------------ losses
def _reduce(loss, reduction):
    _check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, size_average=None, reduce=None,
                        reduction: str = "mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _reduce(_ops.clamp(-target * (input1 - input2) + margin, min=0), reduction)


def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None, reduce=None,  # noqa: A002
                         reduction: str = "mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    margin_part = _ops.where(target != 1, _ops.clamp(margin - input, min=0), 0.0)
    input_part = _ops.where(target != -1, input, 0.0)
    return _reduce(margin_part + input_part, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):  # noqa: A002
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _reduce(_ops.log1p(_ops.exp(-target * input)), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                                reduction: str = "mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.mean(-1), reduction)


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, size_average=None, reduce=None,
                          reduction: str = "mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    eps = 1e-12  # PyTorch's EPSILON in cosine_embedding_loss
    dot = (input1 * input2).sum(-1)
    norms = _ops.sqrt(((input1 * input1).sum(-1) + eps) * ((input2 * input2).sum(-1) + eps))
    cosine = dot / norms
    positive = _ops.where(target == 1, 1 - cosine, 0.0)
    negative = _ops.where(target == -1, _ops.clamp(cosine - margin, min=0), 0.0)
    return _reduce(positive + negative, reduction)


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average=None, reduce=None, reduction: str = "mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)

    def distance(a, b):
        diff = a - b + eps
        return _vector_norm(diff, p, -1, False)

    d_pos, d_neg = distance(anchor, positive), distance(anchor, negative)
    if swap:
        d_neg = _ops.minimum(d_neg, distance(positive, negative))
    return _reduce(_ops.clamp(d_pos - d_neg + margin, min=0), reduction)


def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False, size_average=None,  # noqa: A002
                     eps: float = 1e-8, reduce=None, reduction: str = "mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    loss = _ops.exp(input) - target * input if log_input else input - target * _ops.log(input + eps)
    if full:  # Stirling's term target*log(target) - target + log(2*pi*target)/2, where target > 1
        stirling = target * _ops.log(target) - target + 0.5 * _ops.log(2 * math.pi * target)
        loss = loss + _ops.where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6,  # noqa: A002
                      reduction: str = "mean"):
    if var.ndim != input.ndim and var.shape == input.shape[:-1]:
        var = var.unsqueeze(-1)
    if bool((var._data < 0).any()):
        raise ValueError("var has negative entry/entries")
    clamped = var + (_ops.clamp(var.detach(), min=eps) - var.detach())  # clamped in value only
    loss = 0.5 * (_ops.log(clamped) + (input - target) ** 2 / clamped)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ------------------------------------------------------------------------------ embedding bags
_MODES = ("sum", "mean", "max")


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,  # noqa: A002
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    if mode not in _MODES:
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding_bag: max_norm, scale_grad_by_freq and sparse are not supported")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                                  f"on GitHub.")
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             "fixed length sequences.")
        bags, length = input.shape
        flat = input.reshape(-1)
        bag_of = np.repeat(np.arange(bags), length)
        weights = None if per_sample_weights is None else per_sample_weights.reshape(-1)
    elif input.ndim == 1:
        if offsets is None or offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor but got None" if offsets is None else
                             "offsets has to be a 1D Tensor")
        starts = backend.to_host(offsets._data).astype(np.int64)
        if include_last_offset:
            starts = starts[:-1]
        bags = len(starts)
        flat = input
        bag_of = np.searchsorted(starts, np.arange(input.shape[0]), side="right") - 1
        weights = per_sample_weights
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    host = backend.to_host(flat._data)
    keep = np.ones(len(host), dtype=bool) if padding_idx is None else host != (padding_idx % weight.shape[0])
    rows = _apply(_dense.Embedding(flat._data, None), weight)  # (n, dim)
    if weights is not None:
        rows = rows * weights.unsqueeze(-1)
    index = Tensor._wrap(backend.to_device_array(bag_of[keep], weight.device))
    kept = rows if keep.all() else rows[Tensor._wrap(backend.to_device_array(keep, weight.device))]
    zeros = weight.new_zeros(bags, weight.shape[1])
    if mode == "max":
        expanded = index.unsqueeze(-1).expand(-1, weight.shape[1])
        return _ops.scatter_reduce(zeros, 0, expanded, kept, "amax", include_self=False)
    total = _ops.index_add(zeros, 0, index, kept)
    if mode == "sum":
        return total
    counts = np.bincount(bag_of[keep], minlength=bags).astype(weight._data.dtype)
    divisor = Tensor._wrap(backend.to_device_array(np.maximum(counts, 1)[:, None], weight.device))
    return total / divisor


# ------------------------------------------------------------------------------ CTC
_UNREACHABLE = -1e30  # log-probability of an unreachable alignment state: finite, so gradients stay finite


def _lengths(values) -> list:
    host = backend.to_host(values._data) if isinstance(values, Tensor) else np.asarray(values)
    return [int(v) for v in np.atleast_1d(host)]


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0, reduction: str = "mean",
             zero_infinity: bool = False):
    """Connectionist temporal classification: -log of the summed probability of every alignment of each
    target to its input, by the forward (alpha) recursion in log space (Graves et al., 2006).
    log_probs is (T, N, C) (or (T, C) unbatched); targets (N, S) padded or 1-D concatenated."""
    _check_reduction(reduction)
    batched = log_probs.ndim == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    batch = lp.shape[1]
    in_lengths, tg_lengths = _lengths(input_lengths), _lengths(target_lengths)
    flat_targets = backend.to_host(targets._data) if isinstance(targets, Tensor) else np.asarray(targets)
    if not batched:
        flat_targets = flat_targets.reshape(1, -1)
    losses = []
    offset = 0
    for n in range(batch):
        length = tg_lengths[n]
        if flat_targets.ndim == 1:
            labels = flat_targets[offset:offset + length]
            offset += length
        else:
            labels = flat_targets[n, :length]
        extended = np.full(2 * length + 1, blank, dtype=np.int64)
        extended[1::2] = labels
        states = len(extended)
        skip = np.zeros(states, dtype=bool)  # s may come from s - 2: a label differing from the one before
        skip[2:] = (extended[2:] != blank) & (extended[2:] != extended[:-2])
        index = Tensor._wrap(backend.to_device_array(extended, lp.device))
        skip_mask = Tensor._wrap(backend.to_device_array(skip, lp.device))
        emissions = lp[:, n][:, index]  # (T, states)
        floor = emissions.new_full((1,), _UNREACHABLE)
        start = emissions.new_full((states,), _UNREACHABLE)
        first = _ops.where(Tensor._wrap(backend.to_device_array(np.arange(states) < 2, lp.device)),
                           emissions[0], start)
        alpha = first
        for t in range(1, in_lengths[n]):
            one_back = _ops.cat([floor, alpha[:-1]])
            earlier = _ops.cat([floor, floor, alpha[:-2]]) if states > 2 else alpha * 0 + _UNREACHABLE
            two_back = _ops.where(skip_mask, earlier, _UNREACHABLE)
            alpha = _ops.logaddexp(_ops.logaddexp(alpha, one_back), two_back) + emissions[t]
        ends = alpha[-1:] if states == 1 else alpha[-2:]
        loss = -ends.logsumexp(0)
        if float(loss) > -_UNREACHABLE / 10:  # no alignment at all: the loss is infinite
            loss = loss * 0 + (0.0 if zero_infinity else float("inf"))
        losses.append(loss)
    stacked = _ops.stack(losses)
    if reduction == "none":
        return stacked if batched else stacked.squeeze(0)
    if reduction == "sum":
        return stacked.sum()
    divisor = Tensor._wrap(backend.to_device_array(np.maximum(np.array(tg_lengths, dtype=np.float64), 1)
                                                   .astype(lp._data.dtype), lp.device))
    return (stacked / divisor).mean()
