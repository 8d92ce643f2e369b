"""Grouped (depthwise included) 2-d and all 3-d convolutions with stride 1 on the CPU, on flat padded grids.

With stride 1, output position (y, x) of an image reads the padded input at (y + i*dh, x + j*dw).
On the padded planes flattened, one channel's planes in a row, kernel offset (i, j) is a single
shift ``s = i*dh*Wp + j*dw`` along that row (for volumes, ``s`` adds ``i*dd*Hp*Wp``): so each offset's
columns are one contiguous slice of every channel's row (im2col is one contiguous copy per offset),
and col2im one contiguous shifted add per offset. The strided window copies and adds they replace,
of (C, N, OH, OW) blocks in runs of OW values, ran at ~0.6-1 ns a value. A depthwise convolution (one
output per channel) needs no columns at all: each offset is one scaled shifted row
(``FlatPlanes.depthwise``).

Outputs are computed over the whole padded grid (Hp*Wp positions per image instead of OH*OW: 13 %
more for a 32x32 plane with padding 1). Those past an image's last output row or column read into
the next row or image; they are dropped from the output, and in backward their gradient is zero, so
they add nothing to the weight gradient, and nothing to the next image's input gradient.

That makes every image independent, so the work goes a chunk of images at a time, as the
image-by-image Conv2d does, and within a chunk a piece of positions at a time, about ``CHUNK_BYTES``
of columns (several images a piece for small planes; a piece of one image for large volumes): the
columns stay in the cache between their copy and the matrix product, and backward rebuilds them
from the kept input instead of holding the batch's, kernel-size times the input. Pieces of 4 MB
measured about even with 2 MB (1 MB: 10-25 % slower; 16 MB: 15-60 % slower) on 2-d depthwise and
grouped 3x3 convolutions of 32 to 128 pixels a side, and 10-15 % faster on 3x3x3 volumes.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..autograd import Node
from .buffer_pool import workspace

CHUNK_BYTES = 4 << 20
FEWEST_POSITIONS = 256  # in a piece: below that the per-piece numpy calls cost more than the cache saves


class FlatPlanes:
    """One convolution's flat padded grids (planes, or volumes for Conv3d): their geometry, and the
    copies into and out of them for a chunk of images; buffers for a chunk come from the workspace
    (``release`` gives them back)."""

    def __init__(self, x_shape, kernel, pads, dilation, dtype, out_channels, gradients=False):
        n, c = x_shape[:2]
        self.x_shape = x_shape
        self.padded = tuple(size + lo + hi for size, (lo, hi) in zip(x_shape[2:], pads))
        self.out_sizes = tuple(p - d * (k - 1) for p, k, d in zip(self.padded, kernel, dilation))
        self.inside = tuple(slice(lo, lo + size) for size, (lo, _) in zip(x_shape[2:], pads))
        # flat strides of the padded grid, and the offsets in the weight's (kd, kh, kw) order (the first is 0)
        strides = [math.prod(self.padded[axis + 1:]) for axis in range(len(self.padded))]
        self.shifts = [sum(i * d * stride for i, d, stride in zip(index, dilation, strides))
                       for index in itertools.product(*(range(k) for k in kernel))]
        self.cell = cell = math.prod(self.padded)
        piece = max(FEWEST_POSITIONS, CHUNK_BYTES // (c * len(self.shifts) * dtype.itemsize))
        self.step = max(1, min(n, piece // cell))          # images a chunk
        self.piece = min(piece, self.step * cell)          # positions a piece of columns
        length = self.step * cell + self.shifts[-1]
        self.flat = workspace.take(np, (c, length), dtype)
        self.cols = workspace.take(np, (c * len(self.shifts) * self.piece,), dtype)
        self.rows = workspace.take(np, (out_channels, self.step * cell), dtype)
        self.grad_flat = workspace.take(np, (c, length), dtype) if gradients else None
        self.grad_cols = workspace.take(np, self.cols.shape, dtype) if gradients else None

    def chunks(self):
        """(start, stop) image ranges of at most ``step`` images."""
        n = self.x_shape[0]
        return [(start, min(start + self.step, n)) for start in range(0, n, self.step)]

    def pieces(self, images):
        """(start, stop) position ranges of at most ``piece`` positions over ``images`` images."""
        size = images * self.cell
        return [(start, min(start + self.piece, size)) for start in range(0, size, self.piece)]

    def _grid(self, flat, m):
        """The (rows, m, *padded) view of flat rows of m images."""
        return flat[:, :m * self.cell].reshape((flat.shape[0], m) + self.padded)

    def load(self, x):
        """Copies the (m, C, ...) images into the zero-padded flat rows."""
        m = x.shape[0]
        flat = self.flat[:, :m * self.cell + self.shifts[-1]]
        flat.fill(0)
        self._grid(flat, m)[(slice(None), slice(None)) + self.inside] = x.swapaxes(0, 1)

    def _column_view(self, buffer, size):
        """A (C, kernel size, size) array at the front of a columns buffer."""
        c = self.flat.shape[0]
        return buffer[:c * len(self.shifts) * size].reshape(c, len(self.shifts), size)

    def columns(self, start, stop):
        """The (C, kernel size, stop - start) columns of the loaded positions [start, stop)."""
        cols = self._column_view(self.cols, stop - start)
        for t, shift in enumerate(self.shifts):
            cols[:, t] = self.flat[:, start + shift:stop + shift]
        return cols

    def depthwise(self, w_taps, start, stop, out):
        """``out`` (C, stop - start): each channel's own kernel ``w_taps`` (C, kernel size) over the
        loaded positions [start, stop), one scaled shifted row per kernel offset, summed. With one output
        per channel there is nothing for a matrix product to share, so no columns are copied: 219
        against 362 us for a chunk of 16 channels, 5,780 positions."""
        scratch = self.cols[:out.size].reshape(out.shape)
        for t, shift in enumerate(self.shifts):  # the first shift is 0
            np.multiply(self.flat[:, start + shift:stop + shift], w_taps[:, t, None], out=scratch if t else out)
            if t:
                out += scratch

    def depthwise_weight_gradient(self, rows, start, stop, out):
        """``out`` (C, kernel size) += each channel's gradient ``rows`` (C, stop - start) dotted with its
        loaded input at every kernel offset (106 against 365 us through columns, as above)."""
        dots = np.empty((len(self.shifts), rows.shape[0], 1, 1), dtype=rows.dtype)
        for t, shift in enumerate(self.shifts):
            np.matmul(rows[:, None, :], self.flat[:, start + shift:stop + shift, None], out=dots[t])
        out += dots[:, :, 0, 0].T

    def add_depthwise(self, w_taps, rows, start, whole):
        """Adjoint of ``depthwise``: adds each offset's scaled gradient ``rows`` into the input gradient's
        flat rows; ``whole``: they are the chunk's only piece (``start`` 0), the first offset writes."""
        stop = start + rows.shape[1]
        flat = self.grad_flat
        scratch = self.grad_cols[:rows.size].reshape(rows.shape)
        for t, shift in enumerate(self.shifts):
            if whole and t == 0:
                np.multiply(rows, w_taps[:, 0, None], out=flat[:, :stop])
                flat[:, stop:stop + self.shifts[-1]] = 0
                continue
            np.multiply(rows, w_taps[:, t, None], out=scratch)
            flat[:, start + shift:stop + shift] += scratch

    def gradient_columns(self, size):
        """Room for (C, kernel size, size) column gradients."""
        return self._column_view(self.grad_cols, size)

    def write_output(self, m, out):
        """The chunk's (O, m * padded size) results over the padded grid -> ``out`` (m, O, *out_sizes)."""
        kept = tuple(slice(0, size) for size in self.out_sizes)
        np.copyto(out, self._grid(self.rows, m)[(slice(None), slice(None)) + kept].swapaxes(0, 1))

    def load_gradient(self, grad):
        """(m, O, *out_sizes) output gradient -> the chunk's rows over the padded grid, zero at the
        dropped positions (past the last output along any axis); the input gradient's rows zeroed."""
        m = grad.shape[0]
        grid = self._grid(self.rows, m)
        lead = (slice(None), slice(None))
        for axis, size in enumerate(self.out_sizes):
            grid[lead + tuple(slice(0, s) for s in self.out_sizes[:axis]) + (slice(size, None),)] = 0
        grid[lead + tuple(slice(0, size) for size in self.out_sizes)] = grad.swapaxes(0, 1)
        if self.grad_flat is not None and len(self.pieces(m)) > 1:  # one piece writes them whole
            self.grad_flat[:, :m * self.cell + self.shifts[-1]].fill(0)

    def add_columns(self, grad_cols, start, whole):
        """Adjoint of ``columns``: adds the column gradients of positions [start, ...) into the input
        gradient's flat rows; ``whole``: they are the chunk's only piece, the first offset writes."""
        stop = start + grad_cols.shape[2]
        flat = self.grad_flat
        if whole:
            flat[:, :stop] = grad_cols[:, 0]
            flat[:, stop:stop + self.shifts[-1]] = 0
        for t, shift in enumerate(self.shifts[1:] if whole else self.shifts, 1 if whole else 0):
            flat[:, start + shift:stop + shift] += grad_cols[:, t]

    def write_input_gradient(self, grad_x):
        """The chunk's input gradient rows -> ``grad_x`` (m, C, ...)."""
        grid = self._grid(self.grad_flat, grad_x.shape[0])
        np.copyto(grad_x, grid[(slice(None), slice(None)) + self.inside].swapaxes(0, 1))

    def release(self):
        for buffer in (self.flat, self.cols, self.rows, self.grad_flat, self.grad_cols):
            workspace.give(buffer)


def grouped_column_gradients(xp, weight, grad_rows, groups, out=None):
    """The column gradients ``W_g^T @ grad_g`` of every group: weight (O, C/g, kh, kw) and grad_rows
    (O, L) -> (g, C/g*kh*kw, L). With one output channel per group (depthwise) each is an outer
    product, which numpy's matmul runs ~7x slower than a broadcast multiply (inner dimension 1)."""
    o = weight.shape[0]
    w_t = weight.reshape(groups, o // groups, -1).transpose(0, 2, 1)
    rows = grad_rows.reshape(groups, o // groups, -1)
    if o == groups and xp is np:
        return np.multiply(w_t, rows, out=out)
    return xp.matmul(w_t, rows, out=out)


def forward(node, x, weight, bias):
    """The convolution node's forward on flat grids; keeps x on the node for ``backward``."""
    o, cg = weight.shape[:2]
    groups, k = node.groups, math.prod(weight.shape[2:])
    planes = FlatPlanes(x.shape, weight.shape[2:], node.pads, node.dilation, x.dtype, o)
    out = workspace.lend((x.shape[0], o) + planes.out_sizes, x.dtype)
    w_groups = weight.reshape(groups, o // groups, cg * k)
    row_groups = planes.rows.reshape(groups, o // groups, -1)
    depthwise = _depthwise(weight, groups)  # FlatPlanes.depthwise: no columns
    w_taps = weight.reshape(o, k) if depthwise else None   # each channel's kernel
    for start, stop in planes.chunks():
        planes.load(x[start:stop])
        for begin, end in planes.pieces(stop - start):
            if depthwise:
                planes.depthwise(w_taps, begin, end, planes.rows[:, begin:end])
                continue
            cols = planes.columns(begin, end)
            np.matmul(w_groups, cols.reshape(groups, cg * k, end - begin), out=row_groups[:, :, begin:end])
        if bias is not None:
            planes.rows[:, :(stop - start) * planes.cell] += bias[:, None]
        planes.write_output(stop - start, out[start:stop])
    planes.release()
    node.x, node.weight = x, weight
    return out


def backward(node, grad, want_x):
    """The node's gradients, (grad_x or None, grad_weight[, grad_bias] with a bias), the columns rebuilt
    a piece at a time."""
    x, weight, groups = node.x, node.weight, node.groups
    o, cg = weight.shape[:2]
    k = math.prod(weight.shape[2:])
    dtype = grad.dtype
    planes = FlatPlanes(x.shape, weight.shape[2:], node.pads, node.dilation, dtype, o, gradients=want_x)
    grad_x = workspace.lend(x.shape, dtype) if want_x else None
    grad_weight = np.zeros((groups, o // groups, cg * k), dtype=dtype)
    grad_bias = np.zeros(o, dtype=dtype) if node.has_bias else None
    depthwise = _depthwise(weight, groups)
    if depthwise:  # each channel's kernel, and a view of its gradient, which the taps add into
        w_taps, grad_taps = weight.reshape(o, k), grad_weight.reshape(o, k)
    for start, stop in planes.chunks():
        planes.load(x[start:stop])
        planes.load_gradient(grad[start:stop])
        if grad_bias is not None:
            grad_bias += planes.rows[:, :(stop - start) * planes.cell].sum(axis=1)
        pieces = planes.pieces(stop - start)
        for begin, end in pieces:
            rows = planes.rows[:, begin:end]
            if depthwise:
                planes.depthwise_weight_gradient(rows, begin, end, grad_taps)
                if want_x:
                    planes.add_depthwise(w_taps, rows, begin, whole=len(pieces) == 1)
                continue
            cols = planes.columns(begin, end)
            # columns @ gradient^T, transposed: OpenBLAS runs it 17-43 % faster than gradient @ columns^T
            # here (Conv3d's 54 x 25,920 by 8: 666 against 1,116 us; 4 groups of 8 by 36: 603 against 954)
            grad_weight += np.matmul(cols.reshape(groups, cg * k, end - begin),
                                     rows.reshape(groups, o // groups, end - begin).transpose(0, 2, 1)
                                     ).transpose(0, 2, 1)
            if want_x:
                grad_cols = planes.gradient_columns(end - begin)
                grouped_column_gradients(np, weight, rows, groups, out=grad_cols.reshape(groups, cg * k, end - begin))
                planes.add_columns(grad_cols, begin, whole=len(pieces) == 1)
        if want_x:
            planes.write_input_gradient(grad_x[start:stop])
    planes.release()
    grads = (grad_x, grad_weight.reshape(weight.shape))
    return grads + (grad_bias,) if node.has_bias else grads


def _depthwise(weight, groups):
    """One output channel per group of one input channel: each channel convolved with its own kernel."""
    return weight.shape[1] == 1 and weight.shape[0] == groups


class Conv3d(Node):
    """x (N, C, D, H, W), weight (O, C/g, kd, kh, kw), optional bias (O,) -> (N, O, OD, OH, OW), with
    stride 1 on the CPU (``nn.functional.conv3d`` composes the other cases)."""

    def __init__(self, pads, dilation, groups, has_bias):
        self.stride, self.pads, self.dilation = (1, 1, 1), pads, dilation
        self.groups, self.has_bias = groups, has_bias

    def forward(self, x, weight, bias=None):
        return forward(self, x, weight, bias)

    def backward(self, grad):
        return backward(self, grad, self.inputs is None or self.inputs[0].requires_grad)
