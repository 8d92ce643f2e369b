"""Converters: the layers' fused nodes: linear, embedding, convolutions, pooling, normalisation."""
from __future__ import annotations

import numpy as np

from ..ops.pool_adaptive import adaptive_bins
from .errors import ExportError
from .converters_elementwise import reduce
from .registry import converts


@converts("Linear")
def linear(ctx):
    x, weight = ctx.x(0), ctx.x(1)
    bias = ctx.x(2) if ctx.attrs["has_bias"] else None
    if len(ctx.in_shape(0)) == 2:  # one Gemm, as PyTorch writes nn.Linear on a batch of vectors
        ctx.emit_out("Gemm", [x, weight] + ([bias] if bias else []), transB=1)
        return
    product = ctx.emit("MatMul", [x, ctx.emit("Transpose", [weight], perm=[1, 0])])
    if bias:
        ctx.emit_out("Add", [product, bias])
    else:
        ctx.finish(product)


@converts("Embedding")
def embedding(ctx):
    indices = ctx.b.name_of(ctx.attrs["indices"])
    ctx.emit_out("Gather", [ctx.x(0), indices], axis=0)


@converts("Conv2d", "Conv3d")
def conv(ctx):
    pads = ctx.attrs["pads"]  # (begin, end) per spatial axis; ONNX lists every begin, then every end
    kernel = list(ctx.in_shape(1)[2:])
    inputs = [ctx.x(i) for i in range(ctx.n_inputs)]
    ctx.emit_out("Conv", inputs, kernel_shape=kernel, strides=list(ctx.attrs["stride"]),
                 pads=[int(lo) for lo, _ in pads] + [int(hi) for _, hi in pads],
                 dilations=list(ctx.attrs["dilation"]), group=int(ctx.attrs["groups"]))


@converts("ConvTranspose2d")
def conv_transpose2d(ctx):
    ph, pw = ctx.attrs["padding"]
    inputs = [ctx.x(i) for i in range(ctx.n_inputs)]
    ctx.emit_out("ConvTranspose", inputs, kernel_shape=list(ctx.in_shape(1)[2:]),
                 strides=list(ctx.attrs["stride"]), pads=[int(ph), int(pw), int(ph), int(pw)],
                 output_padding=list(ctx.attrs["output_padding"]), dilations=list(ctx.attrs["dilation"]),
                 group=int(ctx.attrs["groups"]))


@converts("MaxPool2d")
def max_pool2d(ctx):
    ph, pw = ctx.attrs["padding"]
    ctx.emit_out("MaxPool", [ctx.x(0)], kernel_shape=list(ctx.attrs["kernel"]), strides=list(ctx.attrs["stride"]),
                 pads=[int(ph), int(pw), int(ph), int(pw)], dilations=list(ctx.attrs["dilation"]),
                 ceil_mode=int(bool(ctx.attrs["ceil_mode"])))


@converts("AvgPool2d")
def avg_pool2d(ctx):
    ph, pw = ctx.attrs["padding"]
    kernel = list(ctx.attrs["kernel"])
    divisor = ctx.attrs.get("divisor_override")
    attrs = dict(kernel_shape=kernel, strides=list(ctx.attrs["stride"]), pads=[int(ph), int(pw), int(ph), int(pw)],
                 ceil_mode=int(bool(ctx.attrs["ceil_mode"])),
                 count_include_pad=int(bool(ctx.attrs["count_include_pad"]) or bool(divisor)))
    if not divisor:
        ctx.emit_out("AveragePool", [ctx.x(0)], **attrs)
        return
    pooled = ctx.emit("AveragePool", [ctx.x(0)], **attrs)  # the window's sum over the given divisor
    ctx.emit_out("Mul", [pooled, ctx.scalar(kernel[0] * kernel[1] / divisor)])


@converts("AdaptiveAvgPool2d")
def adaptive_avg_pool2d(ctx):
    h, w = ctx.in_shape()[2:]
    oh, ow = ctx.attrs["output_size"]
    if (oh, ow) == (1, 1):
        ctx.emit_out("GlobalAveragePool", [ctx.x(0)])
    elif h % oh == 0 and w % ow == 0:
        ctx.emit_out("AveragePool", [ctx.x(0)], kernel_shape=[h // oh, w // ow], strides=[h // oh, w // ow])
    else:  # bins of unequal sizes: the mean of a rectangle is the mean of its rows' means
        x = _bins_reduced(ctx, "ReduceMean", ctx.x(0), 2, adaptive_bins(h, oh))
        ctx.finish(_bins_reduced(ctx, "ReduceMean", x, 3, adaptive_bins(w, ow)))


@converts("AdaptiveMaxPool")
def adaptive_max_pool(ctx):
    """Adaptive max pooling over the last 1-3 axes (any bins): each axis's bins in turn, as the
    engine's node takes them (a maximum over a box is the maximum of its rows' maxima)."""
    sizes = ctx.attrs["output_size"]
    shape = ctx.in_shape()
    x = ctx.x(0)
    for i, out in enumerate(sizes):
        axis = len(shape) - len(sizes) + i
        x = _bins_reduced(ctx, "ReduceMax", x, axis, adaptive_bins(shape[axis], out))
    ctx.finish(x)


def _bins_reduced(ctx, op_type, x, axis, bins):
    """Each bin (start, stop) along ``axis`` reduced by ``op_type``, kept as an axis, concatenated."""
    parts = []
    for start, stop in bins:
        piece = ctx.emit("Slice", [x, ctx.b.ints([int(start)]), ctx.b.ints([int(stop)]), ctx.b.ints([axis])])
        parts.append(reduce(ctx, op_type, piece, [axis], True))
    return ctx.emit("Concat", parts, axis=axis)


@converts("BatchNorm")
def batch_norm(ctx):
    attrs = ctx.attrs
    x = ctx.x(0)
    channels = ctx.in_shape()[1]
    dtype = ctx.dtype(0)
    position = 1
    if attrs["has_weight"]:
        scale, position = ctx.x(position), position + 1
    else:
        scale = ctx.b.const(np.ones(channels, dtype=dtype), "ones")
    if attrs["has_bias"]:
        bias = ctx.x(position)
    else:
        bias = ctx.b.const(np.zeros(channels, dtype=dtype), "zeros")
    mean, var = attrs.get("fixed_mean"), attrs.get("fixed_var")
    if mean is None:  # no running statistics (track_running_stats=False): the batch's own
        axes = [0] + list(range(2, len(ctx.in_shape())))
        mean = reduce(ctx, "ReduceMean", x, axes, True)
        centered = ctx.emit("Sub", [x, mean])
        variance = reduce(ctx, "ReduceMean", ctx.emit("Mul", [centered, centered]), axes, True)
        normed = ctx.emit("Div", [centered, ctx.emit("Sqrt", [ctx.emit("Add", [variance, ctx.scalar(attrs["eps"])])])])
        shape = ctx.b.ints([1, channels] + [1] * (len(ctx.in_shape()) - 2), "shape")
        scaled = ctx.emit("Mul", [normed, ctx.emit("Reshape", [scale, shape])])
        ctx.emit_out("Add", [scaled, ctx.emit("Reshape", [bias, shape])])
        return
    mean_name, var_name = ctx.b.name_of(mean), ctx.b.name_of(var)
    if mean.dtype != dtype:
        raise ExportError(f"ONNX export: batch norm's running statistics are {mean.dtype} and its input "
                          f"{dtype} ({ctx.where()}); convert the model to one dtype first")
    ctx.emit_out("BatchNormalization", [x, scale, bias, mean_name, var_name], epsilon=float(attrs["eps"]))


@converts("LayerNorm")
def layer_norm(ctx):
    attrs = ctx.attrs
    n_axes = int(attrs["n_axes"])
    normalized = ctx.in_shape()[-n_axes:]
    dtype = ctx.dtype(0)
    position = 1
    if attrs["has_weight"]:
        scale, position = ctx.x(position), position + 1
    else:
        scale = ctx.b.const(np.ones(normalized, dtype=dtype), "ones")
    inputs = [ctx.x(0), scale] + ([ctx.x(position)] if attrs["has_bias"] else [])
    ctx.emit_out("LayerNormalization", inputs, axis=-n_axes, epsilon=float(attrs["eps"]))


@converts("GroupNorm")
def group_norm(ctx):
    """Each sample's channels in groups over (N, groups, rest), then the per-channel affine: ONNX's own
    GroupNormalization changed its scale's meaning at opset 21, so the decomposition serves every opset."""
    attrs = ctx.attrs
    x = ctx.x(0)
    rank, channels = len(ctx.in_shape()), ctx.in_shape()[1]
    grouped = ctx.emit("Reshape", [x, ctx.b.ints([0, int(attrs["groups"]), -1], "grouped")])
    mean = reduce(ctx, "ReduceMean", grouped, [2], True)
    centered = ctx.emit("Sub", [grouped, mean])
    variance = reduce(ctx, "ReduceMean", ctx.emit("Mul", [centered, centered]), [2], True)
    normed = ctx.emit("Div", [centered, ctx.emit("Sqrt", [ctx.emit("Add", [variance, ctx.scalar(attrs["eps"])])])])
    out = ctx.emit("Reshape", [normed, ctx.emit("Shape", [x])])
    shape = ctx.b.ints([1, channels] + [1] * (rank - 2), "shape")
    position = 1
    if attrs["has_weight"]:
        out = ctx.emit("Mul", [out, ctx.emit("Reshape", [ctx.x(position), shape])])
        position += 1
    if attrs["has_bias"]:
        out = ctx.emit("Add", [out, ctx.emit("Reshape", [ctx.x(position), shape])])
    ctx.finish(out)
