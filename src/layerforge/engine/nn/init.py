"""``nn.init``: in-place initialisers with PyTorch's names, gains and fan rules.

Every function fills the tensor without recording a graph and returns it, so it can initialise a
Parameter that requires grad.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..random import normal as _normal_draws

_LINEAR_LIKE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps activations' variance steady through ``nonlinearity``."""
    if nonlinearity in _LINEAR_LIKE:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions (got shape {list(tensor.shape)})")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Normal values redrawn until they fall inside [a, b]."""
    with no_grad():
        tensor.normal_(mean, std, generator=generator)
        data = tensor._data
        outside = (data < a) | (data > b)
        while bool(outside.any()):
            redraw = _normal_draws(data.shape, data.dtype, tensor.device, generator, mean, std)
            data[outside] = redraw[outside]
            outside = (data < a) | (data > b)
        return tensor


def constant_(tensor, val):
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def eye_(tensor):
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    with no_grad(), backend.device_context(tensor.device):
        tensor.zero_()
        data = tensor._data
        diagonal = tensor._xp().arange(min(data.shape))
        data[diagonal, diagonal] = 1
    return tensor


def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if 0 in tensor.shape:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if 0 in tensor.shape:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor, gain=1.0, generator=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal one (signs fixed by R's diagonal),
    the trailing dims flattened, as PyTorch's."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    with no_grad():
        flat = _normal_draws((rows, cols), np.float64, backend.CPU, generator, 0.0, 1.0)
        flat = backend.to_host(flat)
        if rows < cols:
            flat = flat.T
        q, r = np.linalg.qr(flat)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        tensor._data[...] = backend.to_device_array((gain * q).reshape(tensor.shape).astype(tensor._data.dtype),
                                                    tensor.device)
    return tensor


def dirac_(tensor, groups=1):
    """The identity for a convolution: 1 at the centre of each (out, in) kernel, within each group."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    out_per_group = tensor.shape[0] // groups
    smallest = min(out_per_group, tensor.shape[1])
    with no_grad():
        data = np.zeros(tuple(tensor.shape), dtype=tensor._data.dtype)
        centre = tuple(n // 2 for n in tensor.shape[2:])
        for g in range(groups):
            for d in range(smallest):
                data[(g * out_per_group + d, d) + centre] = 1
        tensor._data[...] = backend.to_device_array(data, tensor.device)
    return tensor


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Normal(0, std) values with a fraction sparsity of each column set to zero, as PyTorch's."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    zeros_per_column = int(math.ceil(sparsity * rows))
    with no_grad():
        tensor.normal_(0, std, generator=generator)
        data = backend.to_host(tensor._data).copy()
        order = np.random.default_rng(None if generator is None else generator.initial_seed())
        for c in range(cols):
            data[order.permutation(rows)[:zeros_per_column], c] = 0
        tensor._data[...] = backend.to_device_array(data, tensor.device)
    return tensor


# PyTorch's deprecated spellings without the trailing underscore still appear in old tutorials.
uniform, normal, constant = uniform_, normal_, constant_
xavier_uniform, xavier_normal = xavier_uniform_, xavier_normal_
orthogonal, sparse, eye = orthogonal_, sparse_, eye_
kaiming_uniform, kaiming_normal = kaiming_uniform_, kaiming_normal_
