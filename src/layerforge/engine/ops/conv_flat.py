"""Grouped convolutions (depthwise included) with stride 1 on the CPU, on flat padded planes.

With stride 1, output position (y, x) of an image reads the padded input at (y + i*dh, x + j*dw).
On the padded planes flattened, one channel's planes in a row, kernel offset (i, j) is a single
shift ``s = i*dh*Wp + j*dw`` along that row: so each offset's columns are one contiguous slice of
every channel's row (im2col is kh*kw contiguous copies), and col2im is kh*kw contiguous shifted adds.
The strided window copies and adds they replace, of (C, N, OH, OW) blocks in runs of OW values, ran
at ~0.6-1 ns a value.

Outputs are computed over the whole padded grid (Hp*Wp positions per image instead of OH*OW: 13 %
more for a 32x32 plane with padding 1). Those past an image's last output row or column read into
the next row or image; they are dropped from the output, and in backward their gradient is zero, so
they add nothing to the weight gradient, and nothing to the next image's input gradient.

That makes every image independent, so the work goes a chunk of images at a time, about
``CHUNK_BYTES`` of columns, as the image-by-image Conv2d does: the padded planes, the columns, the
results and their gradients stay in the cache, only the input and the output (the gradients in
backward) move through memory, and backward rebuilds the columns from the kept input instead of
holding the batch's, kh*kw times the input's size. Chunks of 2 MB measured fastest on a 3x3 depthwise
convolution of (32, 16, 32, 32) (forward + backward 8.0-8.8 ms against 10.5-10.9 with 1 MB and 8.3-8.5
with 4 MB) and about even elsewhere.
"""
from __future__ import annotations

import numpy as np

from .buffer_pool import workspace

CHUNK_BYTES = 2 << 20


class FlatPlanes:
    """One convolution's flat padded planes: their geometry, and the copies into and out of them for a
    chunk of images; buffers for a whole chunk come from the workspace (``release`` gives them back)."""

    def __init__(self, x_shape, kernel, pads, dilation, dtype):
        n, c, h, w = x_shape
        (kh, kw), (dh, dw) = kernel, dilation
        self.x_shape, self.pads, self.dtype = x_shape, pads, dtype
        (pt, pb), (pl, pr) = pads
        self.hp, self.wp = h + pt + pb, w + pl + pr
        self.out_hw = (self.hp - dh * (kh - 1), self.wp - dw * (kw - 1))
        # offsets in the (i, j) order of the weight's last two axes; the first is always 0
        self.shifts = [i * dh * self.wp + j * dw for i in range(kh) for j in range(kw)]
        plane = self.hp * self.wp
        self.step = max(1, min(n, CHUNK_BYTES // (c * len(self.shifts) * plane * dtype.itemsize)))
        self.flat = workspace.take(np, (c, self.step * plane + self.shifts[-1]), dtype)
        self.cols = workspace.take(np, (c, len(self.shifts), self.step * plane), dtype)

    def chunks(self):
        """(start, stop) image ranges of at most ``step`` images."""
        n = self.x_shape[0]
        return [(start, min(start + self.step, n)) for start in range(0, n, self.step)]

    def _positions(self, m):
        return m * self.hp * self.wp

    def _interior(self, flat, m):
        """The (C, m, H, W) view of the unpadded images inside flat rows of m images."""
        _, _, h, w = self.x_shape
        (pt, _), (pl, _) = self.pads
        plane = flat[:, :self._positions(m)].reshape(flat.shape[0], m, self.hp, self.wp)
        return plane[:, :, pt:pt + h, pl:pl + w]

    def columns(self, x):
        """(m, C, H, W) images -> their (C, kh*kw, m*Hp*Wp) columns (a view of the chunk's buffer)."""
        m, c = x.shape[:2]
        size = self._positions(m)
        flat = self.flat[:, :size + self.shifts[-1]]
        flat.fill(0)
        self._interior(flat, m)[...] = x.transpose(1, 0, 2, 3)
        cols = self.cols[:, :, :size]
        for t, shift in enumerate(self.shifts):
            cols[:, t] = flat[:, shift:shift + size]
        return cols

    def write_output(self, rows, out):
        """(O, m*Hp*Wp) results over the padded grid -> ``out`` (m, O, OH, OW)."""
        oh, ow = self.out_hw
        planes = rows.reshape(rows.shape[0], out.shape[0], self.hp, self.wp)
        np.copyto(out, planes[:, :, :oh, :ow].transpose(1, 0, 2, 3))

    def gradient_rows(self, grad, rows):
        """(m, O, OH, OW) output gradient -> ``rows`` (O, m*Hp*Wp), zero at the dropped positions."""
        m, o, oh, ow = grad.shape
        plane = rows.reshape(o, m, self.hp, self.wp)
        plane[:, :, oh:] = 0
        plane[:, :, :oh, ow:] = 0
        plane[:, :, :oh, :ow] = grad.transpose(1, 0, 2, 3)

    def write_input_gradient(self, grad_cols, grad_x):
        """Adjoint of ``columns``: (C, kh*kw, m*Hp*Wp) column gradients -> ``grad_x`` (m, C, H, W)."""
        size = grad_cols.shape[2]
        flat = self.flat[:, :size + self.shifts[-1]]
        flat[:, :size] = grad_cols[:, 0]
        flat[:, size:] = 0
        for t, shift in enumerate(self.shifts[1:], 1):
            flat[:, shift:shift + size] += grad_cols[:, t]
        np.copyto(grad_x, self._interior(flat, grad_x.shape[0]).transpose(1, 0, 2, 3))

    def release(self):
        workspace.give(self.flat)
        workspace.give(self.cols)


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
    """The Conv2d node's forward on flat planes; keeps x on the node for ``backward``."""
    n = x.shape[0]
    o, cg, kh, kw = weight.shape
    groups, k = node.groups, kh * kw
    planes = FlatPlanes(x.shape, (kh, kw), node.pads, node.dilation, x.dtype)
    out = workspace.lend((n, o) + planes.out_hw, x.dtype)
    rows = workspace.take(np, (groups, o // groups, planes.cols.shape[2]), x.dtype)
    w_groups = weight.reshape(groups, o // groups, cg * k)
    for start, stop in planes.chunks():
        cols = planes.columns(x[start:stop])
        size = cols.shape[2]
        result = np.matmul(w_groups, cols.reshape(groups, cg * k, size), out=rows[:, :, :size])
        result = result.reshape(o, size)
        if bias is not None:
            result += bias[:, None]
        planes.write_output(result, out[start:stop])
    workspace.give(rows)
    planes.release()
    node.x, node.weight = x, weight
    return out


def backward(node, grad, want_x):
    """(grad_x or None, grad_weight, grad_bias or None), the columns rebuilt a chunk at a time."""
    x, weight, groups = node.x, node.weight, node.groups
    o, cg, kh, kw = weight.shape
    k = kh * kw
    dtype = grad.dtype
    planes = FlatPlanes(x.shape, (kh, kw), node.pads, node.dilation, dtype)
    rows = workspace.take(np, (o, planes.cols.shape[2]), dtype)
    grad_cols = workspace.take(np, planes.cols.shape, dtype) if want_x else None
    grad_x = workspace.lend(x.shape, dtype) if want_x else None
    grad_weight = np.zeros((groups, o // groups, cg * k), dtype=dtype)
    grad_bias = np.zeros(o, dtype=dtype) if node.has_bias else None
    for start, stop in planes.chunks():
        cols = planes.columns(x[start:stop])
        size = cols.shape[2]
        chunk_rows = rows[:, :size]
        planes.gradient_rows(grad[start:stop], chunk_rows)
        if grad_bias is not None:
            grad_bias += chunk_rows.sum(axis=1)
        row_groups = chunk_rows.reshape(groups, o // groups, size)
        grad_weight += np.matmul(row_groups, cols.reshape(groups, cg * k, size).transpose(0, 2, 1))
        if want_x:
            chunk_cols = grad_cols[:, :, :size]
            grouped_column_gradients(np, weight, chunk_rows, groups, out=chunk_cols.reshape(groups, cg * k, size))
            planes.write_input_gradient(chunk_cols, grad_x[start:stop])
    workspace.give(rows)
    workspace.give(grad_cols)
    planes.release()
    return grad_x, grad_weight.reshape(weight.shape), grad_bias
