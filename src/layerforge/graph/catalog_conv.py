"""Declarations: convolutions and pooling, with PyTorch's output-size formulas."""
from __future__ import annotations

import math

from .errors import ParamError, ShapeError
from .layer_type import Call, LayerType
from .params import Param
from .shape_rules import (check_spatial_sizes, compact, conv_size, conv_transpose_size,
                          expect_channels_first, fmt)

NAMES = {1: "Conv1d", 2: "Conv2d"}


def _conv_params(spatial: int, transpose: bool = False) -> tuple[Param, ...]:
    n = spatial
    padding = (Param("padding", "ints", (0,) * n, "zeros added on each side; 'same' keeps the size (stride 1), "
                     "'valid' adds none", minimum=0, length=n, words=("same", "valid"))
               if not transpose else
               Param("padding", "ints", (0,) * n, "implicit padding removed from each side of the output",
                     minimum=0, length=n))
    params = [
        Param("out_channels", "int", 8, "number of filters (output channels)", minimum=1),
        Param("kernel_size", "ints", (3,) * n, "size of each filter", minimum=1, length=n),
        Param("stride", "ints", (1,) * n, "step between filter positions", minimum=1, length=n),
        padding,
    ]
    if transpose:
        params.append(Param("output_padding", "ints", (0,) * n, "extra size added to one side of the output "
                            "(smaller than stride or dilation)", minimum=0, length=n))
    params += [
        Param("dilation", "ints", (1,) * n, "spacing between kernel elements", minimum=1, length=n),
        Param("groups", "int", 1, "split channels into this many independent groups", minimum=1),
        Param("bias", "bool", True, "learn an additive bias per output channel"),
    ]
    return tuple(params)


def _check_conv(params):
    if params["out_channels"] % params["groups"]:
        raise ParamError("groups", f"out_channels {params['out_channels']} is not divisible by groups "
                         f"{params['groups']}")
    if "output_padding" in params:
        for op, s, d in zip(params["output_padding"], params["stride"], params["dilation"]):
            if op >= s and op >= d:
                raise ParamError("output_padding", f"{tuple(params['output_padding'])} must be smaller than "
                                 f"either stride {tuple(params['stride'])} or dilation {tuple(params['dilation'])}")
    elif params["padding"] == "same" and any(s != 1 for s in params["stride"]):
        raise ParamError("padding", "'same' is not supported for strided convolutions; use stride 1 or a number")


def _padding(params, spatial) -> tuple[tuple[int, int], ...]:
    """Padding (before, after) per spatial dim; 'same' pads d(k-1) in total, the extra one after."""
    padding = params["padding"]
    if padding == "valid":
        return ((0, 0),) * spatial
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(params["kernel_size"], params["dilation"])]
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple((p, p) for p in padding)


def _check_groups(params, channels):
    if channels % params["groups"]:
        raise ShapeError(f"has groups={params['groups']}, which does not divide the input's {channels} channels")


def _conv_shape(spatial):
    def rule(params, in_shapes):
        (shape,) = in_shapes
        expect_channels_first(shape, spatial)
        _check_groups(params, shape[0])
        out = [(size + before + after - d * (k - 1) - 1) // s + 1
               for size, (before, after), k, s, d in zip(shape[1:], _padding(params, spatial),
                                                           params["kernel_size"], params["stride"],
                                                           params["dilation"])]
        check_spatial_sizes(out, shape, f"kernel {fmt(params['kernel_size'])}")
        return (params["out_channels"], *out)
    return rule


def _conv_call(cls):
    def call(params, in_shapes):
        padding = params["padding"] if isinstance(params["padding"], str) else compact(params["padding"])
        return Call(cls, (in_shapes[0][0], params["out_channels"], compact(params["kernel_size"])), (
            ("stride", compact(params["stride"])), ("padding", padding),
            ("dilation", compact(params["dilation"])), ("groups", params["groups"]), ("bias", params["bias"])))
    return call


def _conv_count(params, in_shapes):
    weight = params["out_channels"] * (in_shapes[0][0] // params["groups"]) * math.prod(params["kernel_size"])
    return weight + params["out_channels"] * params["bias"]


def _conv(spatial):
    cls = NAMES[spatial]
    return LayerType(
        cls, "Convolution", f"{spatial}-D convolution over ({'channels, length' if spatial == 1 else 'channels, height, width'}).",
        _conv_shape(spatial), params=_conv_params(spatial), module=_conv_call(cls),
        count_params=_conv_count, check_params=_check_conv, name_prefix="conv",
    )


def _conv_transpose_shape(params, in_shapes):
    (shape,) = in_shapes
    expect_channels_first(shape, 2)
    _check_groups(params, shape[0])
    out = [conv_transpose_size(size, k, s, p, op, d) for size, k, s, p, op, d in zip(
        shape[1:], params["kernel_size"], params["stride"], params["padding"], params["output_padding"],
        params["dilation"])]
    check_spatial_sizes(out, shape, "padding")
    return (params["out_channels"], *out)


def _conv_transpose_call(params, in_shapes):
    return Call("ConvTranspose2d", (in_shapes[0][0], params["out_channels"], compact(params["kernel_size"])), (
        ("stride", compact(params["stride"])), ("padding", compact(params["padding"])),
        ("output_padding", compact(params["output_padding"])), ("groups", params["groups"]),
        ("bias", params["bias"]), ("dilation", compact(params["dilation"]))))


def _conv_transpose_count(params, in_shapes):
    weight = in_shapes[0][0] * (params["out_channels"] // params["groups"]) * math.prod(params["kernel_size"])
    return weight + params["out_channels"] * params["bias"]


CONV_TRANSPOSE_2D = LayerType(
    "ConvTranspose2d", "Convolution", "2-D transposed convolution: learned upsampling of (channels, height, width).",
    _conv_transpose_shape, params=_conv_params(2, transpose=True), module=_conv_transpose_call,
    count_params=_conv_transpose_count, check_params=_check_conv, name_prefix="deconv",
)


# -- pooling ---------------------------------------------------------------------------------------

def _pool_params(spatial, with_dilation):
    n = spatial
    params = [
        Param("kernel_size", "ints", (2,) * n, "size of the pooling window", minimum=1, length=n),
        Param("stride", "ints", None, "step between windows; empty means the kernel size", minimum=1, length=n,
              optional=True),
        Param("padding", "ints", (0,) * n, "implicit padding on each side (at most half the kernel)", minimum=0,
              length=n),
    ]
    if with_dilation:
        params.append(Param("dilation", "ints", (1,) * n, "spacing between window elements", minimum=1, length=n))
    return tuple(params)


def _pool_check(params):
    # PyTorch's rule: padding at most half the kernel size (rounded down), whatever the dilation.
    for k, p in zip(params["kernel_size"], params["padding"]):
        if p > k // 2:
            raise ParamError("padding", f"{tuple(params['padding'])} is more than half the kernel size "
                             f"{tuple(params['kernel_size'])}; use at most {k // 2}")


def _pool_shape(spatial):
    def rule(params, in_shapes):
        (shape,) = in_shapes
        expect_channels_first(shape, spatial)
        stride = params["stride"] or params["kernel_size"]
        dilation = params.get("dilation") or (1,) * spatial
        out = [conv_size(size, k, s, p, d) for size, k, s, p, d in zip(
            shape[1:], params["kernel_size"], stride, params["padding"], dilation)]
        check_spatial_sizes(out, shape, f"pooling window {fmt(params['kernel_size'])}")
        return (shape[0], *out)
    return rule


def _pool_call(cls, with_dilation):
    def call(params, in_shapes):
        stride = None if params["stride"] is None else compact(params["stride"])
        kwargs = [("stride", stride), ("padding", compact(params["padding"]))]
        if with_dilation:
            kwargs.append(("dilation", compact(params["dilation"])))
        return Call(cls, (compact(params["kernel_size"]),), tuple(kwargs))
    return call


def _pool(kind, spatial):
    cls = f"{kind}Pool{spatial}d"
    is_max = kind == "Max"
    what = "maximum" if is_max else "average"
    layout = "(channels, length)" if spatial == 1 else "(channels, height, width)"
    return LayerType(
        cls, "Pooling", f"Takes the {what} over sliding windows of {layout}.",
        _pool_shape(spatial), params=_pool_params(spatial, is_max), module=_pool_call(cls, is_max),
        check_params=_pool_check, name_prefix="pool",
    )


def _adaptive_shape(params, in_shapes):
    (shape,) = in_shapes
    expect_channels_first(shape, 2)
    return (shape[0], *params["output_size"])


ADAPTIVE_AVG_POOL_2D = LayerType(
    "AdaptiveAvgPool2d", "Pooling", "Averages (channels, height, width) down to a fixed output size "
    "(1 gives global average pooling).",
    _adaptive_shape,
    params=(Param("output_size", "ints", (1, 1), "output height and width", minimum=1, length=2),),
    module=lambda p, s: Call("AdaptiveAvgPool2d", (compact(p["output_size"]),)),
    name_prefix="gap",
)

LAYERS = (_conv(1), _conv(2), CONV_TRANSPOSE_2D, _pool("Max", 1), _pool("Max", 2), _pool("Avg", 1),
          _pool("Avg", 2), ADAPTIVE_AVG_POOL_2D)
