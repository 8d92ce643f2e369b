"""Loss functions, as ``torch.nn.functional``: argument checks, PyTorch's conventions, fused kernels.

Every function takes ``reduction`` ('none' | 'mean' | 'sum') and PyTorch's deprecated ``size_average``
/ ``reduce`` pair. The arithmetic lives in ``ops/loss.py``, one graph node per loss.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..ops import loss as kernels
from ..ops.common import apply, as_tensor_arg, check_same_device, on_input_gpu, promote_pair
from ..tensor import Tensor

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]

_REDUCTIONS = ("none", "mean", "sum")


# ------------------------------------------------------------------------------ shared checks
def legacy_reduction(size_average, reduce, reduction: str = "mean") -> str:
    """Turn PyTorch's deprecated ``size_average`` / ``reduce`` flags into a ``reduction`` string."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = "mean" if (size_average and reduce) else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{result}' "
                  "instead.", UserWarning, stacklevel=3)
    return result


def _check_reduction(reduction: str, allowed=_REDUCTIONS) -> str:
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction; use one of "
                         f"{', '.join(repr(r) for r in allowed)}")
    return reduction


def _check_input(input, name: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{name}(): input must be a floating-point tensor (logits, probabilities or "
                           f"predictions), got {input.dtype.name}; convert it with .float()")
    return input


def _float_target(input: Tensor, target, name: str, cast_integers: bool) -> Tensor:
    """The target as a floating tensor on the input's device, promoted with the input as PyTorch does."""
    if not isinstance(target, Tensor):
        target = as_tensor_arg(np.asarray(target, dtype=input._data.dtype), input)
    check_same_device(input, target, name)
    if target._data.dtype.kind != "f":
        if not cast_integers:
            raise RuntimeError(f"{name}(): target must be a floating-point tensor of 0s and 1s (or "
                               f"probabilities), got {target.dtype.name}; convert it with .float()")
        target = target.to(input.dtype)
    return target


def _warn_if_broadcast(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", UserWarning, stacklevel=3)
        try:
            np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
        except ValueError:
            raise RuntimeError(f"the input of shape {tuple(input.shape)} and the target of shape "
                               f"{tuple(target.shape)} do not broadcast: give the target the "
                               "input's shape") from None


def _same_shape_or_raise(input: Tensor, target: Tensor, message: str) -> None:
    if target.shape != input.shape:
        raise ValueError(message.format(target=target.shape, input=input.shape))


def _constant_array(value, input: Tensor, what: str, name: str):
    """A weight-like argument as a raw array of the input's dtype (it receives no gradient)."""
    if value is None:
        return None
    if not isinstance(value, Tensor):
        value = as_tensor_arg(np.asarray(value, dtype=input._data.dtype), input)
    check_same_device(input, value, f"{name} ({what})")
    data = value._data
    return data if data.dtype == input._data.dtype else data.astype(input._data.dtype)


# ------------------------------------------------------------------------------ regression
def _pair_loss(node, input, target, name, weight, weighted_mean_by_weight):
    if weight is None and isinstance(input, Tensor) and isinstance(target, Tensor):
        a, b = input._data, target._data  # the usual call: CPU floats of one dtype and one shape
        if (type(a) is np.ndarray and type(b) is np.ndarray and a.dtype is b.dtype and a.dtype.kind == "f"
                and a.shape == b.shape):
            return apply(node, input, target)  # every check below would pass
    input = _check_input(input, name)
    target = _float_target(input, target, name, cast_integers=True)
    _warn_if_broadcast(input, target)
    input, target = promote_pair(input, target, name)
    if weight is None:
        return apply(node, input, target)
    # Weighted form (PyTorch 2.6+): rare, so composed from the unreduced kernel.
    reduction, node.reduction = node.reduction, "none"
    if not isinstance(weight, Tensor) or weight.shape != input.shape:
        raise ValueError(f"{name}(): weights and input must have the same size; got weight of shape "
                         f"{tuple(getattr(weight, 'shape', ()))} and input of shape "
                         f"{tuple(input.shape)}")
    weighted = apply(node, input, target) * weight
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    return weighted.sum() / weight.sum() if weighted_mean_by_weight else weighted.mean()


@on_input_gpu
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error: (input - target)^2, reduced."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    return _pair_loss(kernels.MSELoss(reduction), input, target, "mse_loss", weight, True)


@on_input_gpu
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error: |input - target|, reduced."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    return _pair_loss(kernels.L1Loss(reduction), input, target, "l1_loss", weight, True)


@on_input_gpu
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (plain L1 when beta is 0)."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta (got {beta})")
    node = kernels.L1Loss(reduction) if beta == 0 else kernels.SmoothL1Loss(reduction, beta)
    return _pair_loss(node, input, target, "smooth_l1_loss", None, True)


@on_input_gpu
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)."""
    reduction = _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta (got {delta})")
    return _pair_loss(kernels.HuberLoss(reduction, delta), input, target, "huber_loss", weight, False)


# ------------------------------------------------------------------------------ binary
@on_input_gpu
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """BCE on probabilities in [0, 1]; logs are clamped to >= -100 so 0 and 1 give finite losses."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    input = _check_input(input, "binary_cross_entropy")
    target = _float_target(input, target, "binary_cross_entropy", cast_integers=False)
    _same_shape_or_raise(input, target, "Using a target size ({target}) that is different to the "
                         "input size ({input}) is deprecated. Please ensure they have the same size.")
    input, target = promote_pair(input, target, "binary_cross_entropy")
    data = input._data
    xp = input._xp()
    if data.size and bool(xp.any((data < 0) | (data > 1))):
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1; "
                           "pass probabilities (apply sigmoid first), or use "
                           "binary_cross_entropy_with_logits on raw scores")
    w = _constant_array(weight, input, "weight", "binary_cross_entropy")
    if w is not None:
        _check_broadcasts(w.shape, tuple(target.shape), "weight", "binary_cross_entropy")
    return apply(kernels.BinaryCrossEntropy(reduction, w), input, target)


@on_input_gpu
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """BCE on raw scores, computed through log-sigmoid so large scores never overflow."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    name = "binary_cross_entropy_with_logits"
    input = _check_input(input, name)
    target = _float_target(input, target, name, cast_integers=False)
    _same_shape_or_raise(input, target, "Target size ({target}) must be the same as input size "
                         "({input})")
    input, target = promote_pair(input, target, name)
    w = _constant_array(weight, input, "weight", name)
    pw = _constant_array(pos_weight, input, "pos_weight", name)
    if w is not None:
        _check_broadcasts(w.shape, tuple(input.shape), "weight", name)
    if pw is not None:
        _check_broadcasts(pw.shape, tuple(input.shape), "pos_weight", name)
    return apply(kernels.BinaryCrossEntropyWithLogits(reduction, w, pw), input, target)


def _check_broadcasts(shape, target_shape, what, name):
    try:
        np.broadcast_shapes(tuple(shape), target_shape)
    except ValueError:
        raise RuntimeError(f"{name}(): {what} of shape {tuple(shape)} does not broadcast to the "
                           f"target's shape {target_shape}") from None


# ------------------------------------------------------------------------------ KL divergence
@on_input_gpu
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL(target || input) with ``input`` given as log-probabilities; 'batchmean' is the true KL."""
    legacy = size_average is not None or reduce is not None
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, _REDUCTIONS + ("batchmean",))
    if reduction == "mean" and not legacy:
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support "
                      "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
                      "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
                      "major release.", UserWarning, stacklevel=2)
    input = _check_input(input, "kl_div")
    target = _float_target(input, target, "kl_div", cast_integers=True)
    input, target = promote_pair(input, target, "kl_div")
    _check_broadcasts(tuple(target.shape), tuple(input.shape), "target", "kl_div")
    return apply(kernels.KLDivergence(reduction, bool(log_target)), input, target)


# ------------------------------------------------------------------------------ classification
def _class_weight(weight, input: Tensor, n_classes: int, name: str):
    w = _constant_array(weight, input, "weight", name)
    if w is not None and (w.ndim != 1 or w.shape[0] != n_classes):
        raise RuntimeError(f"{name}(): weight tensor should be defined either for all {n_classes} "
                           f"classes or no classes but got weight tensor of shape: {list(w.shape)}")
    return w


def _index_target(input: Tensor, target, ignore_index: int, name: str):
    """Check class indices against the input's shape and class count; return the raw int array."""
    if not isinstance(target, Tensor):
        target = as_tensor_arg(np.asarray(target), input)
    check_same_device(input, target, name)
    if input.ndim == 0:
        raise RuntimeError(f"{name}(): input must have a class dimension: (C,), (N, C) or (N, C, d1, "
                           "...); got a 0-d tensor")
    n_classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    expected = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
    data = target._data
    if data.dtype.kind not in "iu":
        raise RuntimeError(
            f"{name}(): expected class indices as an integer (int64) tensor of shape {expected} for "
            f"input of shape {tuple(input.shape)}, but got a {target.dtype.name} target of shape "
            f"{tuple(target.shape)}. Convert indices with .long(); class probabilities must have the "
            "input's shape.")
    if tuple(data.shape) != expected:
        raise ValueError(
            f"{name}(): expected a target of shape {expected} (one class index per sample) for input "
            f"of shape {tuple(input.shape)}, but got a target of shape {tuple(target.shape)}")
    xp = input._xp()
    if data.size:
        bad = (data != ignore_index) & ((data < 0) | (data >= n_classes))
        if bool(xp.any(bad)):
            value = int(data[bad].reshape(-1)[0])
            raise IndexError(f"Target {value} is out of bounds: {name}() needs class indices in "
                             f"[0, {n_classes - 1}] for an input with C={n_classes} classes "
                             f"(or equal to ignore_index={ignore_index})")
    return data.astype(np.int64, copy=False), n_classes


@on_input_gpu
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """log_softmax over the class axis (1, or 0 for an unbatched (C,) input) and NLL, fused.

    ``target`` is class indices of shape (N, d1, ...) or class probabilities of the input's shape.
    """
    if (weight is None and not label_smoothing and reduction == "mean" and size_average is None and reduce is None
            and isinstance(input, Tensor) and isinstance(target, Tensor)):
        x, t = input._data, target._data  # the usual call: (N, C) CPU logits and N valid class indices
        if (type(x) is np.ndarray and type(t) is np.ndarray and x.ndim == 2 and x.dtype.kind == "f"
                and t.dtype.kind in "iu" and t.shape == x.shape[:1] and t.size
                and not 0 <= ignore_index < x.shape[1] and 0 <= t.min() and t.max() < x.shape[1]):
            return apply(kernels.CrossEntropyMean(t.astype(np.int64, copy=False)), input)
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    input = _check_input(input, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if isinstance(target, Tensor) and target.shape == input.shape and input.ndim >= 1:
        if target._data.dtype.kind != "f":
            raise RuntimeError(
                f"cross_entropy(): a target with the input's shape {tuple(input.shape)} is read as "
                f"class probabilities and must be floating point, got {target.dtype.name}. For class "
                "indices give shape (N, d1, ...) without the class dimension.")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target (class "
                               "probabilities); drop ignore_index or give class indices")
        check_same_device(input, target, "cross_entropy")
        input, target = promote_pair(input, target, "cross_entropy")
        n_classes = input.shape[0] if input.ndim == 1 else input.shape[1]
        w = _class_weight(weight, input, n_classes, "cross_entropy")
        return apply(kernels.CrossEntropyWithProbs(w, label_smoothing, reduction), input, target)
    indices, n_classes = _index_target(input, target, ignore_index, "cross_entropy")
    w = _class_weight(weight, input, n_classes, "cross_entropy")
    node = kernels.ClassIndexLoss(indices, w, int(ignore_index), label_smoothing, reduction,
                                  from_log_probs=False)
    return apply(node, input)


@on_input_gpu
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of class indices, ``input`` being log-probabilities (N, C, d1, ...)."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    input = _check_input(input, "nll_loss")
    indices, n_classes = _index_target(input, target, ignore_index, "nll_loss")
    w = _class_weight(weight, input, n_classes, "nll_loss")
    node = kernels.ClassIndexLoss(indices, w, int(ignore_index), 0.0, reduction, from_log_probs=True)
    return apply(node, input)
