"""Max pooling's indices (``return_indices=True``) and their inverse, ``max_unpool1d/2d/3d``.

The indices are those PyTorch returns: for each window, the flat position (over H*W of the unpadded
input) of its first largest value in row-major window order. Unpooling scatters values back to those
positions in a zero map, so its gradient reads them back (scatter's gradient).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from .. import ops as _ops
from ..ops.pool import pool_output_size
from ..tensor import Tensor as _Tensor


def max_pool2d_indices(input, kernel, stride, padding, dilation, ceil_mode):  # noqa: A002
    """int64 (N, C, oh, ow): where each window's maximum sits in the input's H*W plane."""
    data = backend.to_host(input._data)
    n, c, h, w = data.shape
    sizes = [pool_output_size(s, k, st, p, d, ceil_mode)
             for s, k, st, p, d in zip((h, w), kernel, stride, padding, dilation)]
    rows = np.arange(sizes[0])[:, None] * stride[0] + np.arange(kernel[0])[None, :] * dilation[0] - padding[0]
    cols = np.arange(sizes[1])[:, None] * stride[1] + np.arange(kernel[1])[None, :] * dilation[1] - padding[1]
    r = rows[:, None, :, None]  # (oh, 1, kh, 1)
    q = cols[None, :, None, :]  # (1, ow, 1, kw)
    valid = (r >= 0) & (r < h) & (q >= 0) & (q < w)
    windows = data[:, :, np.clip(r, 0, h - 1), np.clip(q, 0, w - 1)]  # (N, C, oh, ow, kh, kw)
    windows = np.where(valid, windows, -np.inf)
    flat = windows.reshape(n, c, sizes[0], sizes[1], -1)
    nan = np.isnan(flat)
    best = np.where(nan.any(-1), nan.argmax(-1), flat.argmax(-1))  # a NaN wins, as in PyTorch
    kr, kc = np.divmod(best, kernel[1])
    out_rows = rows[np.arange(sizes[0])[:, None], kr]  # (N, C, oh, ow) by broadcasting
    out_cols = cols[np.arange(sizes[1])[None, :], kc]
    indices = (out_rows * w + out_cols).astype(np.int64)
    return _Tensor._wrap(backend.to_device_array(indices, input.device))


def max_pool3d_indices(input, kernel, stride, padding, dilation, ceil_mode):  # noqa: A002
    """int64 (N, C, od, oh, ow): where each window's maximum sits in the input's D*H*W volume."""
    data = backend.to_host(input._data)
    n, c = data.shape[:2]
    dims = data.shape[2:]
    sizes = [pool_output_size(s, k, st, p, d, ceil_mode)
             for s, k, st, p, d in zip(dims, kernel, stride, padding, dilation)]
    axes = [np.arange(o)[:, None] * st + np.arange(k)[None, :] * d - p
            for o, k, st, p, d in zip(sizes, kernel, stride, padding, dilation)]  # (o_i, k_i) positions
    a = axes[0][:, None, None, :, None, None]
    b = axes[1][None, :, None, None, :, None]
    e = axes[2][None, None, :, None, None, :]
    valid = (a >= 0) & (a < dims[0]) & (b >= 0) & (b < dims[1]) & (e >= 0) & (e < dims[2])
    windows = data[:, :, np.clip(a, 0, dims[0] - 1), np.clip(b, 0, dims[1] - 1), np.clip(e, 0, dims[2] - 1)]
    windows = np.where(valid, windows, -np.inf)  # (N, C, od, oh, ow, kd, kh, kw)
    flat = windows.reshape(n, c, *sizes, -1)
    nan = np.isnan(flat)
    best = np.where(nan.any(-1), nan.argmax(-1), flat.argmax(-1))  # a NaN wins, as in PyTorch
    kd, rest = np.divmod(best, kernel[1] * kernel[2])
    kh, kw = np.divmod(rest, kernel[2])
    grid = np.indices(sizes)
    depth = axes[0][grid[0], kd]
    rows = axes[1][grid[1], kh]
    cols = axes[2][grid[2], kw]
    indices = ((depth * dims[1] + rows) * dims[2] + cols).astype(np.int64)
    return _Tensor._wrap(backend.to_device_array(indices, input.device))


def _unpool(input, indices, spatial: int, kernel_size, stride, padding, output_size):  # noqa: A002
    def tup(v):
        return (int(v),) * spatial if isinstance(v, (int, np.integer)) else tuple(int(x) for x in v)

    kernel = tup(kernel_size)
    stride = kernel if stride is None else tup(stride)
    padding = tup(padding)
    batched = input.ndim == spatial + 2
    x = input if batched else input.unsqueeze(0)
    idx = indices if batched else indices.unsqueeze(0)
    if output_size is None:
        sizes = tuple((x.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + kernel[i] for i in range(spatial))
    else:
        sizes = tuple(output_size)[-spatial:]
    n, c = x.shape[:2]
    plane = int(np.prod(sizes))
    zeros = _ops.scatter(x.new_zeros(n, c, plane), 2, idx.reshape(n, c, -1), x.reshape(n, c, -1))
    out = zeros.reshape(n, c, *sizes)
    return out if batched else out.squeeze(0)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    return _unpool(input, indices, 2, kernel_size, stride, padding, output_size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    return _unpool(input, indices, 1, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    return _unpool(input, indices, 3, kernel_size, stride, padding, output_size)
