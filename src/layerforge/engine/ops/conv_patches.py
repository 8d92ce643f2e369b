"""Conv2d on the CPU with each output position's patch as one row of the columns (channels-last im2col).

For an ungrouped, undilated convolution with enough input channels on a plane with short
rows (the CIFAR-10 example's 16x16 second stage, the digits examples' 8x8 ones; ``applies`` says
where, and why), the input is copied once into a zero-padded (N, Hp, Wp, C) array. There an output
position's patch is kh runs of kw*C contiguous values (48 for 16 channels and a 3x3 kernel), so the
columns of a chunk of images, (positions, kh*kw*C), are one numpy copy of a sliding-window view in
runs of kw*C values, where the image-by-image layout of ``conv.py`` copies runs of OW (16 values on a
16x16 plane). And ``columns @ weight rows`` (positions, K) @ (K, O) is the orientation in which
OpenBLAS runs these skinny products fastest: 32 channels x 144 by 16,384 positions at 104 GFLOP/s
against 81 for ``weight @ columns`` (OpenBLAS's AVX-512 kernels, one thread); cut into row blocks, they
also reach its small-matrix kernels (``small_products.py``).

Backward rebuilds each chunk's columns from the kept padded input (the batch's columns would be
kernel-size times the input, held from forward to backward), except on small planes (``KEEP_BELOW``):

- weight gradient: each image's gradient (O, positions), as it comes, ``@`` its columns (positions, K);
  on small planes the kept columns^T ``@`` the gradient moved to (positions, O), one product;
- input gradient: the forward convolution, in the same layout, of the output gradient zero-padded by
  ``k - 1 - padding`` with the kernel flipped and its channel axes swapped (a "full" convolution: the
  adjoint of this one), so it reuses the same copy-and-product loop and needs no scatter-add. With a
  stride, that adjoint would run on a gradient dilated with zeros (4x the work for stride 2), so the
  input gradient is conv.py's, by phases (``Conv2d.input_gradient_by_phases``).

Strided (a downsampling 3x3 or 1x1), a patch is still kh runs of kw*C values, where the image-by-image
layout copies every s-th value: forward + backward, one thread, 3x3 stride 2, 16 -> 32 channels on
32x32 (batch 32) 6.3-6.6 -> 5.5-5.6 ms, batch 64 13.1 -> 10.9; 1x1 stride 2, 128 -> 256 on 16x16
10.0-11.3 -> 8.0-8.1; 32 -> 64 on 16x16 and 64 -> 128 on 16x16 and 32x32 even to 3 % faster.

Results come back in PyTorch's (N, C, H, W): each chunk's (positions, O) product is transposed into its
images while still in the cache (forward adds the bias to the product's rows just before).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .buffer_pool import lent, padded_copy, workspace
from .small_products import cut_product, row_and_inner_blocks, row_blocks

# Columns per chunk of images: they stay in the cache between their copy and the product.
CHUNK_BYTES = 1 << 20
# Where it pays: output rows of at most 16 and patch rows of at least 48 values (16 channels under a 3x3
# kernel). Measured (batch 64, one thread), forward + backward: the CIFAR-10 row's 16x16 conv2 10.9-11.1
# -> 9.4-9.5 ms alone and 12.1-12.3 -> 11.4-11.6 in the model; the shipped digits_residual example's
# step (8x8 planes, 16 channels) 6.85-7.09 -> 6.21-6.51 ms. Elsewhere it lost: a first layer's 1 or 3
# channels copy in runs too short (LeNet's 6 channels under 5x5: 2.9 -> 5.5 ms), and on the MNIST
# example's 24x24 output the transposing copies of outputs and gradients cost more than the columns
# save (56 -> 68 ms; see MOST_WIDE_OUTPUTS).
FEWEST_ROW_VALUES = 48
LONGEST_ROW = 16
# Longer output rows take it too where the outputs are few: at most 32 output channels and no more
# than the input's (the input gradient's columns are 9 x O values a position, the forward's 9 x C).
# Forward + backward: 32 -> 32 channels on 24x24 36.8-39.5 -> 29.5-29.7 ms, on 48x48 80-82 -> 66;
# 64 -> 32 on 32x32 67.6-70.5 -> 56.7-60.0; 32 -> 16 on 28x28 39.6-40.0 -> 27.0-27.6. With more
# outputs than inputs it lost (16 -> 32 on 64x64: 34.9-36.6 -> 37.5-38.0; 32 -> 64 on 24x24, the
# MNIST example's: 52.5-55.5 -> 61-70).
MOST_WIDE_OUTPUTS = 32
# Planes of fewer positions keep the batch's columns from forward to backward (64 x 64 positions x 288
# values: 4.7 MB for the CIFAR row's conv3, what the batch-last layout kept there), so the weight
# gradient is one product over the whole batch instead of many tiny ones per image (8x8 planes,
# 64 -> 64 channels, backward 9.2 -> 7.5 ms); larger ones rebuild each chunk's columns in backward.
KEEP_BELOW = 256


def applies(x, weight, stride, pads, dilation, groups, out_hw):
    """Whether this layout serves the convolution: CPU, one group, stride and dilation 1, padding at
    most ``k - 1`` on each side, output rows of at most ``LONGEST_ROW`` and patch rows of at least
    ``FEWEST_ROW_VALUES`` (longer rows with few outputs: ``MOST_WIDE_OUTPUTS``); a 1x1 kernel only on
    planes that keep their columns (``KEEP_BELOW``): on larger ones the image-by-image product reads
    the input as it is, with no window copy to save (64 -> 64 channels on 16x16: 8.2 -> 11.3 ms
    forward + backward; on 8x8, 64 -> 128: 6.1 -> 4.4)."""
    c = x.shape[1]
    o, _, kh, kw = weight.shape
    (pt, pb), (pl, pr) = pads
    oh, ow = out_hw
    strided = tuple(stride) != (1, 1)
    return (type(x) is np.ndarray and groups == 1 and tuple(dilation) == (1, 1)
            and c * kw >= FEWEST_ROW_VALUES and (ow <= LONGEST_ROW or o <= min(c, MOST_WIDE_OUTPUTS))
            and (kh * kw > 1 or oh * ow < KEEP_BELOW)
            and (strided or (max(pt, pb) < kh and max(pl, pr) < kw)))


def _patches(padded, kh, kw, stride):
    """The (N, OH, OW, kh, kw, C) view of ``padded`` (N, Hp, Wp, C): every position's patch, no copy."""
    (sh, sw), (oh, ow) = stride, _out_hw(padded, kh, kw, stride)
    view = sliding_window_view(padded, (kh, kw), axis=(1, 2))[:, :(oh - 1) * sh + 1:sh, :(ow - 1) * sw + 1:sw]
    return view.transpose(0, 1, 2, 4, 5, 3)


def _out_hw(padded, kh, kw, stride):
    return (padded.shape[1] - kh) // stride[0] + 1, (padded.shape[2] - kw) // stride[1] + 1


def _images_per_chunk(k, positions, itemsize):
    return max(1, CHUNK_BYTES // max(1, k * positions * itemsize))


def _column_chunks(padded, kh, kw, step, stride, keep=None):
    """Yields (start, m, columns) for each chunk of ``step`` images (the last may be shorter): their
    columns (m * positions, kh*kw*C) copied from ``padded`` (N, Hp, Wp, C), into ``keep`` (the batch's
    columns) where given, else into one workspace buffer reused from chunk to chunk."""
    n, hp, wp, c = padded.shape
    oh, ow = _out_hw(padded, kh, kw, stride)
    positions = oh * ow
    cols = keep if keep is not None else workspace.take(np, (step * positions, kh * kw * c), padded.dtype)
    patches = _patches(padded, kh, kw, stride)
    for start in range(0, n, step):
        m = min(step, n - start)
        chunk = cols[start * positions:(start + m) * positions] if keep is not None else cols[:m * positions]
        np.reshape(chunk, (m, oh, ow, kh, kw, c), copy=False)[...] = patches[start:start + m]
        yield start, m, chunk
    if keep is None:
        workspace.give(cols)


def _convolve(padded, w_rows, bias, out, kh, kw, stride=(1, 1), keep=None):
    """``out`` (N, O, OH*OW) = the convolution of ``padded`` (N, Hp, Wp, C) with ``w_rows`` (kh*kw*C, O)
    (rows ordered kernel row, kernel column, channel), plus ``bias`` (O,) if given; with ``keep``
    (N*OH*OW, kh*kw*C), every chunk's columns are written there and stay."""
    k, o = w_rows.shape
    oh, ow = _out_hw(padded, kh, kw, stride)
    positions = oh * ow
    step = _images_per_chunk(k, positions, padded.dtype.itemsize)
    rows = workspace.take(np, (step * positions, o), padded.dtype)
    # OpenBLAS's small-matrix kernels (small_products.py): the cut of a whole chunk's product, asked once
    full_cut = row_and_inner_blocks(np, step * positions, k, o)
    scratch = None   # the inner pieces' products, where a chunk's product is cut along its inner dimension
    if full_cut[1] > 1:
        scratch = workspace.take(np, (full_cut[1] * step * positions * o,), padded.dtype)
    for start, m, chunk in _column_chunks(padded, kh, kw, step, stride, keep):
        product = rows[:m * positions]
        cut = full_cut if m == step else row_and_inner_blocks(np, m * positions, k, o)
        cut_product(chunk, w_rows, product, cut, scratch)
        images = product.reshape(m, positions, o).transpose(0, 2, 1)
        if bias is not None:
            product += bias  # along the rows, before the transposing copy: 5 % faster than in it
        out[start:start + m] = images
    workspace.give(rows)
    workspace.give(scratch)


def forward(node, x, weight, bias):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    padded = padded_copy(x.transpose(0, 2, 3, 1), 1, node.pads)
    oh, ow = _out_hw(padded, kh, kw, node.stride)
    out = workspace.lend((n, o, oh * ow), x.dtype)
    w_rows = np.ascontiguousarray(weight.transpose(2, 3, 1, 0)).reshape(kh * kw * c, o)
    keep = None
    if oh * ow < KEEP_BELOW:  # Conv2d.release gives it back
        keep = node.cols_buffer = workspace.take(np, (n * oh * ow, kh * kw * c), x.dtype)
    _convolve(padded, w_rows, bias, out, kh, kw, node.stride, keep)
    if keep is None:
        node.padded_buffer = padded  # backward rebuilds the columns from it; Conv2d.release gives it back
    else:
        workspace.give(padded)
    node.weight, node.x_shape = weight, x.shape
    return out.reshape(n, o, oh, ow)


def backward(node, grad, want_x):
    """The node's gradients: (input gradient or None, weight gradient[, bias gradient] with a bias)."""
    weight = node.weight
    n, c, h, w = node.x_shape
    o, _, kh, kw = weight.shape
    oh, ow = grad.shape[2:]
    positions, dtype = oh * ow, grad.dtype
    rows = np.ascontiguousarray(grad).reshape(n, o, positions)
    grad_bias = np.add.reduce(np.add.reduce(rows, axis=0), axis=1) if node.has_bias else None
    kept = node.__dict__.get("cols_buffer")
    if kept is not None:
        grad_pm = workspace.take(np, (n * positions, o), dtype)
        np.reshape(grad_pm, (n, positions, o), copy=False)[...] = rows.transpose(0, 2, 1)
        grad_w_t = kept.T @ grad_pm
        workspace.give(grad_pm)
        grad_weight = np.ascontiguousarray(grad_w_t.reshape(kh, kw, c, o).transpose(3, 2, 0, 1))
    else:
        grad_weight = _weight_gradient(node.padded_buffer, rows, n, c, o, kh, kw, node.stride, dtype)
    grad_x = None
    if want_x and tuple(node.stride) != (1, 1):
        grad_x = node.input_gradient_by_phases(grad)   # the forward's adjoint would dilate the gradient
    elif want_x:
        (pt, pb), (pl, pr) = node.pads
        full = padded_copy(grad.transpose(0, 2, 3, 1), 1, ((kh - 1 - pt, kh - 1 - pb), (kw - 1 - pl, kw - 1 - pr)))
        flipped = np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(2, 3, 0, 1)).reshape(kh * kw * o, c)
        grad_x = lent(np, (n, c, h * w), dtype)
        _convolve(full, flipped, None, grad_x, kh, kw)
        workspace.give(full)
        grad_x = grad_x.reshape(n, c, h, w)
    return (grad_x, grad_weight, grad_bias) if node.has_bias else (grad_x, grad_weight)


def _weight_gradient(padded, rows, n, c, o, kh, kw, stride, dtype):
    """(O, C, kh, kw): each image's gradient rows (O, positions) @ its columns (positions, K), rebuilt a
    chunk at a time, the positions cut in pieces small enough for OpenBLAS's small-matrix kernels."""
    positions, k = rows.shape[2], kh * kw * c
    step = _images_per_chunk(k, positions, dtype.itemsize)
    pieces = row_blocks(np, positions, o, k)
    partial = np.empty((step * pieces, o, k), dtype=dtype)
    grad_w_rows = np.zeros((o, k), dtype=dtype)
    for start, m, chunk in _column_chunks(padded, kh, kw, step, stride):
        by_piece = rows[start:start + m].reshape(m, o, pieces, -1).transpose(0, 2, 1, 3)
        np.matmul(by_piece, chunk.reshape(m, pieces, -1, k), out=partial[:m * pieces].reshape(m, pieces, o, k))
        grad_w_rows += np.add.reduce(partial[:m * pieces], axis=0)
    return np.ascontiguousarray(grad_w_rows.reshape(o, kh, kw, c).transpose(0, 3, 1, 2))
