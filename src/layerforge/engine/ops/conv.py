"""Convolution kernels: im2col / col2im that loop over kernel offsets, then one matrix product.

Layouts: on the CPU, Conv2d with large output planes and one group works image by image in
PyTorch's ``(N, C, H, W)`` layout (``Conv2d._forward_by_image``): each image's columns are a
``(C*kh*kw, OH*OW)`` matrix and ``W @ cols`` is that image's output, a chunk of images at a time.
Grouped ones (depthwise included) with stride 1 go to the flat padded planes of ``conv_flat.py``.
Elsewhere activations are moved once to channels-first, so that the columns of every kernel offset
form one ``(C*kh*kw, positions)`` matrix and a whole batch is a single GEMM. The Python loops run over the
``kh*kw`` kernel offsets (each a strided slice of the whole batch or chunk), never over positions.

- ``(C, N, H, W)`` for Conv2d with large output planes on a GPU or with groups: moving between it
  and PyTorch's ``(N, C, H, W)`` only swaps the two outer axes, which copies whole ``H*W`` planes (6x faster than a
  full 4-D transpose on the MNIST example's 24x24 conv2 output; the conv is ~10 % faster in all).
- ``(C, H, W, N)``, batch innermost, for small planes and ConvTranspose2d: each window slice copies
  runs of ``OW*N`` contiguous values rather than ``OW``, which matters when ``OW`` is short (LeNet's
  10x10 conv2 is 30 % slower in the other layout).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Node
from . import conv_flat, conv_patches
from .buffer_pool import lent_copy, padded_copy, workspace
from .common import xp_of


def conv_output_size(size, kernel, stride, pad_lo, pad_hi, dilation):
    return (size + pad_lo + pad_hi - dilation * (kernel - 1) - 1) // stride + 1


def _window(offset, dilation, stride, count):
    start = offset * dilation
    return slice(start, start + stride * (count - 1) + 1, stride)


def im2col(padded, kernel, stride, dilation, out_hw, batch_last=True):
    """``padded`` (C, Hp, Wp, N) -> columns (C, kh, kw, OH, OW, N), one strided copy per offset;
    with ``batch_last=False``, (C, N, Hp, Wp) -> (C, kh, kw, N, OH, OW)."""
    xp = xp_of(padded)
    c = padded.shape[0]
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    if batch_last:
        shape, lead = (c, kh, kw, oh, ow, padded.shape[3]), (slice(None),)
    else:
        shape, lead = (c, kh, kw, padded.shape[1], oh, ow), (slice(None), slice(None))
    cols = workspace.take(xp, shape, padded.dtype)
    for i in range(kh):
        rows = _window(i, dh, sh, oh)
        for j in range(kw):
            cols[:, i, j] = padded[lead + (rows, _window(j, dw, sw, ow))]
    return cols


def col2im(cols, padded_shape, stride, dilation, batch_last=True):
    """Adjoint of ``im2col``: columns (C, kh, kw, OH, OW, N) summed back into (C, Hp, Wp, N), or
    with ``batch_last=False`` (C, kh, kw, N, OH, OW) into (C, N, Hp, Wp); the result is a workspace
    buffer, which the caller gives back."""
    xp = xp_of(cols)
    if batch_last:
        _, kh, kw, oh, ow, _ = cols.shape
        lead = (slice(None),)
    else:
        _, kh, kw, _, oh, ow = cols.shape
        lead = (slice(None), slice(None))
    (sh, sw), (dh, dw) = stride, dilation
    out = workspace.take(xp, padded_shape, cols.dtype)
    out.fill(0)
    for i in range(kh):
        rows = _window(i, dh, sh, oh)
        for j in range(kw):
            out[lead + (rows, _window(j, dw, sw, ow))] += cols[:, i, j]
    return out


def _to_channels_first_padded(x, pads):
    """(N, C, H, W) -> zero-padded (C, N, Hp, Wp) in one copy, in a workspace buffer (given back by
    the caller)."""
    return padded_copy(x.transpose(1, 0, 2, 3), 2, pads)


def _swap_outer(a):
    """(A, B, H, W) -> a contiguous (B, A, H, W): whole planes move, so the copy is cheap."""
    return xp_of(a).ascontiguousarray(a.transpose(1, 0, 2, 3))


def _to_batch_last_padded(x, pads):
    """(N, C, H, W) -> zero-padded (C, Hp, Wp, N) in one copy, in a workspace buffer (given back by
    the caller)."""
    return padded_copy(x.transpose(1, 2, 3, 0), 1, pads)


def _from_batch_last(rows, channels, h, w):
    """(C, H*W*N) rows -> a contiguous (N, C, H, W) array (a ``lent`` one)."""
    return lent_copy(xp_of(rows), rows.reshape(channels, h, w, -1).transpose(3, 0, 1, 2))


def _to_batch_last_rows(a):
    """(N, C, H, W) -> contiguous (C, H*W*N) rows."""
    xp = xp_of(a)
    return xp.ascontiguousarray(a.transpose(1, 2, 3, 0)).reshape(a.shape[1], -1)


def _image_windows(padded, kernel, stride, dilation, out_hw):
    """A (N, C, kh, kw, OH, OW) view of ``padded`` (N, C, Hp, Wp): every image's columns without a copy.
    Copying a chunk of it is one numpy call (a quarter faster than one strided copy per kernel offset
    for the MNIST example's conv2)."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    view = np.lib.stride_tricks.sliding_window_view(padded, span, axis=(2, 3))  # (N, C, *, *, span)
    view = view[:, :, :(oh - 1) * sh + 1:sh, :(ow - 1) * sw + 1:sw, ::dh, ::dw]
    return view.transpose(0, 1, 4, 5, 2, 3)


class _FlatCol2im:
    """The input gradient of a convolution, image by image, with one long add per kernel offset.

    Stride 1: each image's gradient is zero-padded to the input's (Hp, Wp) plane, so ``W^T @ grad``
    gives, per kernel offset (i, j) and channel, a whole plane whose flat index p lands on the input's
    flat index p + i*dh*Wp + j*dw. The padding rows and columns are zero, so over one image's
    (C*Hp*Wp) vector each offset is a single contiguous shifted add (what spills over a channel's end
    is zero), instead of C*OH strided row adds of OW values: ~5x fewer numpy inner loops for the MNIST
    example's conv2, at the price of a ~17 % larger GEMM (Hp*Wp columns instead of OH*OW).

    Stride s: the padded input splits into s*s phase planes (every s-th row from row a, every s-th
    column from column b), each (Hq, Wq) = (Hp/s, Wp/s) rounded up. Offset (i, j) only reaches phase
    (i*dh mod s, j*dw mod s), at a shift of (i*dh div s)*Wq + (j*dw div s) there: the same long adds,
    on the gradient laid out on the (Hq, Wq) grid, then one strided copy per phase straight into the
    (unpadded) input gradient (stride 2, 3x3, 16 -> 32 channels on 32x32: backward 5.5 -> 4.4 ms,
    the strided adds and the padded gradient's copy gone).
    """

    def __init__(self, weight, padded_shape, stride, dilation, step, pads=((0, 0), (0, 0))):
        o, c, kh, kw = weight.shape
        _, _, hp, wp = padded_shape
        (sh, sw), (dh, dw) = stride, dilation
        dtype = weight.dtype
        # rows ordered (i, j, channel), so each offset's planes form one contiguous block
        self.w_offsets = np.ascontiguousarray(weight.transpose(2, 3, 1, 0).reshape(kh * kw * c, o))
        self.stride, self.top_left = (sh, sw), (pads[0][0], pads[1][0])
        self.hq, self.wq = -(-hp // sh), -(-wp // sw)
        self.plane, self.size = self.hq * self.wq, c * self.hq * self.wq
        self.phases = {}  # (a, b) -> [(offset index, shift)], the phase's offsets in order
        for t, (i, j) in enumerate((i, j) for i in range(kh) for j in range(kw)):
            (di, a), (dj, b) = divmod(i * dh, sh), divmod(j * dw, sw)
            self.phases.setdefault((a, b), []).append((t, di * self.wq + dj))
        self.grad_planes = workspace.take(np, (step, o, self.hq, self.wq), dtype)
        self.grad_planes.fill(0)  # the padding stays zero; each chunk writes only the (OH, OW) corner
        self.offset_planes = workspace.take(np, (step, kh * kw, self.size), dtype)
        self.phase_sum = None if (sh, sw) == (1, 1) else workspace.take(np, (step, self.size), dtype)

    def __call__(self, grad, out):
        """Writes the input gradient of ``grad`` (m, O, OH, OW) into ``out``: (m, C, Hp, Wp), padded,
        with stride 1; (m, C, H, W), the input's own, with a larger stride."""
        m, o, oh, ow = grad.shape
        planes = self.grad_planes[:m]
        planes[:, :, :oh, :ow] = grad
        offsets = self.offset_planes[:m]
        np.matmul(self.w_offsets, planes.reshape(m, o, self.plane),
                  out=offsets.reshape(m, -1, self.plane))
        if self.phase_sum is None:  # stride 1: one phase, the padded plane itself
            self._add_shifted(offsets, self.phases[(0, 0)], out.reshape(m, self.size))
            return
        (sh, sw), (pt, pl) = self.stride, self.top_left
        total = self.phase_sum[:m]
        for a in range(sh):
            for b in range(sw):
                # the input's rows from (a - pt) mod sh, every sh-th, are phase rows from (that + pt) // sh
                top, left = (a - pt) % sh, (b - pl) % sw
                into = out[:, :, top::sh, left::sw]
                if (a, b) not in self.phases:  # no kernel offset reaches this phase
                    into[...] = 0
                    continue
                self._add_shifted(offsets, self.phases[(a, b)], total)
                u, v = (top + pt) // sh, (left + pl) // sw
                into[...] = total.reshape(m, -1, self.hq, self.wq)[:, :, u:u + into.shape[2], v:v + into.shape[3]]

    def _add_shifted(self, offsets, phase, total):
        """``total`` (m, C*Hq*Wq) = the phase's offsets' planes, each shifted along the flat planes."""
        size = self.size
        (first, shift), rest = phase[0], phase[1:]
        if shift:
            total[:, :shift] = 0
            total[:, shift:] = offsets[:, first, :size - shift]
        else:
            total[...] = offsets[:, first]
        for t, shift in rest:
            if shift:
                total[:, shift:] += offsets[:, t, :size - shift]
            else:
                total += offsets[:, t]

    def release(self):
        workspace.give(self.grad_planes)
        workspace.give(self.offset_planes)
        workspace.give(self.phase_sum)


def _grouped_matmul(a, b, groups):
    """a (g*M, K) @ b (g*K', L) per group, into a workspace buffer (given back by the caller): plain
    2-D GEMM when there is one group."""
    xp = xp_of(b)
    out = workspace.take(xp, (a.shape[0], b.shape[-1]), b.dtype)
    if groups == 1:
        xp.matmul(a, b, out=out)
    else:
        xp.matmul(a.reshape(groups, a.shape[0] // groups, -1), b.reshape(groups, b.shape[0] // groups, -1),
                  out=out.reshape(groups, a.shape[0] // groups, -1))
    return out


class Conv2d(Node):
    """x (N, C, H, W), weight (O, C/g, kh, kw), optional bias (O,) -> (N, O, OH, OW)."""

    # Output planes (OH*OW) from this size up use the (C, N, H, W) layout; smaller ones batch-last.
    PLANE_FOR_CHANNELS_FIRST = 256

    def __init__(self, stride, pads, dilation, groups, has_bias):
        self.stride, self.pads, self.dilation = stride, pads, dilation
        self.groups, self.has_bias = groups, has_bias

    # Large planes on the CPU with one group go image by image (below), in chunks of about
    # CHUNK_BYTES of columns; BY_IMAGE = False sends them to the (C, N, H, W) layout instead.
    BY_IMAGE = True
    # PATCHES = False keeps every convolution off conv_patches.py's layout (the tests compare both)
    PATCHES = True
    CHUNK_BYTES = 1 << 20

    def forward(self, x, weight, bias=None):
        n, c, h, w = x.shape
        o, _, kh, kw = weight.shape
        g = self.groups
        (pt, pb), (pl, pr) = self.pads
        oh = conv_output_size(h, kh, self.stride[0], pt, pb, self.dilation[0])
        ow = conv_output_size(w, kw, self.stride[1], pl, pr, self.dilation[1])
        self.batch_last = batch_last = oh * ow < self.PLANE_FOR_CHANNELS_FIRST
        # planes with short rows and enough channels on the CPU: each patch a row (conv_patches.py)
        self.patches = self.PATCHES and conv_patches.applies(x, weight, self.stride, self.pads, self.dilation, g, (oh, ow))
        if self.patches:
            return conv_patches.forward(self, x, weight, bias)
        on_cpu = type(x) is np.ndarray
        self.by_image = not batch_last and g == 1 and on_cpu and self.BY_IMAGE
        if self.by_image:
            return self._forward_by_image(x, weight, bias, (oh, ow))
        # grouped (depthwise too) with stride 1: the flat padded planes of conv_flat.py
        self.flat = not batch_last and on_cpu and g > 1 and tuple(self.stride) == (1, 1)
        if self.flat:
            return conv_flat.forward(self, x, weight, bias)
        if batch_last:
            padded = _to_batch_last_padded(x, self.pads)  # (C, Hp, Wp, N)
        else:
            padded = _to_channels_first_padded(x, self.pads)  # (C, N, Hp, Wp)
        self.padded_shape = padded.shape
        self.cols_buffer = im2col(padded, (kh, kw), self.stride, self.dilation, (oh, ow), batch_last)
        workspace.give(padded)
        cols = self.cols_buffer.reshape(c * kh * kw, n * oh * ow)
        self.cols, self.weight, self.x_shape = cols, weight, x.shape
        rows = _grouped_matmul(weight.reshape(o, -1), cols, g)  # (O, positions)
        if bias is not None:
            rows += bias[:, None]
        if batch_last:
            out = _from_batch_last(rows, o, oh, ow)
        else:
            out = lent_copy(xp_of(rows), rows.reshape(o, n, oh, ow).transpose(1, 0, 2, 3))
        workspace.give(rows)
        return out

    # ---------------------------------------------------------------- large planes on the CPU
    # Image by image, in PyTorch's (N, C, H, W) layout: each image's columns are (C*kh*kw, OH*OW),
    # so W @ cols lands directly in the image's (O, OH*OW) output: no layout copies of the input, the
    # output or the gradient. The columns live only as long as one chunk of images (about a megabyte,
    # which stays in cache between im2col and the GEMM); backward rebuilds them from the kept
    # (padded) input rather than holding the whole batch's columns (42 MiB for the MNIST example's
    # conv2) from forward to backward.
    def _chunk(self, n, k, positions, itemsize):
        return max(1, min(n, self.CHUNK_BYTES // max(1, k * positions * itemsize)))

    def _forward_by_image(self, x, weight, bias, out_hw):
        n, c, h, w = x.shape
        o, _, kh, kw = weight.shape
        (pt, pb), (pl, pr) = self.pads
        # a padded copy is kept until backward in a workspace buffer, which release gives back
        padded = x
        if pt or pb or pl or pr:
            padded = self.padded_buffer = padded_copy(x, 2, self.pads)
        oh, ow = out_hw
        k, positions = c * kh * kw, oh * ow
        step = self._chunk(n, k, positions, x.dtype.itemsize)
        out = workspace.lend((n, o, positions), x.dtype)
        # The bias rides in the GEMM as one more column of the weight against a row of ones under each
        # image's columns: no separate pass over the output.
        rows = k + (bias is not None)
        cols = workspace.take(np, (step, rows, positions), x.dtype)
        w_rows = weight.reshape(o, k)
        if bias is not None:
            cols[:, k] = 1
            w_rows = np.concatenate([w_rows, bias[:, None]], axis=1)
        windows = _image_windows(padded, (kh, kw), self.stride, self.dilation, out_hw)
        for start in range(0, n, step):
            stop = min(n, start + step)
            m = stop - start
            np.reshape(cols[:m, :k], (m, c, kh, kw, oh, ow), copy=False)[...] = windows[start:stop]
            np.matmul(w_rows, cols[:m], out=out[start:stop])
        workspace.give(cols)
        self.padded, self.weight, self.x_shape = padded, weight, x.shape
        return out.reshape(n, o, oh, ow)

    def input_gradient_by_phases(self, grad):
        """The input gradient (N, C, H, W) of a strided convolution, image by image (``_FlatCol2im``):
        for conv_patches.py, whose stride-1 adjoint would run on a gradient dilated with zeros."""
        n, c, h, w = self.x_shape
        (pt, pb), (pl, pr) = self.pads
        kh, kw = self.weight.shape[2:]
        step = self._chunk(n, c * kh * kw, grad.shape[2] * grad.shape[3], grad.dtype.itemsize)
        grad_x = workspace.lend(self.x_shape, grad.dtype)
        accumulate = _FlatCol2im(self.weight, (n, c, h + pt + pb, w + pl + pr), self.stride, self.dilation,
                                 step, self.pads)
        for start in range(0, n, step):
            accumulate(grad[start:start + step], grad_x[start:start + step])
        accumulate.release()
        return grad_x

    def _backward_by_image(self, grad, want_x):
        n, c, h, w = self.x_shape
        weight, padded = self.weight, self.padded
        o, _, kh, kw = weight.shape
        oh, ow = grad.shape[2:]
        k, positions = c * kh * kw, oh * ow
        dtype = grad.dtype
        rows = np.ascontiguousarray(grad).reshape(n, o, positions)
        step = self._chunk(n, k, positions, dtype.itemsize)
        # With a bias and few columns rows (a first layer), a row of ones under each image's columns
        # makes the GEMM's last row the bias gradient (the image's gradient summed over positions): no
        # separate reduction. With many rows the odd GEMM size costs what the reduction saves.
        fold_bias = self.has_bias and k < 128
        grad_bias = None
        if self.has_bias and not fold_bias:
            grad_bias = np.add.reduce(np.add.reduce(rows, axis=0), axis=1)  # images first: 0.37 vs 0.55 ms
        k1 = k + fold_bias
        cols = workspace.take(np, (step, k1, positions), dtype)
        if fold_bias:
            cols[:, k] = 1
        windows = _image_windows(padded, (kh, kw), self.stride, self.dilation, (oh, ow))
        partial = np.empty((step, k1, o), dtype=dtype)
        grad_weight_t = np.zeros((k1, o), dtype=dtype)  # the weight gradient, transposed (and the bias's)
        if want_x:  # the padded input gradient with stride 1, the input's own with a larger stride
            unpadded = tuple(self.stride) != (1, 1)
            grad_padded = workspace.lend(self.x_shape if unpadded else padded.shape, dtype)
            accumulate = _FlatCol2im(weight, padded.shape, self.stride, self.dilation, step, self.pads)
        for start in range(0, n, step):
            stop = min(n, start + step)
            m = stop - start
            np.reshape(cols[:m, :k], (m, c, kh, kw, oh, ow), copy=False)[...] = windows[start:stop]
            # cols @ grad^T per image (K x O) runs faster in OpenBLAS than grad @ cols^T (O x K).
            np.matmul(cols[:m], rows[start:stop].transpose(0, 2, 1), out=partial[:m])
            grad_weight_t += partial[0] if m == 1 else np.add.reduce(partial[:m], axis=0)
            if want_x:
                accumulate(grad[start:stop], grad_padded[start:stop])
        workspace.give(cols)
        if fold_bias:
            grad_bias = grad_weight_t[k].copy()
        grad_weight = np.ascontiguousarray(grad_weight_t[:k].T).reshape(weight.shape)
        grad_x = None
        if want_x:
            accumulate.release()
            (pt, _), (pl, _) = self.pads
            grad_x = grad_padded
            if grad_padded.shape != self.x_shape:
                grad_x = np.ascontiguousarray(grad_padded[:, :, pt:pt + h, pl:pl + w])
        if self.has_bias:
            return grad_x, grad_weight, grad_bias
        return grad_x, grad_weight

    def backward(self, grad):
        want_x = self.inputs is None or self.inputs[0].requires_grad
        if self.patches:
            return conv_patches.backward(self, grad, want_x)
        if self.by_image:
            return self._backward_by_image(grad, want_x)
        if self.flat:
            return conv_flat.backward(self, grad, want_x)
        xp = xp_of(grad)
        n, c, h, w = self.x_shape
        weight, cols, g = self.weight, self.cols, self.groups
        o, cg, kh, kw = weight.shape
        oh, ow = grad.shape[2:]
        batch_last = self.batch_last
        grad_rows = _to_batch_last_rows(grad) if batch_last else _swap_outer(grad).reshape(o, -1)
        grad_bias = grad_rows.sum(axis=1) if self.has_bias else None
        # A network's first convolution sees data that needs no gradient: skip col2im entirely.
        grad_x = None
        if g == 1:
            if xp is np:  # cols @ grad^T (K x O) runs ~1.6x faster in OpenBLAS than grad @ cols^T here
                grad_weight = np.ascontiguousarray((cols @ grad_rows.T).T).reshape(weight.shape)
            else:
                grad_weight = (grad_rows @ cols.T).reshape(weight.shape)
            if want_x:
                grad_cols = workspace.take(xp, (c * kh * kw, grad_rows.shape[1]), grad.dtype)
                xp.matmul(weight.reshape(o, -1).T, grad_rows, out=grad_cols)
        else:
            rows_g = grad_rows.reshape(g, o // g, -1)
            cols_g = cols.reshape(g, cg * kh * kw, -1)
            grad_weight = (rows_g @ cols_g.transpose(0, 2, 1)).reshape(weight.shape)
            if want_x:
                grad_cols = conv_flat.grouped_column_gradients(xp, weight, grad_rows, g)
        if want_x:
            cols_shape = (c, kh, kw, oh, ow, n) if batch_last else (c, kh, kw, n, oh, ow)
            padded = col2im(grad_cols.reshape(cols_shape), self.padded_shape, self.stride, self.dilation,
                            batch_last)
            workspace.give(grad_cols)
            (pt, _), (pl, _) = self.pads
            if batch_last:
                grad_x = lent_copy(xp, padded[:, pt:pt + h, pl:pl + w].transpose(3, 0, 1, 2))
            else:
                grad_x = lent_copy(xp, padded[:, :, pt:pt + h, pl:pl + w].transpose(1, 0, 2, 3))
            workspace.give(padded)
        if self.has_bias:
            return grad_x, grad_weight, grad_bias
        return grad_x, grad_weight

    def release(self):
        workspace.give(self.__dict__.get("cols_buffer"))
        workspace.give(self.__dict__.get("padded_buffer"))
        super().release()
