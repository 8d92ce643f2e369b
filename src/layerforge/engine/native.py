"""PyTorch's lower-level entry points that tutorials and libraries reach for, over the engine's
operations: torch.convolution (any conv by its arguments), constant_pad_nd, the native_* norms and
dropout (which also return their statistics or mask), norm_except_dim (weight norm's helper),
grid_sampler / affine_grid_generator (integer modes), native_channel_shuffle."""
from __future__ import annotations

from . import backend
from . import ops as _ops
from . import random as _random
from .nn import functional as F
from .tensor import Tensor

_CONVS = {1: (F.conv1d, F.conv_transpose1d), 2: (F.conv2d, F.conv_transpose2d), 3: (F.conv3d, F.conv_transpose3d)}


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):  # noqa: A002
    """The convolution its arguments describe (1-3 spatial dims, transposed or not)."""
    dims = weight.ndim - 2
    if dims not in _CONVS:
        raise RuntimeError(f"convolution: expected a 3-5 dimensional weight, got {weight.ndim} dimensions")
    forward, backward = _CONVS[dims]
    if transposed:
        return backward(input, weight, bias, tuple(stride), tuple(padding), tuple(output_padding), groups,
                        tuple(dilation))
    return forward(input, weight, bias, tuple(stride), tuple(padding), tuple(dilation), groups)


def conv_tbc(input, weight, bias, pad=0):  # noqa: A002
    """A 1-d convolution over time of (time, batch, channels) input with a (kernel, in, out) weight."""
    out = F.conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, 1, pad)
    return out.permute(2, 0, 1)


def constant_pad_nd(input, pad, value=0):  # noqa: A002
    return F.pad(input, list(pad), mode="constant", value=value)


def native_channel_shuffle(input, groups):  # noqa: A002
    return _ops.channel_shuffle(input, groups)


def native_layer_norm(input, normalized_shape, weight, bias, eps):  # noqa: A002
    """(output, mean, rstd): mean and 1/sqrt(var + eps) over the normalised dims, kept as size-1 dims."""
    dims = tuple(range(input.ndim - len(normalized_shape), input.ndim))
    detached = input.detach()
    mean = detached.mean(dims, keepdim=True)
    rstd = (detached.var(dims, unbiased=False, keepdim=True) + eps).rsqrt()
    return F.layer_norm(input, list(normalized_shape), weight, bias, eps), mean, rstd


def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):  # noqa: A002
    """(output, save_mean, save_invstd): the batch statistics when training, empty tensors otherwise."""
    dims = tuple(d for d in range(input.ndim) if d != 1)
    if training:
        detached = input.detach()
        mean = detached.mean(dims)
        invstd = (detached.var(dims, unbiased=False) + eps).rsqrt()
    else:
        mean = invstd = input.new_zeros(0)
    out = F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    return out, mean, invstd


def native_group_norm(input, weight, bias, N, C, HxW, group, eps):  # noqa: A002,N803
    """(output, mean, rstd) with the statistics per (sample, group) (differentiable, as PyTorch's)."""
    grouped = input.reshape(N, group, -1)
    mean = grouped.mean(-1)
    rstd = (grouped.var(-1, unbiased=False) + eps).rsqrt()
    return F.group_norm(input, group, weight, bias, eps), mean, rstd


def native_dropout(input, p, train):  # noqa: A002
    """(output, mask): the bool mask of the kept elements (all kept when not training)."""
    data = input._data
    if not train or p == 0:
        return input.clone(), Tensor._wrap(backend.module_of(data).ones(data.shape, dtype=bool))
    keep = _random.uniform(data.shape, data.dtype, input.device) >= data.dtype.type(p)
    scale = 0.0 if p >= 1 else 1.0 / (1.0 - p)
    return input * Tensor._wrap(keep * data.dtype.type(scale)), Tensor._wrap(keep)


def norm_except_dim(v, pow=2, dim=0):  # noqa: A002
    """The p-norm over every dim but ``dim`` (kept as size-1 dims): weight norm's g; dim=-1 is the whole."""
    if dim == -1:
        return _ops.norm(v, pow)
    dims = tuple(d for d in range(v.ndim) if d != dim % v.ndim)
    return (v.abs() ** pow).sum(dims, keepdim=True) ** (1.0 / pow)


_INTERPOLATION = {0: "bilinear", 1: "nearest", 2: "bicubic"}
_PADDING = {0: "zeros", 1: "border", 2: "reflection"}


def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):  # noqa: A002
    return F.grid_sample(input, grid, _INTERPOLATION[interpolation_mode], _PADDING[padding_mode], align_corners)


grid_sampler_2d = grid_sampler_3d = grid_sampler


def affine_grid_generator(theta, size, align_corners):
    return F.affine_grid(theta, list(size), align_corners)


embedding_renorm_ = F.embedding_renorm_


_EMPTY = {"sum": 0.0, "mean": float("nan"), "max": float("-inf"), "min": float("inf"), "prod": 1.0}


def segment_reduce(data, reduce, *, lengths=None, indices=None, offsets=None, axis=0, unsafe=False,
                   initial=None):
    """Reduce consecutive segments of data along axis 0 (their lengths, or the offsets between them):
    sum, mean, max, min or prod, with PyTorch's value for an empty segment or ``initial`` folded in."""
    if reduce not in _EMPTY:
        raise RuntimeError(f"reduce argument must be either sum, max, min, mean or prod, got {reduce}")
    if indices is not None:
        raise RuntimeError("segment_reduce(): indices based reduction is not supported yet.")
    if lengths is None and offsets is None:
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined")
    if axis != 0 or (lengths is not None and lengths.ndim != 1) or (offsets is not None and offsets.ndim != 1):
        raise NotImplementedError("segment_reduce: only axis=0 with 1-d lengths or offsets is written")
    if lengths is not None:
        sizes = backend.to_host(lengths._data).tolist()
    else:
        bounds = backend.to_host(offsets._data).tolist()
        sizes = [b - a for a, b in zip(bounds, bounds[1:])]
    if not unsafe and (min(sizes, default=0) < 0 or sum(sizes) != data.shape[0]):
        raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to sum to "
                           "data.size(lengths.dim()-1) when !unsafe.")
    rows, start = [], 0
    for size in sizes:
        part = data.narrow(0, start, size)
        start += size
        if size == 0:
            fill = _EMPTY[reduce] if initial is None else initial
            rows.append(data.new_full(tuple(data.shape[1:]), fill))
            continue
        if reduce == "sum":
            value = part.sum(0) + (initial or 0.0)
        elif reduce == "mean":
            value = (part.sum(0) + (initial or 0.0)) / size
        elif reduce == "prod":
            value = part.prod(0) * (1.0 if initial is None else initial)
        else:
            pick = _ops.amax if reduce == "max" else _ops.amin
            value = pick(part, 0)
            if initial is not None:
                value = (_ops.maximum if reduce == "max" else _ops.minimum)(value, data.new_full((), initial))
        rows.append(value)
    return _ops.stack(rows, 0) if rows else data.new_zeros(0, *data.shape[1:])
