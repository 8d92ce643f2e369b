"""Spatial ``torch.nn.functional``: interpolate (nearest, linear, bilinear, trilinear; align_corners),
pixel_shuffle / pixel_unshuffle, and unfold / fold (im2col and its adjoint).

interpolate and unfold read the input through index arrays and blend with weights, so their gradients
are those of indexing and arithmetic; fold is unfold's adjoint and has a node of its own.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from .. import ops as _ops
from ..autograd import Node
from ..ops import pool as _pool
from ..ops import pool_adaptive as _pool_adaptive
from ..ops.common import apply as _apply
from ..ops.common import xp_of as _xp_of
from ..tensor import Tensor as _Tensor

_MODES = {"nearest": None, "nearest-exact": None, "linear": 1, "bilinear": 2, "trilinear": 3}


def _index(values, like: _Tensor) -> _Tensor:
    return _Tensor._wrap(backend.to_device_array(np.asarray(values, dtype=np.int64), like.device))


def _weights(values, like: _Tensor) -> _Tensor:
    return _Tensor._wrap(backend.to_device_array(np.asarray(values, dtype=like._data.dtype), like.device))


def _along(axis, item):
    return (slice(None),) * axis + (item,)


def _source_coordinates(out_size, in_size, scale, align_corners, dtype=np.float64):
    """Where each output position samples the input, in input pixels (PyTorch's area-pixel rule), in
    the arithmetic PyTorch's kernel uses: float32 for float32 inputs (on long axes float64 moved the
    blend weights by up to 3e-4), float64 otherwise."""
    real = np.float32 if np.dtype(dtype) == np.float32 else np.float64
    dst = np.arange(out_size, dtype=real)
    if align_corners:
        return dst * (real(in_size - 1) / real(out_size - 1)) if out_size > 1 else np.zeros(out_size, real)
    ratio = real(1.0 / scale) if scale else real(in_size) / real(out_size)
    # scale * (dst + 0.5) - 0.5 with one rounding, as the compiled kernel's fused multiply-add gives it
    # (two float32 roundings put 5 of 1,500 weights 1e-4 off PyTorch's): exact in float64, then rounded
    src = ((dst + real(0.5)).astype(np.float64) * np.float64(ratio) - 0.5).astype(real)
    return np.maximum(src, real(0))


def _resize_linear(x: _Tensor, axis: int, out_size: int, scale, align_corners, finite: bool) -> _Tensor:
    """One axis resized by linear interpolation; ``finite``: x is a CPU float array without inf or NaN
    (checked once for all axes: blends of finite values stay finite)."""
    in_size = x.shape[axis]
    data = x._data
    src = _source_coordinates(out_size, in_size, scale, align_corners, data.dtype)
    low = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    high = np.minimum(low + 1, in_size - 1)
    frac = src - low.astype(src.dtype)
    if finite and in_size <= _MATRIX_MAX_IN and in_size * out_size <= _MATRIX_MAX_ENTRIES:
        # the same two weights per output position, (1 - w) and w in x's dtype, as rows of a matrix
        w = frac.astype(data.dtype)
        matrix = np.zeros((out_size, in_size), dtype=data.dtype)
        positions = np.arange(out_size)
        np.add.at(matrix, (positions, low), 1 - w)
        np.add.at(matrix, (positions, high), w)
        return _apply(ResampleAlongAxis(matrix, axis), x)
    shape = [1] * x.ndim
    shape[axis] = out_size
    w = _weights(frac.reshape(shape), x)
    return x[_along(axis, _index(low, x))] * (1 - w) + x[_along(axis, _index(high, x))] * w


_BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# The product costs in_size multiply-adds per output value, the gathers a fixed few passes: measured
# (bilinear, forward + backward) 0.6 against 2.5 ms for 64 -> 128, 78 against 170 ms for 512 -> 1024.
# Beyond these sizes the gathers are kept (and the matrix, out x in, stays under 16 MiB in float32).
_MATRIX_MAX_IN = 1024
_MATRIX_MAX_ENTRIES = 1 << 22


class ResampleAlongAxis(Node):
    """``x`` resampled along one axis by a fixed (out, in) matrix: linear interpolation, whose rows
    hold each output position's two weights. One matrix product forward and one back (over the last
    axis a plain GEMM, over another a batched one), where gathering the two neighbours and blending
    them took two gathers, three elementwise passes and, backward, a segment sum per gather (bilinear
    upsampling ran 2.7x PyTorch's step).

    Only for finite CPU inputs (``interpolate`` checks): the product also multiplies every other
    value of the row by zero, which an inf or NaN there would turn into NaN."""

    def __init__(self, matrix, axis):
        self.matrix, self.axis = matrix, axis

    def _split(self, shape):
        """(values before the axis, the axis, values after it)."""
        return math.prod(shape[:self.axis]), shape[self.axis], math.prod(shape[self.axis + 1:])

    def _apply_matrix(self, a, x, out_shape):
        lead, n, rest = self._split(x.shape)
        if rest == 1:
            return (x.reshape(lead, n) @ a.T).reshape(out_shape)
        return np.matmul(a, x.reshape(lead, n, rest)).reshape(out_shape)

    def forward(self, x):
        self.in_shape = x.shape
        out_shape = x.shape[:self.axis] + (self.matrix.shape[0],) + x.shape[self.axis + 1:]
        return self._apply_matrix(self.matrix, x, out_shape)

    def backward(self, g):
        return self._apply_matrix(self.matrix.T, g, self.in_shape)


def _nearest_sources(in_size: int, out_size: int, scale, exact: bool):
    """The input position each output position copies, as PyTorch's kernel picks it (in float32)."""
    ratio = np.float32((1.0 / scale) if scale else in_size / out_size)
    dst = np.arange(out_size, dtype=np.float32)
    src = np.floor((dst + np.float32(0.5)) * ratio) if exact else np.floor(dst * ratio)
    return np.minimum(src.astype(np.int64), in_size - 1)


def _whole_factor(sources, in_size: int) -> int:
    """k where ``sources`` is every input position k times in a row (whole-factor upsampling), else 0."""
    count = len(sources) // in_size if in_size else 0
    if count < 1 or count * in_size != len(sources):
        return 0
    return count if np.array_equal(sources, np.repeat(np.arange(in_size), count)) else 0


def _resize_nearest(x: _Tensor, sizes, scales, exact: bool) -> _Tensor:
    """Nearest resizing of every spatial axis: axes resized by a whole factor (each input position k
    times in a row, the usual upsampling) as one repeat node, any other axis by indexing."""
    runs, others = [], []
    for axis, (out_size, scale) in enumerate(zip(sizes, scales), start=2):
        sources = _nearest_sources(x.shape[axis], out_size, scale, exact)
        count = _whole_factor(sources, x.shape[axis])
        if count:
            runs.append((axis, count))
        else:
            others.append((axis, sources))
    if any(count > 1 for _, count in runs):
        x = _ops.rearrange.repeat_runs(x, runs)
    else:  # nothing grows by a whole factor: index those axes too (a copy, as PyTorch returns one)
        others = sorted(others + [(axis, np.arange(x.shape[axis])) for axis, _ in runs])
    for axis, sources in others:
        x = x[_along(axis, _index(sources, x))]
    return x


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,  # noqa: A002
                recompute_scale_factor=None, antialias=False):
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode '{mode}' is not supported here; use nearest, "
                                  "nearest-exact, linear, bilinear or trilinear")
    spatial = input.ndim - 2
    if spatial < 1:
        raise ValueError(f"interpolate expects a batched (N, C, ...) input, got shape {tuple(input.shape)}")
    wanted = _MODES[mode]
    if wanted is not None and wanted != spatial:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {wanted + 2}D input")
    if align_corners is not None and wanted is None:
        raise ValueError("align_corners option can only be set with the interpolating modes: linear | "
                         "bilinear | bicubic | trilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        sizes = [int(size)] * spatial if isinstance(size, int) else [int(s) for s in size]
        scales = [None] * spatial
    else:
        factors = [float(scale_factor)] * spatial if isinstance(scale_factor, (int, float)) \
            else [float(f) for f in scale_factor]
        sizes = [int(math.floor(n * f)) for n, f in zip(input.shape[2:], factors)]
        scales = [None] * spatial if recompute_scale_factor else factors
    if len(sizes) != spatial:
        raise ValueError(f"size shape must match input shape. Input is {spatial}D, size is {len(sizes)}")
    if min(sizes) <= 0 or min(input.shape[2:]) <= 0:
        names = ("D", "H", "W")[-spatial:] if spatial <= 3 else [f"dim {k}" for k in range(2, input.ndim)]
        given = ", ".join(f"{name}: {n}" for name, n in zip(names, input.shape[2:]))
        wanted_sizes = ", ".join(f"{name}: {n}" for name, n in zip(names, sizes))
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({given}) "
                           f"output ({wanted_sizes})")
    if wanted is None:
        return _resize_nearest(input, sizes, scales, mode == "nearest-exact")
    data = input._data
    finite = type(data) is np.ndarray and data.dtype in _BLAS_DTYPES and bool(np.isfinite(data).all())
    out = input
    for axis, (n, scale) in enumerate(zip(sizes, scales), start=2):
        out = _resize_linear(out, axis, n, scale, bool(align_corners), finite)
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):  # noqa: A002
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):  # noqa: A002
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input, size=None, scale_factor=None):  # noqa: A002
    return interpolate(input, size, scale_factor, "bilinear", align_corners=True)


def pixel_shuffle(input, upscale_factor: int):  # noqa: A002
    r = int(upscale_factor)
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
                           f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor: int):  # noqa: A002
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by downscale_factor, "
                           f"but input.size(-2)={h} and input.size(-1)={w} are not divisible by {r}")
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def _pair(value, name):
    if isinstance(value, int):
        return value, value
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value}")
    return value


def _patch_grid(size, kernel, dilation, padding, stride):
    """(rows, cols) index grids of every patch position, shaped (k, 1, L, 1) and (1, k, 1, L)."""
    blocks = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, d, p, s in zip(size, kernel, dilation, padding, stride)]
    if min(blocks) <= 0:
        raise RuntimeError(f"Given input with spatial size {tuple(size)}, kernel_size={kernel}, "
                           f"dilation={dilation}, padding={padding}, calculated shape of the array of sliding "
                           f"blocks as {tuple(blocks)}, but its components must be at least one.")
    rows = np.arange(kernel[0])[:, None] * dilation[0] + np.arange(blocks[0])[None, :] * stride[0]
    cols = np.arange(kernel[1])[:, None] * dilation[1] + np.arange(blocks[1])[None, :] * stride[1]
    return rows[:, None, :, None], cols[None, :, None, :], blocks


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """im2col: (N, C, H, W) -> (N, C * kh * kw, L), every kernel-sized block as a column."""
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.ndim}D)")
    batched = input.ndim == 4
    x = input if batched else input.unsqueeze(0)
    kernel, dilation, padding, stride = (_pair(v, n) for v, n in ((kernel_size, "kernel_size"), (dilation, "dilation"),
                                                                 (padding, "padding"), (stride, "stride")))
    if any(padding):
        x = _ops.pad(x, (padding[1], padding[1], padding[0], padding[0]))
    rows, cols, blocks = _patch_grid(input.shape[-2:], kernel, dilation, padding, stride)
    patches = x[:, :, _index(rows, x), _index(cols, x)]  # (N, C, kh, kw, bh, bw)
    out = patches.reshape(x.shape[0], x.shape[1] * kernel[0] * kernel[1], blocks[0] * blocks[1])
    return out if batched else out.squeeze(0)


class _Fold(Node):
    """col2im: columns of blocks summed back into place (the adjoint of unfold)."""

    def __init__(self, shape, rows, cols, padding):
        self.shape, self.rows, self.cols, self.padding = shape, rows, cols, padding

    def forward(self, columns):
        xp = _xp_of(columns)
        n, c, h, w = self.shape
        ph, pw = self.padding
        out = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=columns.dtype)
        xp.add.at(out, (slice(None), slice(None), self.rows, self.cols), columns)
        return out[:, :, ph:ph + h, pw:pw + w]

    def backward(self, g):
        xp = _xp_of(g)
        ph, pw = self.padding
        g = xp.pad(g, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else g
        return g[:, :, self.rows, self.cols]


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    if input.ndim not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are "
                                  f"supported (got {input.ndim}D)")
    batched = input.ndim == 3
    cols_in = input if batched else input.unsqueeze(0)
    size, kernel, dilation, padding, stride = (_pair(v, n) for v, n in (
        (output_size, "output_size"), (kernel_size, "kernel_size"), (dilation, "dilation"),
        (padding, "padding"), (stride, "stride")))
    rows, cols, blocks = _patch_grid(size, kernel, dilation, padding, stride)
    k = kernel[0] * kernel[1]
    n, ck, length = cols_in.shape
    if ck % k or length != blocks[0] * blocks[1]:
        raise RuntimeError(f"fold: expected the input's size(1)={ck} to be divisible by the kernel's "
                           f"{k} positions and size(2)={length} to be the {blocks[0] * blocks[1]} blocks "
                           f"that fit in output_size={size}")
    columns = cols_in.reshape(n, ck // k, kernel[0], kernel[1], blocks[0], blocks[1])
    rows, cols = (backend.to_device_array(g, input.device) for g in (rows, cols))
    out = _apply(_Fold((n, ck // k) + size, rows, cols, padding), columns)
    return out if batched else out.squeeze(0)


# ------------------------------------------------------------------------------ 1-d forms and adaptive max
def adaptive_max_pool2d(input, output_size, return_indices: bool = False):  # noqa: A002
    """The largest value of each adaptive bin (PyTorch's bins); the gradient goes to it. With
    return_indices, also where it is (flat over the input's last two dims, the first on ties)."""
    sizes = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    h, w = input.shape[-2:]
    sizes = tuple(n if s is None else s for s, n in zip(sizes, (h, w)))
    if (input.ndim == 4 and input.numel() and min(sizes) > 0 and h % sizes[0] == 0 and w % sizes[1] == 0
            and not return_indices):
        # Bins that tile the plane evenly are max pooling with kernel = stride = the bin: one fused node
        # whose gradient goes to the first maximum of each bin, as PyTorch's adaptive pooling sends it.
        kernel = (h // sizes[0], w // sizes[1])
        return _apply(_pool.MaxPool2d(kernel, kernel, (0, 0), (1, 1), False), input)
    return _pool_adaptive.adaptive_max_pool(input, sizes, return_indices, "adaptive_max_pool2d")


def adaptive_max_pool1d(input, output_size, return_indices: bool = False):  # noqa: A002
    size = output_size if isinstance(output_size, int) else output_size[0]
    return _pool_adaptive.adaptive_max_pool(input, (size,), return_indices, "adaptive_max_pool1d")
