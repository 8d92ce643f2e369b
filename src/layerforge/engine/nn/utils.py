"""``nn.utils``: gradient clipping and conversion between parameters and one flat vector."""
from __future__ import annotations

import math
import sys

import numpy as np

from .. import ops as _ops
from ..autograd import no_grad
from ..backend import device_context, to_device_array
from ..creation import tensor
from ..tensor import Tensor


def _as_list(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so their joint norm is at most ``max_norm``; return that norm
    (measured before clipping, as a 0-d tensor)."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return tensor(0.0)
    xp = _ops.xp_of(grads[0]._data)
    device = grads[0].device
    if xp is not np:
        with device_context(device):
            return _clip_grad_norm_on_gpu(xp, grads, max_norm, norm_type, error_if_nonfinite)
    if norm_type == math.inf:
        norms = [float(xp.abs(g._data).max()) if g._data.size else 0.0 for g in grads]
        total = max(norms)
    else:
        total = sum(float((xp.abs(g._data.astype(xp.float64)) ** norm_type).sum()) for g in grads)
        total = total ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise _nonfinite_norm(norm_type)
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        with no_grad():
            for g in grads:
                g._data *= g._data.dtype.type(coef)
    out_dtype = grads[0]._data.dtype
    return Tensor._wrap(to_device_array(xp.asarray(total, dtype=out_dtype), device))


def _nonfinite_norm(norm_type) -> RuntimeError:
    """PyTorch's words for ``error_if_nonfinite``."""
    return RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is "
                        "non-finite, so it cannot be clipped. To disable this error and scale the "
                        "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")


def _clip_grad_norm_on_gpu(xp, grads, max_norm, norm_type, error_if_nonfinite):
    """The same on a GPU, without reading anything back (as torch does): the norm and the scale stay
    on the device, and every gradient is multiplied by min(1, max_norm / (norm + 1e-6)), which leaves
    it exactly as it was where no clipping is needed. Only ``error_if_nonfinite`` reads the norm."""
    arrays = [g._data for g in grads if g._data.size]
    if not arrays:
        total = xp.zeros((), dtype=xp.float64)
    elif norm_type == math.inf:
        total = xp.stack([xp.abs(a).max().astype(xp.float64) for a in arrays]).max()
    else:
        total = xp.stack([(xp.abs(a.astype(xp.float64)) ** norm_type).sum() for a in arrays]).sum()
        total = total ** (1.0 / norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise _nonfinite_norm(norm_type)
    scale = xp.minimum(max_norm / (total + 1e-6), 1.0)
    with no_grad():
        for g in grads:
            g._data *= scale.astype(g._data.dtype)
    return Tensor._wrap(total.astype(grads[0]._data.dtype))


def clip_grad_value_(parameters, clip_value, foreach=None):
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            xp = _ops.xp_of(p.grad._data)
            with device_context(p.grad.device):
                p.grad._data = xp.clip(p.grad._data, -clip_value, clip_value).astype(p.grad._data.dtype)


def parameters_to_vector(parameters):
    params = _as_list(parameters)
    return _ops.cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected Tensor, but got: {type(vec).__name__}")
    params = _as_list(parameters)
    needed = sum(p.numel() for p in params)
    if vec.numel() != needed:
        raise RuntimeError(f"vector_to_parameters: the vector has {vec.numel()} elements but the "
                           f"parameters need {needed}")
    offset = 0
    data = vec._data.reshape(-1)
    for p in params:
        n = p.numel()
        p._data = data[offset:offset + n].reshape(p._data.shape).astype(p._data.dtype, copy=True)
        offset += n


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of the norms of tensors (gradients, usually), as one 0-d tensor."""
    tensors = [tensors] if isinstance(tensors, Tensor) else [t for t in tensors if t is not None]
    if not tensors:
        return tensor(0.0)
    norms = [_ops.linalg_dense.vector_norm(t.detach(), norm_type) for t in tensors]
    total = _ops.linalg_dense.vector_norm(_ops.stack(norms), norm_type)
    if error_if_nonfinite and not bool(_ops.isfinite(total).all()):
        raise _nonfinite_norm(norm_type)
    return total


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients by max_norm / (total_norm + 1e-6) where that is below 1."""
    factor = _ops.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.mul_(factor.to(p.grad.device))


clip_grad_norm = clip_grad_norm_  # PyTorch's deprecated spelling

from . import utils_rnn as rnn  # noqa: E402  (torch.nn.utils.rnn)

sys.modules[f"{__name__}.rnn"] = rnn
