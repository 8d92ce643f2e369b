"""Max pooling over (N, C, H, W), and the output sizes and padding that average pooling
(``pool_average.py``) shares.

The general forward and backward loop over the kh*kw window offsets (strided slices); windows that
tile the plane, overlapping 3x3 windows and one window a plane take the shortcuts described on
``MaxPool2d``. Output sizes follow PyTorch: floor by default; with ``ceil_mode`` a last window may
hang over the edge but must start inside the input or its left padding.
"""
from __future__ import annotations

import sys

import numpy as np

from ..autograd import Node
from .activation import Relu
from .buffer_pool import lent, padded_copy, workspace
from .common import xp_of
from .conv import _window
from .pool_adaptive import first_true
from .rows import row_max


def pool_output_size(size, kernel, stride, padding, dilation, ceil_mode):
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _padded(x, padding, needed_hw, fill):
    """x padded by ``padding`` on the top/left and up to ``needed_hw`` on the bottom/right: ``x`` itself
    where nothing is added, else a workspace buffer, which the caller gives back."""
    (ph, pw), (need_h, need_w) = padding, needed_hw
    n, c, h, w = x.shape
    hp, wp = max(need_h, h + 2 * ph), max(need_w, w + 2 * pw)
    if (hp, wp) == (h, w):
        return x
    return padded_copy(x, 2, ((ph, hp - h - ph), (pw, wp - w - pw)), fill)


def _needed(out_hw, kernel, stride, dilation):
    return tuple((o - 1) * s + d * (k - 1) + 1 for o, k, s, d in zip(out_hw, kernel, stride, dilation))


def _separable_max(x, kernel, stride, out_hw):
    """Max pooling without dilation as two separable stages: each input row's maximum over every
    window's kw columns, (N, C, H, OW), then the maximum of kh of those rows, (N, C, OH, OW): kh + kw - 2
    maxima on shrinking arrays instead of kh * kw - 1 full-size ones. Returns (row maxima, output)."""
    xp = xp_of(x)
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_hw
    columns = _scratch(x, x.shape[:3] + (ow,))
    if kw > 1:
        xp.maximum(x[:, :, :, _window(0, 1, sw, ow)], x[:, :, :, _window(1, 1, sw, ow)], out=columns)
    else:
        xp.copyto(columns, x[:, :, :, _window(0, 1, sw, ow)])
    for j in range(2, kw):
        xp.maximum(columns, x[:, :, :, _window(j, 1, sw, ow)], out=columns)
    best = _output(x, columns.shape[:2] + (oh, ow))
    if kh > 1:
        xp.maximum(columns[:, :, _window(0, 1, sh, oh)], columns[:, :, _window(1, 1, sh, oh)], out=best)
    else:
        xp.copyto(best, columns[:, :, _window(0, 1, sh, oh)])
    for i in range(2, kh):
        xp.maximum(best, columns[:, :, _window(i, 1, sh, oh)], out=best)
    return columns, best


def _to_first_equal(values, maxima, grad, out, axis, kernel, stride):
    """Adds each of ``grad``'s values (shaped like ``maxima``) into ``out`` (shaped like ``values``) at
    the first of the ``kernel`` positions of its window along ``axis`` (window i starts at i * stride)
    whose value equals its maximum; the last position takes what no earlier one claimed."""
    count = maxima.shape[axis]
    hit = np.empty(maxima.shape, dtype=bool)
    unclaimed = np.ones(maxima.shape, dtype=bool)
    for offset in range(kernel):
        index = (slice(None),) * axis + (_window(offset, 1, stride, count),)
        if offset < kernel - 1:
            np.equal(values[index], maxima, out=hit)
            hit &= unclaimed
            np.greater(unclaimed, hit, out=unclaimed)
        out[index] += grad * (hit if offset < kernel - 1 else unclaimed)


def _output(like, shape):
    """A node's output array: on the CPU its buffer is recycled between steps (``workspace.lend``)."""
    if type(like) is np.ndarray:
        return workspace.lend(shape, like.dtype)
    return xp_of(like).empty(shape, dtype=like.dtype)


def _scratch(like, shape):
    """A node-internal CPU array from the workspace (given back by the node), else a plain one."""
    if type(like) is np.ndarray:
        return workspace.take(np, shape, like.dtype)
    return xp_of(like).empty(shape, dtype=like.dtype)


class MaxPool2d(Node):
    """Forward is a running ``maximum`` over the window offsets (no index bookkeeping); backward
    finds, offset by offset, the first position equal to the maximum, which is the element PyTorch's
    index points to, and routes the gradient there."""

    # Outputs from this many elements up take the two-stage backward (below: LeNet's 75K-element
    # pooling was no faster with it, the MNIST example's 590K 20 % faster).
    ROWS_THEN_COLUMNS_FROM = 1 << 17
    # ...and windows of this many values up, whatever the size: the one-offset-at-a-time backward makes
    # about four passes per offset (an 8x8 window, adaptive pooling 32 -> 4: 3.6 ms of a 6.7 ms step)
    ROWS_THEN_COLUMNS_KERNEL = 9
    # Windows of this many values up (4x4 and larger: adaptive pooling to a small grid, global pooling)
    # find each window's winner by gathering (_backward_by_gather), whose work grows with the number
    # of windows rather than of values: (32, 16, 32, 32) pooled 8x8 2.19 -> 0.51 ms, 4x4 1.52 ->
    # 0.86 ms, 16x16 3.7 -> 0.32 ms; 3x3 windows measured slower that way (64 channels on 24x24: 4.9
    # against 6.5 ms), and 2x2 ones 1.7x slower.
    GATHER_FROM_KERNEL = 16
    # One window over a plane of this many values up takes the whole-plane maximum and argmax
    # (global pooling: (32, 16, 32, 32) forward 1.69 -> 0.1 ms, (64, 128, 16, 16) 5.4 -> 1.7 ms; on
    # 8x8 planes the halving maximum took 155 against 84 us, so smaller planes keep the separable maxima)
    WHOLE_PLANE_FROM = 256
    # 2x2 tiling windows of float32 write their input gradient as 64-bit words, one a pair of
    # neighbouring columns (_backward_pairs); False keeps them on the paths above (the tests compare)
    # (numpy makes a shift by the word's width or more 0, which the path relies on: checked here)
    PAIRS_AS_WORDS = sys.byteorder == "little" and not np.left_shift(
        np.ones(1, np.uint32), np.full(1, 96, np.uint8), dtype=np.uint64).any()
    # numpy's passes over a window's two rows run along one output row at a time, so shorter rows
    # keep the paths above (backward of (64, 64, 8, 8), 4 windows a row: 0.82 against 0.94 ms as
    # words; (64, 32, 16, 16), 8 a row: 1.37 -> 1.33; (64, 16, 32, 32): 2.51 -> 2.07)
    PAIRS_FROM_ROW = 8

    def __init__(self, kernel, stride, padding, dilation, ceil_mode):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def _windows(self, padded, out_hw):
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        oh, ow = out_hw
        for i in range(kh):
            rows = _window(i, dh, sh, oh)
            for j in range(kw):
                yield (slice(None), slice(None), rows, _window(j, dw, sw, ow))

    def forward(self, x):
        xp = xp_of(x)
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        h, w = x.shape[2:]
        oh = pool_output_size(h, kh, sh, self.padding[0], dh, self.ceil_mode)
        ow = pool_output_size(w, kw, sw, self.padding[1], dw, self.ceil_mode)
        if ((kh, kw) == (sh, sw) and tuple(self.padding) == (0, 0) and (dh, dw) == (1, 1)
                and oh * kh == h and ow * kw == w):
            self.padded, self.x_shape = x, x.shape
            if oh == ow == 1 and xp is np and h * w >= self.WHOLE_PLANE_FROM:
                # One window over the whole plane (global max pooling): each plane's maximum along
                # the flattened plane (row_max), where the strided passes of the separable maxima
                # ran along one value per row ((32, 16, 32, 32): 1.69 -> 0.1 ms)
                self.best = row_max(np, x.reshape(x.shape[0], x.shape[1], h * w))[..., None]
                return self.best
            # Tiling windows: the maxima by rows, then columns, on shrinking arrays (_separable_max).
            columns, best = _separable_max(x, self.kernel, self.stride, (oh, ow))
            self.best = best
            if kh > 1 and kw > 1 and xp is np and (best.size >= self.ROWS_THEN_COLUMNS_FROM
                                                   or kh * kw >= self.ROWS_THEN_COLUMNS_KERNEL
                                                   or self._in_pairs(best)):
                self.columns = columns  # backward finds the winning row, then the column within it
            else:
                workspace.give(columns)  # the row maxima were forward's scratch only
            return best
        fill = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min
        padded = _padded(x, self.padding, _needed((oh, ow), self.kernel, self.stride, self.dilation),
                         fill)
        if padded is not x:
            self.padded_buffer = padded   # kept for backward; release gives it back
        self.x_shape = x.shape
        if xp is np and (dh, dw) == (1, 1) and kh > 1 and kw > 1 and self._windows_overlap():
            # Overlapping windows (3x3 stride 2, a ResNet stem's): the same separable maxima, whose row
            # maxima let backward find each winner in two stages (_backward_separable)
            self.row_maxima, best = _separable_max(padded, self.kernel, self.stride, (oh, ow))
            self.padded, self.best = padded, best
            return best
        windows = self._windows(padded, (oh, ow))
        best = padded[next(windows)].copy()
        for index in windows:
            xp.maximum(best, padded[index], out=best)  # NaN propagates, as in PyTorch
        self.padded, self.best = padded, best
        return best

    def _backward_separable(self, grad):
        """Overlapping windows' backward (their forward keeps ``row_maxima``), without NaN, in two
        stages of ``_to_first_equal``: each output's gradient to the first row of its window whose
        maximum is the output (summed per input row, as overlapping windows share rows), then each
        row's gradient to the first column equal to that row's maximum: the element PyTorch's index
        points to, in about half the passes of one offset at a time."""
        padded, best, row_maxima = self.padded, self.best, self.row_maxima
        (kh, kw), (sh, sw) = self.kernel, self.stride
        per_row = workspace.take(np, row_maxima.shape, grad.dtype)   # the gradient reaching each row's window part
        per_row.fill(0)
        _to_first_equal(row_maxima, best, grad, per_row, axis=2, kernel=kh, stride=sh)
        grad_padded = lent(np, padded.shape, grad.dtype)
        grad_padded.fill(0)
        _to_first_equal(padded, row_maxima, per_row, grad_padded, axis=3, kernel=kw, stride=sw)
        workspace.give(per_row)
        ph, pw = self.padding
        h, w = self.x_shape[2:]
        return grad_padded[:, :, ph:ph + h, pw:pw + w]

    def _windows_overlap(self):
        return any(s < d * (k - 1) + 1 for k, s, d in zip(self.kernel, self.stride, self.dilation))

    def _tiles_exactly(self):
        """Windows side by side that cover the input exactly (kernel == stride, no padding or
        dilation, sizes divisible): the usual 2x2 pooling of an even plane."""
        (kh, kw), (sh, sw) = self.kernel, self.stride
        h, w = self.x_shape[2:]
        oh, ow = self.best.shape[2:]
        return ((kh, kw) == (sh, sw) and tuple(self.padding) == (0, 0) and tuple(self.dilation) == (1, 1)
                and oh * kh == h and ow * kw == w)

    def backward(self, grad):
        xp = xp_of(grad)
        padded, best = self.padded, self.best
        if self._tiles_exactly():
            if best.shape[2:] == (1, 1) and xp is np and grad.dtype == best.dtype and not _has_nan(best):
                return self._backward_whole_plane(grad)
            columns = self.__dict__.get("columns")
            if columns is not None and grad.dtype == best.dtype and not _has_nan(best):
                if self._in_pairs(best):
                    return self._backward_pairs(grad, columns)
                if self.kernel[0] * self.kernel[1] >= self.GATHER_FROM_KERNEL:
                    return self._backward_by_gather(grad, columns)
                return self._backward_by_rows_then_columns(grad, columns)
            return self._backward_tiled(grad)
        if "row_maxima" in self.__dict__ and grad.dtype == best.dtype and not _has_nan(best):
            return self._backward_separable(grad)
        grad_padded = xp.zeros(padded.shape, dtype=grad.dtype)
        unclaimed = xp.ones(best.shape, dtype=bool)
        nan_best = best != best if bool(xp.isnan(best).any()) else None
        overlap = self._windows_overlap()
        for index in self._windows(padded, best.shape[2:]):
            window = padded[index]
            hit = window == best
            if nan_best is not None:  # a NaN maximum came from a NaN input: route the gradient there
                hit |= nan_best & (window != window)
            hit &= unclaimed
            xp.greater(unclaimed, hit, out=unclaimed)  # unclaimed and not hit
            if overlap:
                grad_padded[index] += grad * hit
            else:  # each input feeds one window at most: a plain store is enough
                grad_padded[index] = grad * hit
        ph, pw = self.padding
        h, w = self.x_shape[2:]
        return grad_padded[:, :, ph:ph + h, pw:pw + w]


    def _backward_by_rows_then_columns(self, grad, columns):
        """Tiling windows without NaN, on the CPU. The gradient goes first to the first row of its
        window that holds the maximum (forward's row maxima ``columns`` (N, C, H, OW) against the
        output), then, within each input row, to the first column equal to that row's maximum. The
        second stage runs on whole rows (one long strided pass per column offset instead of one short
        loop per output row), and the last row and column of a window take what no earlier one
        claimed, without a comparison. The element PyTorch's index points to gets the gradient; the
        same products as ``_backward_tiled``, bit for bit."""
        x, best = self.padded, self.best
        kh, kw = self.kernel
        hit = np.empty(best.shape, dtype=bool)
        unclaimed = np.ones(best.shape, dtype=bool)
        out = _output(grad, self.x_shape)
        # The gradient in its window's row waits in the output's last column of each window, which the
        # second stage fills last (in place): no scratch the size of the row maxima.
        vertical = out[:, :, :, kw - 1::kw]
        for i in range(kh):
            if i < kh - 1:
                np.equal(columns[:, :, i::kh], best, out=hit)
                hit &= unclaimed
                np.greater(unclaimed, hit, out=unclaimed)
            np.multiply(grad, hit if i < kh - 1 else unclaimed, out=vertical[:, :, i::kh])
        hit = workspace.take(np, columns.shape, np.dtype(bool))
        # two columns (the usual 2x2): what the first leaves unclaimed is its negation, in place
        unclaimed = hit if kw == 2 else workspace.take(np, columns.shape, np.dtype(bool))
        for j in range(kw):
            if j == kw - 1:
                if kw == 2:
                    np.logical_not(hit, out=unclaimed)
                np.multiply(vertical, unclaimed, out=out[:, :, :, j::kw])
                break
            np.equal(x[:, :, :, j::kw], columns, out=hit)
            if j == 0:
                if kw > 2:
                    np.logical_not(hit, out=unclaimed)
            else:
                hit &= unclaimed
                np.greater(unclaimed, hit, out=unclaimed)
            np.multiply(vertical, hit, out=out[:, :, :, j::kw])
        workspace.give(hit)
        if unclaimed is not hit:
            workspace.give(unclaimed)
        return out

    def _in_pairs(self, best):
        """Whether backward writes the gradient as words (``_backward_pairs``): 2x2 windows of float32
        in output rows of ``PAIRS_FROM_ROW`` windows or more."""
        return (self.PAIRS_AS_WORDS and tuple(self.kernel) == (2, 2) and best.dtype == np.float32
                and best.shape[3] >= self.PAIRS_FROM_ROW)

    def _backward_pairs(self, grad, columns):
        """2x2 tiling windows of float32 without NaN, on the CPU, with the input gradient as 64-bit
        words: a word is one input row's two columns of a window, so the gradient is written by one
        contiguous pass over half as many elements, where the paths above write every other column.
        Each window's upstream gradient, as integer bits, goes to both of its rows' words shifted by
        32 where the row's first column is below the row's maximum (forward's row maxima ``columns``;
        little-endian: the high half is the second column), and by 64 or more, which numpy's shift
        makes 0, in the row that does not hold the window's maximum first. So the element PyTorch's
        index points to gets the gradient, and every other one PyTorch's 0.0, also next to an infinite
        or NaN gradient.

        Backward (the node, one thread): (64, 16, 32, 32), the CIFAR-10 example's first, 2.4-2.5 ->
        2.0-2.1 ms; (64, 64, 24, 24), the MNIST example's, 5.2-6.2 -> 4.5-5.6 ms; (32, 64, 56, 56)
        25.5 -> 17.9 ms."""
        x, best = self.padded, self.best
        n, c, oh, ow = best.shape
        shift = workspace.take(np, columns.shape, np.dtype(np.uint8))
        np.less(x[:, :, :, 0::2], columns, out=shift.view(bool))
        np.multiply(shift, 32, out=shift)
        by_window_row = shift.reshape(n, c, oh, 2, ow)
        lost = workspace.take(np, best.shape, np.dtype(np.uint8))   # 64 where the first row loses
        np.not_equal(columns[:, :, 0::2], best, out=lost.view(bool))
        np.multiply(lost, 64, out=lost)
        np.bitwise_or(by_window_row[:, :, :, 0], lost, out=by_window_row[:, :, :, 0])
        np.bitwise_xor(lost, 64, out=lost)
        np.bitwise_or(by_window_row[:, :, :, 1], lost, out=by_window_row[:, :, :, 1])
        workspace.give(lost)
        bits = np.ascontiguousarray(grad).view(np.uint32)[:, :, :, None]
        out = _output(grad, self.x_shape)
        words = out.reshape(n, c, oh, 2, ow, 2).view(np.uint64)[..., 0]
        np.left_shift(bits, by_window_row, out=words, dtype=np.uint64)
        workspace.give(shift)
        return out

    def _backward_whole_plane(self, grad):
        """One window a plane, without NaN, on the CPU: each plane's gradient to its first maximum
        (numpy's argmax: the element PyTorch's index points to), in a zeroed input-sized array."""
        n, c, h, w = self.x_shape
        first = np.argmax(self.padded.reshape(n * c, h * w), axis=1)
        return self._scattered(grad, np.arange(0, n * c * h * w, h * w) + first)

    def _backward_by_gather(self, grad, columns):
        """Tiling windows of ``GATHER_FROM_KERNEL`` values or more, without NaN, on the CPU. Per
        window, the first row whose maximum (forward's row maxima ``columns``) is the window's, then
        the first of that row's kw values equal to it: the element PyTorch's index points to. Both
        searches run over arrays of (windows x kernel side) values, laid out window-row (then column)
        first so that every pass runs along all the windows; the winners' gradients are written into
        a zeroed input-sized array by one scatter, so the other elements get PyTorch's 0.0."""
        x, best = self.padded, self.best
        n, c, _, _ = self.x_shape
        (kh, kw), (oh, ow) = self.kernel, best.shape[2:]
        windows = n * c * oh * ow
        maxima = best.reshape(-1)
        by_row = workspace.take(np, (kh, n, c, oh, ow), columns.dtype)
        np.copyto(by_row, columns.reshape(n, c, oh, kh, ow).transpose(3, 0, 1, 2, 4))
        row = first_true(np, by_row.reshape(kh, windows) == maxima)
        workspace.give(by_row)
        # x as rows of kw values (n c h ow, kw): window o of the p-th (n, c, oh) band, its row i, is
        # row (p kh + i) ow + o
        segment = (np.arange(n * c * oh).reshape(-1, 1) * (kh * ow) + np.arange(ow)).reshape(-1)
        segment += row * ow
        values = np.take(x.reshape(-1, kw), segment, axis=0)            # (windows, kw)
        column = first_true(np, np.ascontiguousarray(values.T) == maxima)
        return self._scattered(grad, segment * kw + column)

    def _scattered(self, grad, winners):
        """An input-sized gradient, zero but at the flat indices ``winners`` (one per output, in the
        output's order), which get ``grad``: PyTorch's 0.0 everywhere else."""
        out = _output(grad, self.x_shape)
        out.fill(0)
        out.reshape(-1)[winners] = grad.reshape(-1)
        return out

    def release(self):
        for name in ("columns", "row_maxima", "padded_buffer"):
            workspace.give(self.__dict__.get(name))
        super().release()

    def _backward_tiled(self, grad):
        """Each input element is in exactly one window, so every element of the gradient is written
        once, straight into its place (no zero-filled array, no temporaries of the gradient). The
        first offset claims where it holds the maximum; without NaN, the last offset takes whatever
        is still unclaimed (the maximum is somewhere in each window) without a comparison."""
        xp = xp_of(grad)
        x, best = self.padded, self.best
        n, c, h, w = self.x_shape
        (kh, kw), (oh, ow) = self.kernel, best.shape[2:]
        out = _output(grad, self.x_shape)
        tiles = out.reshape(n, c, oh, kh, ow, kw)
        inputs = x.reshape(n, c, oh, kh, ow, kw)
        nan_best = best != best if _has_nan(best) else None
        hit = xp.empty(best.shape, dtype=bool)
        unclaimed = None  # before the first offset, every window is unclaimed
        offsets = [(i, j) for i in range(kh) for j in range(kw)]
        for index, (i, j) in enumerate(offsets):
            window = inputs[:, :, :, i, :, j]
            last = index == len(offsets) - 1
            if last and unclaimed is not None and nan_best is None:
                xp.multiply(grad, unclaimed, out=tiles[:, :, :, i, :, j])
                break
            xp.equal(window, best, out=hit)
            if nan_best is not None:  # a NaN maximum came from a NaN input: route the gradient there
                hit |= nan_best & (window != window)
            if unclaimed is None:
                unclaimed = xp.logical_not(hit)
            else:
                hit &= unclaimed
                if not last:
                    xp.greater(unclaimed, hit, out=unclaimed)  # unclaimed and not hit
            xp.multiply(grad, hit, out=tiles[:, :, :, i, :, j])
        return out


class ReluMaxPool2d(MaxPool2d):
    """``max_pool2d(relu(x))`` as one node (``nn/fusion.py`` says where), computed as ``relu(max_pool2d(x))``:
    the maximum of a window's ReLU'd values is the ReLU of its maximum, so the ReLU runs on the pooled
    output, a quarter of the values under 2x2 windows, and its input-sized output is never made.
    Backward masks the pooled gradient where that output is 0 and routes it as the pooling does:
    where a window's maximum is positive, the first position holding it is the one the separate pair
    routes to; where it is 0 or below, the separate pair's ReLU zeroes whatever reaches the window, as
    the mask does; a NaN maximum routes to the NaN, whose gradient PyTorch's ReLU passes, as the mask
    (output != 0) does. The ReLU is ReLU's own node (``activation.Relu``: its pooled buffers, its
    gradient written over its output where nothing else can see it), as ``dense.LinearActivation``
    runs its activation's. Values and gradients are the pair's (a zero gradient's sign apart: the pair
    multiplies the routed gradient by 0, this node routes a gradient multiplied by 0)."""

    def name(self) -> str:
        return "ReluMaxPool2DBackward"

    def forward(self, x):
        self.relu = Relu()
        return self.relu.forward(super().forward(x))   # NaN stays NaN, as in ReLU

    def backward(self, g):
        return super().backward(self.relu.backward(g))


def _has_nan(best):
    if type(best) is np.ndarray:
        return best.size > 0 and bool(np.isnan(np.max(best)))  # one pass, no temporary
    return bool(xp_of(best).isnan(best).any())
