"""ConvTranspose2d, the adjoint of Conv2d.

On the CPU without dilation it runs by phases: with stride s, output row y gets the kernel rows
ky = (y + p) mod s, s + that, ..., so the output splits into s x s phases, each a stride-1
correlation of the input with that phase's kernel taps, flipped, and its channel axes swapped:
Conv2d's fast paths (image by image, flat planes for groups), written into every s-th row and column
of its phase. Where the kernel is not a multiple of the stride, some phases have fewer taps; where it is
smaller than the stride, some have none and their outputs are the bias alone. Elsewhere the columns
``W^T @ x`` of every input position, a (Cout*kh*kw, positions) matrix, are summed into the output by
col2im, one strided add per kernel offset.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Node
from .buffer_pool import lent_copy, padded_copy, workspace
from .common import xp_of
from .conv import Conv2d, _from_batch_last, _to_batch_last_rows, col2im, im2col


class ConvTranspose2d(Node):
    """x (N, Cin, H, W), weight (Cin, Cout/g, kh, kw) -> (N, Cout, OH, OW): the adjoint of Conv2d.

    On the CPU without dilation, by phases (see the module's docstring); elsewhere the columns
    ``W^T @ x`` of every input position are summed into the output by col2im."""

    # Phase planes (the convolution's output planes) from this size up go by phases: they run on
    # Conv2d's image-by-image path; on smaller ones col2im measured as fast or faster (a (64, 16, 14, 14)
    # input to 1 channel: 1.46 ms against 2.73 by phases).
    PHASE_PLANE = Conv2d.PLANE_FOR_CHANNELS_FIRST

    def __init__(self, stride, padding, output_padding, dilation, groups, has_bias):
        self.stride, self.padding, self.output_padding = stride, padding, output_padding
        self.dilation, self.groups, self.has_bias = dilation, groups, has_bias

    def _full_size(self, size, k, axis):
        s, d, op = self.stride[axis], self.dilation[axis], self.output_padding[axis]
        return (size - 1) * s + d * (k - 1) + 1 + op

    def forward(self, x, weight, bias=None):
        if type(x) is np.ndarray and tuple(self.dilation) == (1, 1):
            axes = self._phases(x.shape, weight.shape[2:])
            self.by_phase = math.prod(x.shape[2 + i] + sum(axes[i][1]) - axes[i][0] + 1
                                      for i in range(2)) >= self.PHASE_PLANE
            if self.by_phase:
                return self._forward_by_phase(x, weight, bias, axes)
        else:
            self.by_phase = False
        xp = xp_of(x)
        n, cin, h, w = x.shape
        _, cout_g, kh, kw = weight.shape
        g = self.groups
        cout = cout_g * g
        x_rows = _to_batch_last_rows(x)  # (Cin, H*W*N)
        self.x_rows, self.weight, self.x_shape = x_rows, weight, x.shape
        w_t = weight.reshape(g, cin // g, cout_g * kh * kw).transpose(0, 2, 1)  # (g, Cout_g*K, Cin_g)
        if g == 1:
            cols = w_t[0] @ x_rows
        else:
            cols = w_t @ x_rows.reshape(g, cin // g, -1)
        cols = cols.reshape(cout, kh, kw, h, w, n)
        full_shape = (cout, self._full_size(h, kh, 0), self._full_size(w, kw, 1), n)
        full = col2im(cols, full_shape, self.stride, self.dilation)
        ph, pw = self.padding
        out = full[:, ph:full_shape[1] - ph, pw:full_shape[2] - pw]
        if bias is not None:
            out += bias[:, None, None, None]
        result = lent_copy(xp, out.transpose(3, 0, 1, 2))
        workspace.give(full)
        return result

    def backward(self, grad):
        if self.by_phase:
            return self._backward_by_phase(grad)
        n, cin, h, w = self.x_shape
        weight, g = self.weight, self.groups
        _, cout_g, kh, kw = weight.shape
        cout = cout_g * g
        ph, pw = self.padding
        # the gradient padded back to forward's full (C, Hf, Wf, N) grid, whose im2col gives its columns
        full = padded_copy(grad.transpose(1, 2, 3, 0), 1, ((ph, ph), (pw, pw)))
        cols_buffer = im2col(full, (kh, kw), self.stride, self.dilation, (h, w))
        workspace.give(full)
        cols = cols_buffer.reshape(cout * kh * kw, -1)
        grad_bias = grad.sum(axis=(0, 2, 3)) if self.has_bias else None
        w_rows = weight.reshape(cin, cout_g * kh * kw)
        if g == 1:
            grad_x_rows = w_rows @ cols
            grad_weight = (self.x_rows @ cols.T).reshape(weight.shape)
        else:
            cols_g = cols.reshape(g, cout_g * kh * kw, -1)
            grad_x_rows = (w_rows.reshape(g, cin // g, -1) @ cols_g).reshape(cin, -1)
            grad_weight = (self.x_rows.reshape(g, cin // g, -1) @ cols_g.transpose(0, 2, 1))
            grad_weight = grad_weight.reshape(weight.shape)
        workspace.give(cols_buffer)
        grad_x = _from_batch_last(grad_x_rows, cin, h, w)
        if self.has_bias:
            return grad_x, grad_weight, grad_bias
        return grad_x, grad_weight

    # ------------------------------------------------------------------ by phases, on the CPU
    def _phases(self, x_shape, kernel):
        """Per axis: (taps a phase, (lo, hi) padding, phases, output size), each phase (r, first output,
        its index in the convolution's output, count), for the phases that have outputs."""
        axes = []
        for size, k, s, p, op in zip(x_shape[2:], kernel, self.stride, self.padding, self.output_padding):
            out = (size - 1) * s - 2 * p + k + op
            taps = -(-k // s)                            # every phase padded with zero taps to this many
            phases = []
            for r in range(s):
                first = (r - p) % s                      # the first output whose (index + p) % s == r
                count = len(range(first, out, s))
                if count:                                # its index in the full correlation (padding taps - 1)
                    phases.append((r, first, (first + p) // s, count))
            # padding taps - 1 before the input would make the full correlation; the phases start at
            # index min(start) of it or later, so less padding spares the rows before that
            lo = max(0, taps - 1 - min(start for _, _, start, _ in phases))
            shift = taps - 1 - lo
            phases = [(r, first, start - shift, count) for r, first, start, count in phases]
            reach = max(start + count for _, _, start, count in phases)
            axes.append((taps, (lo, max(0, reach - (size + lo - taps + 1))), phases, out))
        return axes

    def _phase_weight(self, weight, taps):
        """All phases' taps as one Conv2d weight (g * s_y * s_x * Cout/g, Cin/g, my, mx): phase (ry, rx)
        holds W[:, :, ry::s_y, rx::s_x] with its channel axes swapped and the kernel flipped, zero taps
        where the kernel is not a multiple of the stride (or smaller than it)."""
        g, (sy, sx), (my, mx) = self.groups, self.stride, taps
        cin, cout_g, kh, kw = weight.shape
        spread = np.zeros((cin, cout_g, sy * my, sx * mx), dtype=weight.dtype)
        spread[:, :, :kh, :kw] = weight
        # (g, Cin/g, Cout/g, my, sy, mx, sx) -> (g, sy, sx, Cout/g, Cin/g, my, mx), taps flipped
        phases = spread.reshape(g, cin // g, cout_g, my, sy, mx, sx).transpose(0, 4, 6, 2, 1, 3, 5)
        return np.ascontiguousarray(phases[..., ::-1, ::-1]).reshape(g * sy * sx * cout_g, cin // g, my, mx)

    def _phase_views(self, conv_out, out):
        """(phase slice of the convolution's output, the output's rows and columns of that phase) pairs:
        conv_out (N, g*sy*sx*Cout/g, H', W') and out (N, Cout, OH, OW)."""
        g, (sy, sx) = self.groups, self.stride
        n, cout = out.shape[:2]
        by_phase = conv_out.reshape((n, g, sy, sx, cout // g) + conv_out.shape[2:])
        grouped = out.reshape((n, g, cout // g) + out.shape[2:])
        (_, _, rows, _), (_, _, cols, _) = self.phase_axes
        for ry, y0, qy, cy in rows:
            for rx, x0, qx, cx in cols:
                yield (by_phase[:, :, ry, rx, :, qy:qy + cy, qx:qx + cx],
                       grouped[:, :, :, y0::sy, x0::sx])

    def _forward_by_phase(self, x, weight, bias, axes):
        """Stride s splits the output into s x s phases (rows and columns of one remainder modulo s),
        each a stride-1 correlation of x with that phase's taps of the kernel, flipped. All phases are
        one stride-1 Conv2d (Conv2d's fast paths) with s*s times the output channels, whose planes go
        into their phase's rows and columns: no col2im, and no (Cout*kh*kw, positions) columns."""
        self.phase_axes = axes
        (my, pads_y, _, out_h), (mx, pads_x, _, out_w) = axes
        n, cout = x.shape[0], weight.shape[1] * self.groups
        out = workspace.lend((n, cout, out_h, out_w), x.dtype)
        self.conv = Conv2d((1, 1), (pads_y, pads_x), (1, 1), self.groups, False)
        conv_out = self.conv.forward(x, self._phase_weight(weight, (my, mx)))
        for phase, place in self._phase_views(conv_out, out):
            place[...] = phase
        if bias is not None:
            out += bias[:, None, None]
        self.weight, self.x_shape, self.conv_shape = weight, x.shape, conv_out.shape
        return out

    def _backward_by_phase(self, grad):
        weight, g, (sy, sx) = self.weight, self.groups, self.stride
        cin, cout_g, kh, kw = weight.shape
        conv_grad = np.zeros(self.conv_shape, dtype=grad.dtype)
        for phase, place in self._phase_views(conv_grad, grad):
            phase[...] = place
        self.conv.inputs = self.inputs  # whether x needs a gradient (set on this node after its forward)
        grad_x, grad_phases = self.conv.backward(conv_grad)
        my, mx = grad_phases.shape[2:]
        taps = grad_phases.reshape(g, sy, sx, cout_g, cin // g, my, mx)[..., ::-1, ::-1]
        spread = taps.transpose(0, 4, 3, 5, 1, 6, 2).reshape(cin, cout_g, my * sy, mx * sx)
        grads = (grad_x, np.ascontiguousarray(spread[:, :, :kh, :kw]))
        return grads + (grad.sum(axis=(0, 2, 3)),) if self.has_bias else grads

    def release(self):
        if "conv" in self.__dict__:
            self.conv.release()
        super().release()
