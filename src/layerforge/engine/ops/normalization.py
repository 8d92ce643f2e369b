"""Normalisation kernels: batch, layer and group norm, fused so backward is one closed-form pass."""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Node
from .buffer_pool import lent, workspace
from .common import xp_of
from .rows import row_dots, row_sums


def _with_affine_grads(grad_x, grad_weight, grad_bias):
    """The gradients for the node's inputs: x, then weight and bias where they were inputs (not None)."""
    affine = [g for g in (grad_weight, grad_bias) if g is not None]
    return (grad_x, *affine) if affine else grad_x


def _scaled_rows(xp, rows, scale, shift, shape):
    """``rows * scale (+ shift)``, ``scale`` and ``shift`` being per-row operands (``_channel_operand``
    or values with a trailing axis of 1), in a new array of ``shape`` (a ``lent`` one: a fresh
    multi-megabyte array each step would fault its pages in wherever malloc gives them back)."""
    out = lent(xp, shape, rows.dtype)
    into = out.reshape(rows.shape)
    xp.multiply(rows, scale, out=into)
    if shift is not None:
        into += shift
    return out


def _less_scaled_rows(xp, grad, rows, scale, shift):
    """``grad -= rows * scale + shift`` in place, ``scale`` and ``shift`` per-row operands."""
    products = xp.multiply(rows, scale)
    grad -= products
    grad -= shift


# Per-channel values against (N, C, K) rows as a (C, 1) operand make numpy run one inner loop of K
# values per row with a scalar beside it; as a (C, K) plane (each value repeated over its channel's
# positions) the same pass runs over whole samples: x * scale + shift on (64, 16, 1024) 712 -> 482 us,
# on (64, 64, 4) 24 -> 10 us, the plane's fill included. Planes are made where a sample fits in one
# of ``_Blocks``' cache-sized blocks (the plane is read again for every sample, from the cache); with
# K = 1 numpy already runs whole samples.
def _channel_operand(xp, values, rows):
    """Per-channel values (C,) as an operand for (N, C, K) ``rows``: a (C, K) plane, or (C, 1)."""
    c, k = rows.shape[1], rows.shape[2]
    if xp is not np or k < 2 or c * k * rows.dtype.itemsize > _Blocks.BYTES:
        return values[:, None]
    plane = np.empty((c, k), dtype=values.dtype)
    np.copyto(plane, values[:, None])
    return plane


def _per_row(operand, part):
    """A block's share of a per-row operand: per channel, (C, 1) or a (C, K) plane, or per sample and
    channel, (N, C, 1); it broadcasts over the block's (samples, channels, positions) rows."""
    return operand[part[1]] if operand.ndim == 2 else operand[part]


class BatchNorm(Node):
    """Normalise over every axis but the channel axis (1).

    With ``mean``/``var`` given (eval mode, running statistics) they are constants; otherwise the
    batch's own statistics are used and differentiated through. The batch mean and biased variance
    are kept on the node (``batch_mean``, ``batch_var``) so the caller can update running stats.

    The values are handled as (N, C, K) rows (K the positions of one channel in one sample). An input
    larger than one cache-sized block (``_Blocks``) keeps no centred copy (it did until issue 20's
    sixth pass: one more input-sized array per layer from forward to backward, 7 MiB of the CIFAR-10
    example's step): the node keeps the input, which its graph holds anyway, its mean and the
    per-channel 1/std, and centres the values again a block at a time for the variance (BLAS dot
    products of each block with itself) and for backward's sums over g * x_hat (dot products of g with
    each block), as PyTorch's CPU kernel sums centred values; output and input gradient then take the
    forms of PyTorch's kernels, x * (weight/std) + (bias - mean * weight/std) and
    g * weight/std + x * c2 + c3 (c2, c3 per channel). A smaller input is centred once and that is
    kept: centred * scale + bias forward, g * scale - (centred * a + b) backward.
    """

    def __init__(self, eps, has_weight, has_bias, mean=None, var=None):
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias
        self.fixed_mean, self.fixed_var = mean, var

    def forward(self, x, weight=None, bias=None):
        xp = xp_of(x)
        rows = x.reshape(x.shape[0], x.shape[1], -1)
        count = rows.shape[0] * rows.shape[2]                    # values per channel
        self.blocks = None
        if self.fixed_mean is None:
            mean = (row_sums(xp, rows).sum(axis=0) / count).astype(x.dtype, copy=False)
            blocks = _Blocks(xp, rows)
            var = (blocks.squares(_channel_operand(xp, mean, rows)).sum(axis=0) / count).astype(x.dtype, copy=False)
            blocks.release()
            if blocks.whole:     # a small input (or a GPU's): its centred values, kept for backward
                self.blocks = blocks
            self.batch_mean, self.batch_var = mean, var
        else:
            mean = self.fixed_mean.astype(x.dtype, copy=False)
            var = self.fixed_var
        inv_std = (1.0 / xp.sqrt(var + self.eps)).astype(x.dtype, copy=False)
        scale = inv_std if weight is None else (inv_std * weight).astype(x.dtype, copy=False)
        if self.blocks is not None:   # centred * scale + bias: no shift to work out (a few us on small inputs)
            out = _scaled_rows(xp, self.blocks.kept, _channel_operand(xp, scale, rows),
                               None if bias is None else _channel_operand(xp, bias, rows), x.shape)
        else:  # PyTorch's form: x * (weight / std) + (bias - mean * weight / std), two passes over x
            shift = -mean * scale if bias is None else (bias - mean * scale).astype(x.dtype, copy=False)
            out = _scaled_rows(xp, rows, _channel_operand(xp, scale, rows), _channel_operand(xp, shift, rows),
                               x.shape)
        self.rows, self.mean, self.inv_std, self.weight = rows, mean, inv_std, weight
        self.batch_stats = self.fixed_mean is None
        self.fixed_mean = self.fixed_var = None  # backward needs the input, its mean and inv_std
        return out

    def backward(self, g):
        # From per-channel sums of g and of g * x_hat: grad_x = g * weight * inv_std, less (batch
        # statistics) the channel means of g * weight and of g * weight * x_hat (times x_hat), times inv_std.
        xp = xp_of(g)
        x_rows, mean, inv_std, weight = self.rows, self.mean, self.inv_std, self.weight
        rows = g.reshape(x_rows.shape)
        blocks = self.blocks or _Blocks(xp, x_rows)

        def spread(values):
            return _channel_operand(xp, values, x_rows)

        sum_gx = sum_g = None
        # each (sample, channel) row's sum of g, taken in the pass that dots g with the centred input
        row_g = xp.empty(rows.shape[:2], dtype=g.dtype) if self.has_bias or self.batch_stats else None
        if self.has_weight or self.batch_stats:   # sum of g * x_hat = inv_std * sum of g * centred
            sum_gx = (blocks.dots(rows, spread(mean), row_g).sum(axis=0) * inv_std).astype(g.dtype, copy=False)
        elif row_g is not None:
            row_g = row_sums(xp, rows)
        if row_g is not None:
            sum_g = row_g.sum(axis=0)
        scale = inv_std if weight is None else (inv_std * weight).astype(g.dtype, copy=False)
        if not self.batch_stats:
            grad_x = _scaled_rows(xp, rows, spread(scale), None, g.shape)
        else:  # the mean and variance depend on x too: less centred * a + b
            per_value = scale / (rows.shape[0] * rows.shape[2])
            a = (sum_gx * per_value * inv_std).astype(g.dtype, copy=False)
            b = (sum_g * per_value).astype(g.dtype, copy=False)
            if blocks.whole:   # from the kept centred values
                grad_x = _scaled_rows(xp, rows, spread(scale), None, g.shape)
                _less_scaled_rows(xp, grad_x.reshape(rows.shape), blocks.kept, spread(a), spread(b))
            else:  # PyTorch's form, g * scale + x * c2 + c3, with no centring again
                grad_x = blocks.affine(rows, spread(scale), spread(-a), spread(a * mean - b), g.shape)
        blocks.release()
        return _with_affine_grads(grad_x, sum_gx if self.has_weight else None,
                                  sum_g if self.has_bias else None)


class _Blocks:
    """The (N, C, K) rows of a normalisation, cut into blocks of about ``BYTES`` (whole samples, or
    channels of one sample where a sample is larger), with a scratch of one block's size, so that the
    centred values made in it are read back from the cache. 256 KiB measured best of 256 KiB to 1 MiB
    on the CIFAR-10 example's three batch norms.

    Rows of at most ``BYTES`` (and any rows on a GPU) are one block, whose centred values are made
    once and kept (``centered``), by forward for backward where the node keeps this object: for a
    small array the extra passes and calls of centring again cost more (BatchNorm1d on (256, 128):
    +10-20 us a step) than its memory."""

    BYTES = 256 * 2**10

    def __init__(self, xp, rows):
        n, c, k = rows.shape
        self.xp, self.rows, self.kept, self.scratch = xp, rows, None, None
        if xp is not np or rows.nbytes <= self.BYTES:
            self.parts = [(slice(None), slice(None))]
            return
        sample = c * k * rows.dtype.itemsize
        if sample <= self.BYTES or c == 1:
            step = max(1, self.BYTES // sample)
            self.parts = [(slice(i, min(i + step, n)), slice(None)) for i in range(0, n, step)]
            shape = (min(step, n), c, k)
        else:
            step = max(1, self.BYTES // (k * rows.dtype.itemsize))
            self.parts = [(slice(i, i + 1), slice(j, min(j + step, c)))
                          for i in range(n) for j in range(0, c, step)]
            shape = (1, step, k)
        self.scratch = workspace.take(np, shape, rows.dtype)

    def __iter__(self):
        return iter(self.parts)

    @property
    def whole(self):
        """One block: its centred values are kept, not made again (not to be written into)."""
        return self.scratch is None

    def centered(self, part, mean):
        """The block's rows less their mean (in the scratch, or kept for a whole block); ``mean`` is
        a per-row operand (see ``_per_row``)."""
        if self.whole:
            if self.kept is None:
                self.kept = self.rows - _per_row(mean, self.parts[0])
            return self.kept
        rows = self.rows[part]
        return np.subtract(rows, _per_row(mean, part), out=self.scratch[:rows.shape[0], :rows.shape[1]])

    def squares(self, mean):
        """Each row's sum of its centred values squared (N, C)."""
        return self.dots(None, mean)

    def dots(self, other, mean, sums=None):
        """Each row's dot product of ``other`` (rows of the same shape; None: the centred rows
        themselves) with the centred rows (N, C), by BLAS, a block at a time; with ``sums`` (N, C),
        also each row's sum of ``other`` into it, from the block just read (one pass over ``other``
        less: batch norm's backward on (64, 16, 32, 32) 2.61-2.70 -> 2.31-2.32 ms, on (64, 32, 16, 16)
        1.37-1.43 -> 1.29-1.32 ms)."""
        if self.whole:
            centered = self.centered(None, mean)
            if sums is not None:
                sums[...] = row_sums(self.xp, other)
            return row_dots(self.xp, centered if other is None else other, centered)
        out = np.empty(self.rows.shape[:2], dtype=self.rows.dtype)
        for part in self.parts:
            centered = self.centered(part, mean)
            out[part] = row_dots(np, centered if other is None else other[part], centered)
            if sums is not None:
                sums[part] = row_sums(np, other[part])
        return out

    def affine(self, g, scale, c2, c3, shape):
        """``g * scale + rows * c2 + c3`` (per-row operands, see ``_per_row``) in a new array of ``shape``,
        a block at a time: PyTorch's form of a normalisation's input gradient."""
        out = lent(self.xp, shape, g.dtype)
        out_rows = out.reshape(g.shape)
        for part in self.parts:
            into, rows, factor = out_rows[part], self.rows[part], _per_row(c2, part)
            self.xp.multiply(g[part], _per_row(scale, part), out=into)
            if self.whole:
                into += rows * factor
            else:
                into += np.multiply(rows, factor, out=self.scratch[:rows.shape[0], :rows.shape[1]])
            into += _per_row(c3, part)
        return out

    def release(self):
        workspace.give(self.scratch)


class LayerNorm(Node):
    """Normalise over the last ``n_axes`` axes; weight and bias have those axes' shape."""

    def __init__(self, n_axes, eps, has_weight, has_bias):
        self.n_axes, self.eps = n_axes, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    # On the CPU the rows (one per normalised group, of K values) go a block of about this many bytes
    # at a time through every pass, so that the passes after the first find the block in the cache,
    # and their sums and dot products are BLAS's (rows.py), where numpy's mean ran one short loop per
    # row. Forward + backward of the node: the transformer row's (32, 32, 64) 0.45 -> 0.36 ms,
    # (64, 64, 256) 7.2 -> 5.8 ms, (32, 16, 32, 32) over (16, 32, 32) 3.2 -> 2.2 ms. (Keeping the
    # input instead of the normalised values, and normalising again in backward, made forward faster
    # and backward slower: even at best.)
    ROW_BLOCK_BYTES = 512 << 10

    def forward(self, x, weight=None, bias=None):
        xp = xp_of(x)
        axes = tuple(range(x.ndim - self.n_axes, x.ndim))
        self.axes = axes
        self.by_rows = xp is np and x.size > 0 and x.dtype.kind == "f"
        if self.by_rows:
            return self._forward_rows(x, weight, bias)
        # The arrays of a step (the normalised input, kept for backward, and the output) are lent
        # buffers, the squares a workspace scratch, and the rest is worked in place: the same
        # operations in the same order as the plain expressions, bit for bit.
        mean = x.mean(axis=axes, keepdims=True)
        x_hat = xp.subtract(x, mean, out=lent(xp, x.shape, x.dtype))        # centred, for now
        squares = xp.multiply(x_hat, x_hat, out=workspace.take(xp, x.shape, x.dtype))
        var = squares.mean(axis=axes, keepdims=True)
        workspace.give(squares)
        inv_std = (1.0 / xp.sqrt(var + self.eps)).astype(x.dtype, copy=False)
        x_hat *= inv_std
        self.x_hat, self.inv_std, self.weight = x_hat, inv_std, weight
        if weight is None and bias is None:
            return x_hat
        out = lent(xp, x.shape, x.dtype)
        if weight is None:
            return xp.add(x_hat, bias, out=out)
        xp.multiply(x_hat, weight, out=out)
        if bias is not None:
            out += bias
        return out

    def _blocks(self, rows):
        """Row ranges of about ``ROW_BLOCK_BYTES`` (at least one row)."""
        count, k = rows.shape
        step = max(1, self.ROW_BLOCK_BYTES // max(1, k * rows.itemsize))
        return [slice(start, min(start + step, count)) for start in range(0, count, step)]

    def _forward_rows(self, x, weight, bias):
        k = math.prod(x.shape[x.ndim - self.n_axes:])
        rows = np.ascontiguousarray(x).reshape(-1, k)
        x_hat = lent(np, x.shape, x.dtype)
        hat_rows = x_hat.reshape(rows.shape)
        out = x_hat if weight is None and bias is None else lent(np, x.shape, x.dtype)
        out_rows = out.reshape(rows.shape)
        w = None if weight is None else weight.reshape(k)
        b = None if bias is None else bias.reshape(k)
        inv_std = np.empty(rows.shape[0], dtype=x.dtype)
        count = x.dtype.type(k)
        for block in self._blocks(rows):
            mean = row_sums(np, rows[block])
            mean /= count
            centred = np.subtract(rows[block], mean[:, None], out=hat_rows[block])
            var = row_dots(np, centred, centred)
            var /= count
            inv = inv_std[block]
            np.sqrt(var + x.dtype.type(self.eps), out=inv)
            np.reciprocal(inv, out=inv)
            centred *= inv[:, None]
            if out is x_hat:
                continue
            into = out_rows[block]
            if w is None:
                np.add(centred, b, out=into)
                continue
            np.multiply(centred, w, out=into)
            if b is not None:
                into += b
        self.x_hat, self.inv_std, self.weight = x_hat, inv_std, weight
        return out

    def _backward_rows(self, g):
        x_hat, inv_std, weight = self.x_hat, self.inv_std, self.weight
        k = math.prod(x_hat.shape[x_hat.ndim - self.n_axes:])
        hat_rows = x_hat.reshape(-1, k)
        g_rows = np.ascontiguousarray(g).reshape(hat_rows.shape)
        w = None if weight is None else weight.reshape(k)
        grad_x = lent(np, x_hat.shape, g.dtype)
        grad_rows = grad_x.reshape(hat_rows.shape)
        grad_weight = np.zeros(k, dtype=g.dtype) if self.has_weight else None
        grad_bias = np.zeros(k, dtype=g.dtype) if self.has_bias else None
        blocks = self._blocks(hat_rows)
        scratch = workspace.take(np, (blocks[0].stop - blocks[0].start, k), g.dtype)
        count = g.dtype.type(k)
        for block in blocks:
            gb, hat, into = g_rows[block], hat_rows[block], grad_rows[block]
            products = scratch[:gb.shape[0]]
            if grad_weight is not None:
                grad_weight += np.add.reduce(np.multiply(gb, hat, out=products), axis=0)
            if grad_bias is not None:
                grad_bias += np.add.reduce(gb, axis=0)
            g_hat = gb if w is None else np.multiply(gb, w, out=into)
            mean_g = row_sums(np, g_hat)
            mean_g /= count
            mean_gx = row_dots(np, g_hat, hat)
            mean_gx /= count
            # (g_hat - mean_g - x_hat * mean_gx) * inv_std, in the gradient's block
            np.subtract(g_hat, mean_g[:, None], out=into)
            into -= np.multiply(hat, mean_gx[:, None], out=products)
            into *= inv_std[block, None]
        workspace.give(scratch)
        shape = x_hat.shape[x_hat.ndim - self.n_axes:]
        return _with_affine_grads(grad_x, None if grad_weight is None else grad_weight.reshape(shape),
                                  None if grad_bias is None else grad_bias.reshape(shape))

    def backward(self, g):
        if self.by_rows:
            return self._backward_rows(g.astype(self.x_hat.dtype, copy=False))
        xp = xp_of(g)
        x_hat, axes = self.x_hat, self.axes
        lead = tuple(range(g.ndim - self.n_axes))
        scratch = workspace.take(xp, x_hat.shape, x_hat.dtype)
        grad_weight = xp.multiply(g, x_hat, out=scratch).sum(axis=lead) if self.has_weight else None
        grad_bias = g.sum(axis=lead) if self.has_bias else None
        if self.weight is not None:
            g_hat = xp.multiply(g, self.weight, out=lent(xp, x_hat.shape, x_hat.dtype))
        else:
            g_hat = g
        mean_g = g_hat.mean(axis=axes, keepdims=True)
        mean_gx = xp.multiply(g_hat, x_hat, out=scratch).mean(axis=axes, keepdims=True)
        # (g_hat - mean_g - x_hat * mean_gx) * inv_std, in the lent buffer
        grad_x = g_hat if g_hat is not g else lent(xp, x_hat.shape, x_hat.dtype)
        xp.subtract(g_hat, mean_g, out=grad_x)
        grad_x -= xp.multiply(x_hat, mean_gx, out=scratch)
        grad_x *= self.inv_std
        workspace.give(scratch)
        return _with_affine_grads(grad_x, grad_weight, grad_bias)


class GroupNorm(Node):
    """Normalise each sample's channels in ``groups`` groups, each over its channels and positions;
    weight and bias are per channel. One node (the composed version, mean, var, subtract, divide and
    the affine as eight graph nodes, ran 7x PyTorch's time). As ``BatchNorm``: the node keeps the
    input, the mean and 1/std per (sample, group), and no centred copy; the variance and backward's
    sums come from BLAS dot products of centred blocks made in the cache, to which the per-channel
    weight and the per-group statistics both reduce.

    Where two or more samples fit one of ``_Blocks``' cache-sized blocks (on the CPU), forward takes a
    block of whole samples at a time (``_forward_by_samples``): their sums, their values centred into
    the output, the variance from those, then the output scaled and weighted there, so the input is
    read from memory once where the whole-array passes read it three times, and the per-channel
    weight and bias are (C, K) planes (``_channel_operand``) where x * a + b took per-(sample,
    channel) operands, one short numpy loop per row. Forward, one thread: (32, 16, 32, 32) in 4
    groups 0.89-0.95 -> 0.73-0.86 ms, in 16 without weights (instance norm's) 0.88-0.93 -> 0.61-0.71,
    (64, 32, 16, 16) in 8 0.86-0.93 -> 0.72-0.82; (x - mean) / std * weight + bias in that order, where
    PyTorch rounds x * a + b: float rounding apart. Elsewhere the output is PyTorch's x * a + b with a
    and b per (sample, channel)."""

    def __init__(self, groups, eps, has_weight, has_bias):
        self.groups, self.eps = groups, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    def forward(self, x, weight=None, bias=None):
        xp = xp_of(x)
        n, c = x.shape[0], x.shape[1]
        grouped = x.reshape(n, self.groups, -1)                   # (N, groups, values per group)
        rows = x.reshape(n, c, -1)
        if xp is np and n and 2 * rows[0].nbytes <= _Blocks.BYTES and x.dtype.kind == "f":
            out, mean, var, inv_std = self._forward_by_samples(grouped, rows, weight, bias, x.shape)
            self.rows, self.mean, self.inv_std, self.weight = rows, mean, inv_std, weight
            self.batch_mean, self.batch_var = mean, var
            return out
        count = grouped.shape[2]
        mean = (row_sums(xp, grouped) / count).astype(x.dtype, copy=False)
        blocks = _Blocks(xp, grouped)
        var = blocks.squares(mean[..., None]) / count
        blocks.release()
        inv_std = (1.0 / xp.sqrt(var + self.eps)).astype(x.dtype, copy=False)   # (N, groups)
        scale = self._per_channel(xp, inv_std, c)                 # (N, C): 1/std of the channel's group
        if weight is not None:
            scale = (scale * weight).astype(x.dtype, copy=False)
        shift = -self._per_channel(xp, mean, c) * scale
        if bias is not None:
            shift += bias
        out = _scaled_rows(xp, rows, scale[..., None], shift.astype(x.dtype, copy=False)[..., None], x.shape)
        self.rows, self.mean, self.inv_std, self.weight = rows, mean, inv_std, weight
        self.batch_mean, self.batch_var = mean, var   # (N, groups), for instance norm's running statistics
        return out

    def _forward_by_samples(self, grouped, rows, weight, bias, shape):
        """(output, mean, var, 1/std), a cache-sized block of whole samples at a time (see the class)."""
        n, groups, count = grouped.shape
        dtype = grouped.dtype
        out = lent(np, shape, dtype)
        out_grouped, out_rows = out.reshape(grouped.shape), out.reshape(rows.shape)
        mean = np.empty((n, groups), dtype=dtype)
        var = np.empty((n, groups), dtype=dtype)
        inv_std = np.empty((n, groups), dtype=dtype)
        planes = [None if v is None else _channel_operand(np, v.astype(dtype, copy=False), rows)
                  for v in (weight, bias)]
        step = _Blocks.BYTES // rows[0].nbytes
        for start in range(0, n, step):
            part = slice(start, start + step)
            values, centred = grouped[part], out_grouped[part]
            mean[part] = row_sums(np, values) / count
            np.subtract(values, mean[part, :, None], out=centred)
            var[part] = row_dots(np, centred, centred) / count
            np.sqrt(var[part] + self.eps, out=inv_std[part])
            np.divide(1.0, inv_std[part], out=inv_std[part])
            centred *= inv_std[part, :, None]
            for plane, apply in zip(planes, (np.multiply, np.add)):
                if plane is not None:
                    apply(out_rows[part], plane, out=out_rows[part])
        return out, mean, var, inv_std

    def _per_channel(self, xp, per_group, channels):
        """(N, groups) -> (N, C): each channel gets its group's value."""
        n = per_group.shape[0]
        return xp.broadcast_to(per_group[..., None], (n, self.groups, channels // self.groups)).reshape(n, channels)

    def backward(self, g):
        # PyTorch's form: from ds = sum(g * x) and db = sum(g) per (sample, channel),
        # grad = g * weight * inv_std + c2 * x + c3, with c2 and c3 per (sample, group)
        xp = xp_of(g)
        n, c = g.shape[0], g.shape[1]
        groups = self.groups
        rows_x = self.rows
        rows_g = g.reshape(rows_x.shape)
        inv_std = self.inv_std                                     # (N, groups)
        channel_inv_std = self._per_channel(xp, inv_std, c)       # (N, C)
        channel_mean = self._per_channel(xp, self.mean, c)
        sum_gx_raw = row_dots(xp, rows_g, rows_x)                  # (N, C): sums of g * x
        sum_g = row_sums(xp, rows_g)                              # (N, C)
        sum_gx = ((sum_gx_raw - channel_mean * sum_g) * channel_inv_std).astype(g.dtype, copy=False)  # g * x_hat
        grad_weight = sum_gx.sum(axis=0) if self.has_weight else None
        grad_bias = sum_g.sum(axis=0) if self.has_bias else None
        weight = self.weight
        scale = channel_inv_std
        if weight is not None:
            sum_gx, sum_g = sum_gx * weight, sum_g * weight
            scale = (scale * weight).astype(g.dtype, copy=False)
        count = rows_g.shape[2] * (c // groups)                    # values per group
        # per group: mean of (g * weight) and of (g * weight * x_hat), each times inv_std
        mean_g = sum_g.reshape(n, groups, -1).sum(axis=2) / count * inv_std
        mean_gx = sum_gx.reshape(n, groups, -1).sum(axis=2) / count * inv_std
        # grad = g * scale - (x - mean) * (inv_std * mean_gx) - mean_g = g * scale + c2 * x + c3
        c2 = -mean_gx * inv_std
        c3 = -c2 * self.mean - mean_g
        c2, c3 = (self._per_channel(xp, v.astype(g.dtype, copy=False), c) for v in (c2, c3))
        blocks = _Blocks(xp, rows_x)
        grad = blocks.affine(rows_g, scale[..., None], c2[..., None], c3[..., None], g.shape)
        blocks.release()
        return _with_affine_grads(grad, grad_weight, grad_bias)
