"""3-d convolution and pooling (``conv3d``, ``max_pool3d``, ``avg_pool3d``, ``adaptive_avg_pool3d``).

A stride-1 ``conv3d`` on the CPU is one graph node on flat padded volumes (``ops/conv_flat.py``).
Otherwise volumes are read as kernel-sized patches through one advanced index (so the gradient is
indexing's, a scatter-add), then contracted with the weights by a matmul or reduced by max/mean.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from .. import ops as _ops
from ..ops import conv_flat as _conv_flat
from ..ops import pool_adaptive as _pool_adaptive
from ..ops.common import apply as _apply
from ..ops.pool import pool_output_size
from ..tensor import Tensor as _Tensor


def _triple(value, name):
    if isinstance(value, (int, np.integer)):
        return (int(value),) * 3
    value = tuple(int(v) for v in value)
    if len(value) != 3:
        raise ValueError(f"{name} must be an int or a tuple of 3 ints, got {value}")
    return value


def _patches(x, kernel, stride, dilation, out_sizes):
    """(N, C, kd, kh, kw, od, oh, ow): every kernel-sized window of the (already padded) volume."""
    grids = []
    for axis, (k, s, d, o) in enumerate(zip(kernel, stride, dilation, out_sizes)):
        positions = np.arange(k)[:, None] * d + np.arange(o)[None, :] * s  # (k, o)
        shape = [1] * 6
        shape[axis], shape[axis + 3] = k, o
        grids.append(_Tensor._wrap(backend.to_device_array(positions.reshape(shape), x.device)))
    return x[:, :, grids[0], grids[1], grids[2]]


def _batched(input, name):
    if input.ndim not in (4, 5):
        raise RuntimeError(f"{name}: expected a 4D (unbatched) or 5D (batched) input, but got input of shape "
                           f"{tuple(input.shape)}")
    return (input, True) if input.ndim == 5 else (input.unsqueeze(0), False)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    x, batched = _batched(input, "conv3d")
    kernel, stride, dilation = tuple(weight.shape[2:]), _triple(stride, "stride"), _triple(dilation, "dilation")
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"Invalid padding string '{padding}', should be one of ['valid', 'same']")
        totals = [0 if padding == "valid" else d * (k - 1) for k, d in zip(kernel, dilation)]
        pads = [(t // 2, t - t // 2) for t in totals]
    else:
        pads = [(p, p) for p in _triple(padding, "padding")]
    from .functional import _check_same_dtype  # here: functional imports this module

    _check_same_dtype("conv3d", input, weight, bias)
    n, c = x.shape[:2]
    if c != weight.shape[1] * groups:
        raise RuntimeError(f"conv3d: weight of shape {list(weight.shape)} with groups={groups} expects input to have "
                           f"{weight.shape[1] * groups} channels, but got input of shape {list(input.shape)}")
    padded_shape = tuple(x.shape[:2]) + tuple(x.shape[2 + i] + sum(pads[i]) for i in range(3))
    if any(padded_shape[2 + i] < dilation[i] * (kernel[i] - 1) + 1 for i in range(3)):
        raise RuntimeError(f"conv3d: the padded input {padded_shape} is smaller than the dilated kernel {kernel}")
    if stride == (1, 1, 1) and type(x._data) is np.ndarray and x._data.dtype.kind == "f":
        node = _conv_flat.Conv3d(tuple(pads), dilation, groups, bias is not None)
        out = _apply(node, x, weight) if bias is None else _apply(node, x, weight, bias)
        return out if batched else out.squeeze(0)
    if any(lo or hi for lo, hi in pads):
        x = _ops.pad(x, [w for lo_hi in reversed(pads) for w in lo_hi])
    out_sizes = [(x.shape[2 + i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1 for i in range(3)]
    patches = _patches(x, kernel, stride, dilation, out_sizes)  # (N, C, kd, kh, kw, od, oh, ow)
    k = math.prod(kernel)
    length = math.prod(out_sizes)
    columns = patches.reshape(n, groups, (c // groups) * k, length)
    out_channels = weight.shape[0]
    w = weight.reshape(1, groups, out_channels // groups, (c // groups) * k)
    out = _ops.matmul(w, columns).reshape(n, out_channels, *out_sizes)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return out if batched else out.squeeze(0)


def _pool_patches(input, kernel_size, stride, padding, dilation, ceil_mode, fill, name):
    x, batched = _batched(input, name)
    kernel = _triple(kernel_size, "kernel_size")
    no_stride = stride is None or (not isinstance(stride, int) and len(stride) == 0)
    stride = kernel if no_stride else _triple(stride, "stride")
    padding, dilation = _triple(padding, "padding"), _triple(dilation, "dilation")
    for p, k in zip(padding, kernel):
        if p > k // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, kernel_size={k}")
    sizes = [pool_output_size(x.shape[2 + i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode)
             for i in range(3)]
    if min(sizes) < 1:
        raise RuntimeError(f"{name}: output size is too small for input of shape {tuple(input.shape)}")
    needed = [(o - 1) * s + d * (k - 1) + 1 for o, s, d, k in zip(sizes, stride, dilation, kernel)]
    widths = []
    for i in reversed(range(3)):
        extra = max(needed[i] - (x.shape[2 + i] + 2 * padding[i]), 0)
        widths += [padding[i], padding[i] + extra]
    padded = _ops.pad(x, widths, value=fill) if any(widths) else x
    return _patches(padded, kernel, stride, dilation, sizes), batched, (kernel, stride, padding, sizes, x)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    if return_indices:  # the values read at the indices, so the gradient goes to them, as PyTorch's
        from .functional_unpool import max_pool3d_indices

        x, batched = _batched(input, "max_pool3d")
        kernel = _triple(kernel_size, "kernel_size")
        no_stride = stride is None or (not isinstance(stride, int) and len(stride) == 0)
        indices = max_pool3d_indices(x, kernel, kernel if no_stride else _triple(stride, "stride"),
                                     _triple(padding, "padding"), _triple(dilation, "dilation"), ceil_mode)
        n, c = x.shape[:2]
        values = x.reshape(n, c, -1).gather(2, indices.reshape(n, c, -1)).reshape(indices.shape)
        return (values, indices) if batched else (values.squeeze(0), indices.squeeze(0))
    patches, batched, _ = _pool_patches(input, kernel_size, stride, padding, dilation, ceil_mode, float("-inf"),
                                        "max_pool3d")
    out = _ops.amax(patches, (2, 3, 4))
    return out if batched else out.squeeze(0)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    patches, batched, (kernel, stride_, padding_, sizes, x) = _pool_patches(
        input, kernel_size, stride, padding, 1, ceil_mode, 0.0, "avg_pool3d")
    total = patches.sum((2, 3, 4))
    if divisor_override is not None:
        out = total / divisor_override
    else:
        # each window's divisor: its positions inside the input (and inside the padding when counted)
        counts = []
        for i in range(3):
            start = np.arange(sizes[i]) * stride_[i] - padding_[i]
            end = np.minimum(start + kernel[i], x.shape[2 + i] + padding_[i])
            lo, hi = (start, end) if count_include_pad else (np.maximum(start, 0), np.minimum(end, x.shape[2 + i]))
            counts.append(hi - lo)
        divisor = counts[0][:, None, None] * counts[1][None, :, None] * counts[2][None, None, :]
        out = total / _Tensor._wrap(backend.to_device_array(divisor.astype(x._data.dtype), x.device))
    return out if batched else out.squeeze(0)


def adaptive_avg_pool3d(input, output_size):  # noqa: A002
    x, batched = _batched(input, "adaptive_avg_pool3d")
    if isinstance(output_size, (tuple, list)):
        sizes = tuple(n if s is None else s for s, n in zip(output_size, x.shape[2:]))
    else:
        sizes = _triple(output_size, "output_size")
    out = x
    for axis, size in zip((2, 3, 4), sizes):  # the bins of each axis in turn (averages separate)
        bins = _pool_adaptive.adaptive_bins(out.shape[axis], size)
        out = _ops.stack([out.narrow(axis, lo, hi - lo).mean(axis) for lo, hi in bins], axis)
    return out if batched else out.squeeze(0)


def _spread(x, axis: int, stride: int):
    """Insert stride - 1 zeros between neighbours along axis (differentiably: pad, then reshape)."""
    if stride == 1 or x.shape[axis] == 0:
        return x
    size = x.shape[axis]
    moved = x.movedim(axis, -1).unsqueeze(-1)
    spread = _ops.pad(moved, [0, stride - 1]).reshape(*moved.shape[:-2], size * stride)
    return spread.narrow(-1, 0, (size - 1) * stride + 1).movedim(-1, axis)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    """The adjoint of conv3d: the input spread by the stride, padded by dilation * (k - 1) - padding
    (plus output_padding at the end), convolved with the flipped kernel whose channel axes are swapped.
    Composed of differentiable operations, so every gradient is theirs."""
    x, batched = _batched(input, "conv_transpose3d")
    stride, dilation = _triple(stride, "stride"), _triple(dilation, "dilation")
    padding, output_padding = _triple(padding, "padding"), _triple(output_padding, "output_padding")
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= max(s, d):
            raise RuntimeError(f"conv_transpose3d: output padding must be smaller than either stride or dilation, "
                               f"but got output_padding={output_padding}, stride={stride}, dilation={dilation}")
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(f"conv_transpose3d: weight of shape {list(weight.shape)} expects {weight.shape[0]} input "
                           f"channels, but got input of shape {list(input.shape)}")
    if weight.ndim != 5:
        raise RuntimeError(f"conv_transpose3d: expected a 5D weight, but got weight of shape {list(weight.shape)}")
    kernel = tuple(weight.shape[2:])
    for i in range(3):
        x = _spread(x, 2 + i, stride[i])
    widths = []
    for i in reversed(range(3)):
        edge = dilation[i] * (kernel[i] - 1) - padding[i]
        widths += [edge, edge + output_padding[i]]
    if any(w < 0 for w in widths):  # more padding than the kernel reaches: crop instead
        for i in range(3):
            lo, hi = -min(widths[4 - 2 * i], 0), -min(widths[5 - 2 * i], 0)
            x = x.narrow(2 + i, lo, x.shape[2 + i] - lo - hi)
        widths = [max(w, 0) for w in widths]
    if any(widths):
        x = _ops.pad(x, widths)
    c_in, c_out = weight.shape[0], weight.shape[1] * groups
    flipped = weight.flip((2, 3, 4)).reshape(groups, c_in // groups, c_out // groups, *kernel)
    kernel_t = flipped.transpose(1, 2).reshape(c_out, c_in // groups, *kernel)
    out = conv3d(x, kernel_t, bias, 1, 0, dilation, groups)
    return out if batched else out.squeeze(0)


def adaptive_max_pool3d(input, output_size, return_indices: bool = False):  # noqa: A002
    """The largest value of each adaptive bin (PyTorch's bins), the gradient to it; with return_indices
    also where it is (flat over D*H*W, the first on ties)."""
    x, _ = _batched(input, "adaptive_max_pool3d")
    if isinstance(output_size, (tuple, list)):
        sizes = tuple(n if s is None else s for s, n in zip(output_size, x.shape[2:]))
    else:
        sizes = _triple(output_size, "output_size")
    return _pool_adaptive.adaptive_max_pool(input, sizes, return_indices, "adaptive_max_pool3d")
