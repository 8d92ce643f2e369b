"""ONNX conversions, one per catalog layer type, reading the layer's declared parameters.

``CONVERTERS[layer type](ctx)`` emits the ONNX nodes for one graph node and returns the name of its
output. Every converter reproduces PyTorch's evaluation-mode semantics (the engine's), e.g. max
pooling floors the output size (``ceil_mode=0``), average pooling counts the padding, dropout is the
identity, batch norm uses the running statistics (or the batch's, without them, as PyTorch does).
"""
from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np

from .onnx_attention import ATTENTION_CONVERTERS
from .onnx_graph import LayerContext
from .onnx_recurrent import RECURRENT_CONVERTERS

Converter = Callable[[LayerContext], str]


def _pairs(values, spatial: int) -> list[int]:
    return [int(v) for v in values] if values is not None else [1] * spatial


# -- dense -------------------------------------------------------------------------------------------

def _linear(ctx: LayerContext) -> str:
    (features,) = ctx.in_shape
    out = ctx.params["out_features"]
    inputs = [ctx.x, ctx.constant(ctx.weight("weight", (out, features)), "weight")]
    if ctx.params["bias"]:
        inputs.append(ctx.constant(ctx.weight("bias", (out,)), "bias"))
    return ctx.op("Gemm", inputs, transB=1)


def _bilinear(ctx: LayerContext) -> str:
    (left,), (right,) = ctx.in_shapes
    out = ctx.params["out_features"]
    weight = ctx.constant(ctx.weight("weight", (out, left, right)), "weight")
    y = ctx.op("Einsum", [ctx.inputs[0], weight, ctx.inputs[1]], equation="bi,kij,bj->bk")
    if ctx.params["bias"]:
        y = ctx.op("Add", [y, ctx.constant(ctx.weight("bias", (out,)), "bias")])
    return y


def _embedding(ctx: LayerContext) -> str:
    table = ctx.weight("weight", (ctx.params["num_embeddings"], ctx.params["embedding_dim"]))
    return ctx.op("Gather", [ctx.constant(table, "weight"), ctx.x], axis=0)


def _identity(ctx: LayerContext) -> str:
    return ctx.op("Identity", [ctx.x])


def _reshape(ctx: LayerContext) -> str:
    """Flatten, Unflatten and Reshape: the inferred per-sample output shape, the batch kept (0)."""
    if ctx.type == "Flatten" and ctx.params["start_dim"] == 1 and ctx.params["end_dim"] in (-1, len(ctx.in_shape)):
        return ctx.op("Flatten", [ctx.x], axis=1)
    return ctx.graph.reshape(ctx.x, [0, *ctx.out_shape], ctx.name)


def _add(ctx: LayerContext) -> str:
    return functools.reduce(lambda total, x: ctx.op("Add", [total, x]), ctx.inputs[1:], ctx.inputs[0])


def _concat(ctx: LayerContext) -> str:
    return ctx.op("Concat", ctx.inputs, axis=int(ctx.params["dim"]))


# -- convolution and pooling ----------------------------------------------------------------------------

def _conv_pads(ctx: LayerContext, spatial: int) -> list[int]:
    """ONNX pads: all the begins, then all the ends. 'same' puts the odd extra pixel at the end."""
    padding = ctx.params["padding"]
    if padding == "valid":
        pairs = [(0, 0)] * spatial
    elif padding == "same":
        totals = [d * (k - 1) for k, d in zip(ctx.params["kernel_size"], ctx.params["dilation"])]
        pairs = [(t // 2, t - t // 2) for t in totals]
    else:
        pairs = [(p, p) for p in padding]
    return [before for before, _ in pairs] + [after for _, after in pairs]


def _conv(ctx: LayerContext) -> str:
    spatial = len(ctx.in_shape) - 1
    channels, out, groups = ctx.in_shape[0], ctx.params["out_channels"], ctx.params["groups"]
    kernel = [int(k) for k in ctx.params["kernel_size"]]
    inputs = [ctx.x, ctx.constant(ctx.weight("weight", (out, channels // groups, *kernel)), "weight")]
    if ctx.params["bias"]:
        inputs.append(ctx.constant(ctx.weight("bias", (out,)), "bias"))
    return ctx.op("Conv", inputs, kernel_shape=kernel, strides=_pairs(ctx.params["stride"], spatial),
                  pads=_conv_pads(ctx, spatial), dilations=_pairs(ctx.params["dilation"], spatial), group=groups)


def _conv_transpose(ctx: LayerContext) -> str:
    channels, out, groups = ctx.in_shape[0], ctx.params["out_channels"], ctx.params["groups"]
    kernel = [int(k) for k in ctx.params["kernel_size"]]
    inputs = [ctx.x, ctx.constant(ctx.weight("weight", (channels, out // groups, *kernel)), "weight")]
    if ctx.params["bias"]:
        inputs.append(ctx.constant(ctx.weight("bias", (out,)), "bias"))
    padding = [int(p) for p in ctx.params["padding"]]
    return ctx.op("ConvTranspose", inputs, kernel_shape=kernel, strides=_pairs(ctx.params["stride"], 2),
                  pads=padding + padding, output_padding=[int(p) for p in ctx.params["output_padding"]],
                  dilations=_pairs(ctx.params["dilation"], 2), group=groups)


def _pool(ctx: LayerContext) -> str:
    spatial = len(ctx.in_shape) - 1
    kernel = [int(k) for k in ctx.params["kernel_size"]]
    stride = _pairs(ctx.params["stride"] or kernel, spatial)
    padding = [int(p) for p in ctx.params["padding"]]
    common = dict(kernel_shape=kernel, strides=stride, pads=padding + padding, ceil_mode=0)
    if ctx.type.startswith("Max"):
        return ctx.op("MaxPool", [ctx.x], dilations=_pairs(ctx.params["dilation"], spatial), **common)
    return ctx.op("AveragePool", [ctx.x], count_include_pad=1, **common)


def _adaptive_weights(size_in: int, size_out: int) -> np.ndarray:
    """(size_out, size_in): row i averages PyTorch's window floor(i*n/m) .. ceil((i+1)*n/m)."""
    matrix = np.zeros((size_out, size_in), dtype=np.float32)
    for i in range(size_out):
        start, end = (i * size_in) // size_out, -(-((i + 1) * size_in) // size_out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


def _adaptive_avg_pool(ctx: LayerContext) -> str:
    """Global pooling for 1x1, equal windows as AveragePool, otherwise two averaging matrix products."""
    _, height, width = ctx.in_shape
    out_h, out_w = (int(v) for v in ctx.params["output_size"])
    if (out_h, out_w) == (1, 1):
        return ctx.op("GlobalAveragePool", [ctx.x])
    if height % out_h == 0 and width % out_w == 0:
        kernel = [height // out_h, width // out_w]
        return ctx.op("AveragePool", [ctx.x], kernel_shape=kernel, strides=kernel)
    rows = ctx.op("MatMul", [ctx.x, ctx.constant(_adaptive_weights(width, out_w).T, "width_average")])
    return ctx.op("MatMul", [ctx.constant(_adaptive_weights(height, out_h), "height_average"), rows])


# -- normalization ---------------------------------------------------------------------------------------

def _batch_norm(ctx: LayerContext) -> str:
    channels = ctx.in_shape[0]
    eps = float(ctx.params["eps"])
    if ctx.params["affine"]:
        scale, shift = ctx.weight("weight", (channels,)), ctx.weight("bias", (channels,))
    else:
        scale, shift = np.ones(channels, np.float32), np.zeros(channels, np.float32)
    if ctx.params["track_running_stats"]:
        mean, var = ctx.weight("running_mean", (channels,)), ctx.weight("running_var", (channels,))
        return ctx.op("BatchNormalization", [ctx.x, ctx.constant(scale, "weight"), ctx.constant(shift, "bias"),
                                             ctx.constant(mean, "running_mean"), ctx.constant(var, "running_var")],
                      epsilon=eps)
    # Without running statistics PyTorch normalises with the batch's own, in evaluation too.
    axes = [0] + list(range(2, len(ctx.in_shape) + 1))
    broadcast = (channels,) + (1,) * (len(ctx.in_shape) - 1)
    centred = ctx.op("Sub", [ctx.x, ctx.graph.reduce_mean(ctx.x, axes, f"{ctx.name}/mean")])
    var = ctx.graph.reduce_mean(ctx.op("Mul", [centred, centred]), axes, f"{ctx.name}/var")
    std = ctx.op("Sqrt", [ctx.op("Add", [var, ctx.constant(eps, "eps")])])
    normalised = ctx.op("Div", [centred, std])
    scaled = ctx.op("Mul", [normalised, ctx.constant(scale.reshape(broadcast), "weight")])
    return ctx.op("Add", [scaled, ctx.constant(shift.reshape(broadcast), "bias")])


def _layer_norm(ctx: LayerContext) -> str:
    dims = int(ctx.params["normalized_dims"])
    shape = ctx.in_shape[-dims:]
    if ctx.params["elementwise_affine"]:
        scale, shift = ctx.weight("weight", shape), ctx.weight("bias", shape)
    else:
        scale, shift = np.ones(shape, np.float32), np.zeros(shape, np.float32)
    return ctx.op("LayerNormalization", [ctx.x, ctx.constant(scale, "weight"), ctx.constant(shift, "bias")],
                  axis=-dims, epsilon=float(ctx.params["eps"]))


# -- activations ------------------------------------------------------------------------------------------

def _simple(op_type: str, **attributes) -> Converter:
    return lambda ctx: ctx.op(op_type, [ctx.x], **attributes)


def _with_param(op_type: str, attribute: str, param: str) -> Converter:
    return lambda ctx: ctx.op(op_type, [ctx.x], **{attribute: float(ctx.params[param])})


def _gelu(ctx: LayerContext) -> str:
    approximate = ctx.params["approximate"]
    if ctx.graph.opset >= 20:
        return ctx.op("Gelu", [ctx.x], approximate=approximate)
    x = ctx.x
    if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = ctx.op("Mul", [ctx.op("Mul", [x, x]), x])
        inner = ctx.op("Add", [x, ctx.op("Mul", [cube, ctx.constant(0.044715, "cubic")])])
        core = ctx.op("Tanh", [ctx.op("Mul", [inner, ctx.constant(math.sqrt(2.0 / math.pi), "sqrt_2_over_pi")])])
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        core = ctx.op("Erf", [ctx.op("Div", [x, ctx.constant(math.sqrt(2.0), "sqrt_2")])])
    half_x = ctx.op("Mul", [x, ctx.constant(0.5, "half")])
    return ctx.op("Mul", [half_x, ctx.op("Add", [core, ctx.constant(1.0, "one")])])


def _silu(ctx: LayerContext) -> str:
    return ctx.op("Mul", [ctx.x, ctx.op("Sigmoid", [ctx.x])])


def _softplus(ctx: LayerContext) -> str:
    """PyTorch's softplus: log(1 + exp(beta x)) / beta, and x itself where beta x > threshold."""
    beta, threshold = float(ctx.params["beta"]), float(ctx.params["threshold"])
    scaled = ctx.op("Mul", [ctx.x, ctx.constant(beta, "beta")]) if beta != 1.0 else ctx.x
    smooth = ctx.op("Softplus", [scaled])
    if beta != 1.0:
        smooth = ctx.op("Div", [smooth, ctx.constant(beta, "beta")])
    linear = ctx.op("Greater", [scaled, ctx.constant(threshold, "threshold")])
    return ctx.op("Where", [linear, ctx.x, smooth])


def _hardtanh(ctx: LayerContext) -> str:
    return ctx.op("Clip", [ctx.x, ctx.constant(float(ctx.params["min_val"]), "min_val"),
                           ctx.constant(float(ctx.params["max_val"]), "max_val")])


def _softmax(op_type: str) -> Converter:
    return lambda ctx: ctx.op(op_type, [ctx.x], axis=int(ctx.params["dim"]))


CONVERTERS: dict[str, Converter] = {
    "Linear": _linear, "Bilinear": _bilinear, "Embedding": _embedding, "Identity": _identity,
    "Flatten": _reshape, "Unflatten": _reshape, "Reshape": _reshape,
    "Dropout": _identity,  # evaluation mode: dropout passes values through unchanged
    "Add": _add, "Concat": _concat,
    "Conv1d": _conv, "Conv2d": _conv, "ConvTranspose2d": _conv_transpose,
    "MaxPool1d": _pool, "MaxPool2d": _pool, "AvgPool1d": _pool, "AvgPool2d": _pool,
    "AdaptiveAvgPool2d": _adaptive_avg_pool,
    "BatchNorm1d": _batch_norm, "BatchNorm2d": _batch_norm, "LayerNorm": _layer_norm,
    "ReLU": _simple("Relu"), "LeakyReLU": _with_param("LeakyRelu", "alpha", "negative_slope"),
    "ELU": _with_param("Elu", "alpha", "alpha"), "GELU": _gelu, "SiLU": _silu,
    "Sigmoid": _simple("Sigmoid"), "Tanh": _simple("Tanh"),
    "Softmax": _softmax("Softmax"), "LogSoftmax": _softmax("LogSoftmax"),
    "Softplus": _softplus, "Hardtanh": _hardtanh,
    **RECURRENT_CONVERTERS,
    **ATTENTION_CONVERTERS,
}
