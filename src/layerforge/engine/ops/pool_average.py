"""Average pooling kernels over (N, C, H, W): fixed windows (AvgPool2d) and adaptive bins.

Windows that tile the plane exactly (kernel == stride, no padding, sizes divisible: the usual 2x2,
and adaptive pooling whose bins divide the plane) take two shortcuts. Forward sums each window's
columns, then its rows, on shrinking arrays (``_tile_sums``) instead of one strided add per kernel
offset, or numpy's mean over two interleaved axes, which ran one short loop per window. Backward
repeats each share along the row, then copies that row down the window (``_spread``) instead of a
zeroed array and one strided add per offset. Elsewhere the loops run over the kernel offsets, or
over the output cells of uneven adaptive bins (few: adaptive pooling shrinks to small grids).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Node
from .buffer_pool import lent, workspace
from .common import xp_of
from .conv import _window
from .pool import _needed, _padded, pool_output_size
from .pool_adaptive import adaptive_bins

# Windows at least this wide sum their columns by BLAS (rows of kw values times ones) rather than by
# kw - 1 strided adds: (32, 16, 32, 32) in 8x8 windows 664 -> 258 us; 2x2 and 4x4 about even.
BLAS_WIDTH = 8


def _tiles(x_shape, kernel, stride, padding):
    """Whether windows of ``kernel`` tile (H, W) exactly: kernel == stride, no padding, divisible."""
    h, w = x_shape[2:]
    return (tuple(kernel) == tuple(stride) and tuple(padding) == (0, 0)
            and h % kernel[0] == 0 and w % kernel[1] == 0)


def _tile_sums(x, kernel):
    """(N, C, H, W) -> (N, C, H/kh, W/kw): each tile's sum, its columns first, then its rows."""
    xp = xp_of(x)
    (kh, kw), (n, c, h, w) = kernel, x.shape
    oh, ow = h // kh, w // kw
    if xp is np and kw >= BLAS_WIDTH:
        rows = np.ascontiguousarray(x).reshape(-1, kw) @ np.ones(kw, dtype=x.dtype)
    else:
        rows = x[..., 0::kw] + x[..., 1::kw] if kw > 1 else x.copy()
        for j in range(2, kw):
            rows += x[..., j::kw]
    if xp is np and ow == 1 and kh >= BLAS_WIDTH:  # one window across (global pooling): rows of kh
        return (rows.reshape(-1, kh) @ np.ones(kh, dtype=x.dtype)).reshape(n, c, oh, 1)
    rows = rows.reshape(n, c, oh, kh, ow)
    total = rows[:, :, :, 0] + rows[:, :, :, 1] if kh > 1 else rows[:, :, :, 0].copy()
    for i in range(2, kh):
        total += rows[:, :, :, i]
    return total


def _spread(share, kernel, x_shape):
    """``share`` (N, C, OH, OW) -> (N, C, H, W) with each value over its whole tile: repeated along
    the row, then that row copied down the tile, into a ``lent`` array."""
    xp = xp_of(share)
    (kh, kw), (n, c, h, w) = kernel, x_shape
    out = lent(xp, x_shape, share.dtype)
    xp.copyto(out.reshape(n, c, h // kh, kh, w), xp.repeat(share, kw, axis=-1)[:, :, :, None, :])
    return out


class AvgPool2d(Node):
    def __init__(self, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override=None):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def _divisor(self, xp, h, w, out_hw, needed, dtype):
        """How many elements each window averages: padding counts only if asked; the overhang that
        ceil_mode adds never does (as in PyTorch)."""
        if self.divisor_override:
            return dtype.type(self.divisor_override)
        ph, pw = self.padding
        hp, wp = max(needed[0], h + 2 * ph), max(needed[1], w + 2 * pw)
        mask = xp.zeros((hp, wp), dtype=dtype)
        if self.count_include_pad:
            mask[:h + 2 * ph, :w + 2 * pw] = 1
        else:
            mask[ph:ph + h, pw:pw + w] = 1
        (kh, kw), (sh, sw) = self.kernel, self.stride
        oh, ow = out_hw
        counts = xp.zeros(out_hw, dtype=dtype)
        for i in range(kh):
            for j in range(kw):
                counts += mask[_window(i, 1, sh, oh), _window(j, 1, sw, ow)]
        return counts

    def forward(self, x):
        xp = xp_of(x)
        (kh, kw), (sh, sw) = self.kernel, self.stride
        h, w = x.shape[2:]
        oh = pool_output_size(h, kh, sh, self.padding[0], 1, self.ceil_mode)
        ow = pool_output_size(w, kw, sw, self.padding[1], 1, self.ceil_mode)
        needed = _needed((oh, ow), self.kernel, self.stride, (1, 1))
        self.divisor = self._divisor(xp, h, w, (oh, ow), needed, x.dtype)
        self.x_shape = x.shape
        self.tiled = x.dtype.kind == "f" and _tiles(x.shape, self.kernel, self.stride, self.padding)
        if self.tiled:
            total = _tile_sums(x, self.kernel)
            total /= self.divisor
            return total
        padded = _padded(x, self.padding, needed, 0)
        total = xp.zeros(x.shape[:2] + (oh, ow), dtype=x.dtype)
        for i in range(kh):
            rows = _window(i, 1, sh, oh)
            for j in range(kw):
                total += padded[:, :, rows, _window(j, 1, sw, ow)]
        self.padded_shape = padded.shape
        if padded is not x:
            workspace.give(padded)
        return total / self.divisor

    def backward(self, grad):
        xp = xp_of(grad)
        (kh, kw), (sh, sw) = self.kernel, self.stride
        oh, ow = grad.shape[2:]
        share = grad / self.divisor
        if self.tiled:
            return _spread(share, self.kernel, self.x_shape)
        padded = xp.zeros(self.padded_shape, dtype=grad.dtype)
        for i in range(kh):
            rows = _window(i, 1, sh, oh)
            for j in range(kw):
                padded[:, :, rows, _window(j, 1, sw, ow)] += share
        ph, pw = self.padding
        h, w = self.x_shape[2:]
        return padded[:, :, ph:ph + h, pw:pw + w]


def _bin_matrix(xp, bins, size, dtype):
    """(size, bins) of 0 and 1: column j marks the positions bin j covers (adaptive bins overlap)."""
    matrix = np.zeros((size, len(bins)), dtype=dtype)
    for j, (start, stop) in enumerate(bins):
        matrix[start:stop, j] = 1
    return xp.asarray(matrix)


class AdaptiveAvgPool2d(Node):
    """Each output cell averages its bin: bins that divide the plane are tiling windows (above). Other
    bins (which may overlap by a position) sum their columns as one product of the input's rows with
    a 0/1 bin matrix, then their rows with one sum per output row: (32, 16, 28, 28) to 5x5 forward
    941 -> 505 us, backward (the bin matrix transposed, then one add per output row) 1,292 -> 496 us,
    against one mean and one add per output cell. Integer planes keep that loop (float averages)."""

    def __init__(self, output_size):
        self.output_size = output_size

    def forward(self, x):
        xp = xp_of(x)
        h, w = x.shape[2:]
        oh, ow = self.output_size
        self.x_shape = x.shape
        if h % oh == 0 and w % ow == 0:
            if x.dtype.kind != "f":  # (integers average to floats, as numpy's mean gives them)
                return x.reshape(x.shape[:2] + (oh, h // oh, ow, w // ow)).mean(axis=(3, 5))
            total = _tile_sums(x, (h // oh, w // ow))
            total /= x.dtype.type(h // oh * (w // ow))
            return total
        self.rows, self.cols = adaptive_bins(h, oh), adaptive_bins(w, ow)
        if x.dtype.kind == "f":
            columns = xp.ascontiguousarray(x).reshape(-1, w) @ _bin_matrix(xp, self.cols, w, x.dtype)
            columns = columns.reshape(x.shape[:3] + (ow,))
            out = xp.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
            for i, (r0, r1) in enumerate(self.rows):
                xp.sum(columns[:, :, r0:r1], axis=2, out=out[:, :, i])
            out /= self._areas(xp, x.dtype)
            return out
        # integers: float averages, as the tiling bins' mean gives them (the loop had truncated them)
        out = xp.empty(x.shape[:2] + (oh, ow), dtype=np.float64)
        for i, (r0, r1) in enumerate(self.rows):
            for j, (c0, c1) in enumerate(self.cols):
                out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
        return out

    def backward(self, grad):
        xp = xp_of(grad)
        h, w = self.x_shape[2:]
        oh, ow = self.output_size
        if h % oh == 0 and w % ow == 0:
            kernel = (h // oh, w // ow)
            return _spread(grad / grad.dtype.type(kernel[0] * kernel[1]), kernel, self.x_shape)
        out = xp.zeros(self.x_shape, dtype=grad.dtype)
        if grad.dtype.kind == "f":  # each share spread over its bin's columns, then down its rows
            shares = xp.ascontiguousarray(grad / self._areas(xp, grad.dtype)).reshape(-1, ow)
            rows = (shares @ _bin_matrix(xp, self.cols, w, grad.dtype).T).reshape(grad.shape[:3] + (w,))
            for i, (r0, r1) in enumerate(self.rows):
                out[:, :, r0:r1] += rows[:, :, i, None]
            return out
        for i, (r0, r1) in enumerate(self.rows):
            for j, (c0, c1) in enumerate(self.cols):
                area = grad.dtype.type((r1 - r0) * (c1 - c0))
                out[:, :, r0:r1, c0:c1] += (grad[:, :, i, j] / area)[:, :, None, None]
        return out

    def _areas(self, xp, dtype):
        """(OH, OW): how many values each bin averages."""
        heights = np.array([r1 - r0 for r0, r1 in self.rows], dtype=dtype)
        widths = np.array([c1 - c0 for c0, c1 in self.cols], dtype=dtype)
        return xp.asarray(heights[:, None] * widths[None, :])
