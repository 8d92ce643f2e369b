"""Converters: arithmetic, math functions, activations, comparisons, casts, where, reductions."""
from __future__ import annotations

import math

import numpy as np

from ..backend import device_of, to_device_array, to_host
from .errors import ExportError
from .builder import is_dynamic
from .dtypes import onnx_type
from .registry import converts
from .tracer import Value

_BINARY = {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Pow": "Pow", "Maximum": "Max",
           "Minimum": "Min", "MatMul": "MatMul"}
_UNARY = {"Neg": "Neg", "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt", "Abs": "Abs", "Sin": "Sin",
          "Cos": "Cos", "Tanh": "Tanh", "Sigmoid": "Sigmoid", "Relu": "Relu"}


@converts(*_BINARY)
def binary(ctx):
    ctx.emit_out(_BINARY[ctx.op.kind], [ctx.x(0), ctx.x(1)])


@converts(*_UNARY)
def unary(ctx):
    ctx.emit_out(_UNARY[ctx.op.kind], [ctx.x(0)])


def _out_scalar(ctx, number):
    return ctx.b.scalar(number, ctx.out_value().dtype)


@converts("AddScalar")
def add_scalar(ctx):
    ctx.emit_out("Add", [ctx.x(0), _out_scalar(ctx, ctx.attrs["s"])])


@converts("MulScalar")
def mul_scalar(ctx):
    ctx.emit_out("Mul", [ctx.x(0), _out_scalar(ctx, ctx.attrs["s"])])


@converts("DivByZeroScalar")
def div_scalar(ctx):
    ctx.emit_out("Div", [ctx.x(0), _out_scalar(ctx, ctx.attrs["s"])])


@converts("RSubScalar")
def rsub_scalar(ctx):
    ctx.emit_out("Sub", [_out_scalar(ctx, ctx.attrs["s"]), ctx.x(0)])


@converts("RDivScalar")
def rdiv_scalar(ctx):
    ctx.emit_out("Div", [_out_scalar(ctx, ctx.attrs["s"]), ctx.x(0)])


@converts("PowScalar")
def pow_scalar(ctx):
    s = ctx.attrs["s"]
    if s == 2:  # as the engine computes it: exactly x * x
        ctx.emit_out("Mul", [ctx.x(0), ctx.x(0)])
    else:
        ctx.emit_out("Pow", [ctx.x(0), _out_scalar(ctx, s)])


@converts("RPowScalar")
def rpow_scalar(ctx):
    ctx.emit_out("Pow", [_out_scalar(ctx, ctx.attrs["s"]), ctx.x(0)])


@converts("Clamp", "Hardtanh")
def clamp(ctx):
    low = ctx.attrs.get("low")
    high = ctx.attrs.get("high")
    inputs = [ctx.x(0), "" if low is None else ctx.scalar(low), "" if high is None else ctx.scalar(high)]
    while inputs[-1] == "":
        inputs.pop()
    ctx.emit_out("Clip", inputs)


@converts("Where")
def where(ctx):
    condition = ctx.attrs["condition"]
    condition = ctx.b.name_of(condition) if isinstance(condition, Value) \
        else ctx.b.const(np.asarray(condition, dtype=bool), "condition")
    if ctx.dtype(0) != np.bool_:
        ctx.emit_out("Where", [condition, ctx.x(0), ctx.x(1)])
        return
    # onnxruntime has no Where on booleans: choose between them as int32 and turn the result back
    a, b = (ctx.emit("Cast", [ctx.x(i)], to=onnx_type(np.int32)) for i in (0, 1))
    ctx.emit_out("Cast", [ctx.emit("Where", [condition, a, b])], to=onnx_type(np.dtype(bool)))


@converts("Cast")
def cast(ctx):
    ctx.emit_out("Cast", [ctx.x(0)], to=onnx_type(ctx.out_value().dtype))


@converts("Clone", "ToDevice")
def identity(ctx):
    ctx.same()


_PROBE_FLOAT = [-2.5, -1.5, -0.7, -0.2, 0.0, 0.3, 0.5, 1.5, 2.7]
_PROBE_INT = [-3, -1, 0, 2, 5]


def _stepwise_kind(fn, dtype, like) -> str | None:
    """Which rounding function a Stepwise node applies, found by running it on a few values (on the
    device its input was on: the function is bound to that array module)."""
    probe = np.asarray(_PROBE_FLOAT if dtype.kind == "f" else _PROBE_INT, dtype=dtype)
    try:
        got = to_host(fn(to_device_array(probe, device_of(like))))
    except Exception:  # not a function of the array alone
        return None
    candidates = {"Identity": probe, "Floor": np.floor(probe), "Ceil": np.ceil(probe), "Trunc": np.trunc(probe),
                  "Round": np.round(probe), "Sign": np.sign(probe)}
    for kind, expected in candidates.items():
        if got.shape == expected.shape and np.array_equal(got, expected.astype(got.dtype)):
            return kind
    return None


@converts("Stepwise", "Floor", "Ceil", "Trunc", "Fix", "Sign", "Round")
def stepwise(ctx):
    kind = _stepwise_kind(ctx.attrs["fn"], ctx.dtype(0), ctx.in_value(0).array)
    if kind is None:
        raise ExportError(f"no ONNX converter for '{ctx.op.kind.lower()}' with these arguments ({ctx.where()})")
    x = ctx.x(0)
    if kind == "Identity":
        ctx.same()
    elif kind == "Trunc":  # ONNX has no Trunc: toward zero is ceil below zero and floor above
        negative = ctx.emit("Less", [x, ctx.scalar(0)])
        ctx.emit_out("Where", [negative, ctx.emit("Ceil", [x]), ctx.emit("Floor", [x])])
    else:  # ONNX's Round, like numpy's and PyTorch's, rounds halves to even
        ctx.emit_out(kind, [x])


@converts("CumSum")
def cumsum(ctx):
    axis = ctx.b.const(np.asarray(int(ctx.attrs["axis"]), dtype=np.int64), "axis")
    ctx.emit_out("CumSum", [ctx.x(0), axis])


_COMPARE = {"equal": "Equal", "less": "Less", "less_equal": "LessOrEqual", "greater": "Greater",
            "greater_equal": "GreaterOrEqual", "logical_and": "And", "logical_or": "Or"}


@converts("Compare")
def compare(ctx):
    name, scalar = ctx.attrs["name"], ctx.attrs["scalar"]
    a, a_type = ctx.x(0), ctx.dtype(0)
    if scalar is not None:
        b_type = np.result_type(a_type, scalar)  # numpy's (and PyTorch's) weak Python scalar
        b = ctx.b.scalar(scalar, b_type)
    else:
        b, b_type = ctx.x(1), ctx.dtype(1)
    if name in ("logical_and", "logical_or"):
        a = a if a_type == np.bool_ else ctx.emit("Cast", [a], to=onnx_type(np.dtype(bool)))
        b = b if b_type == np.bool_ else ctx.emit("Cast", [b], to=onnx_type(np.dtype(bool)))
    elif a_type != b_type:
        common = np.result_type(a_type, b_type)
        a = a if a_type == common else ctx.emit("Cast", [a], to=onnx_type(common))
        b = b if b_type == common else ctx.emit("Cast", [b], to=onnx_type(common))
    if name == "not_equal":
        ctx.emit_out("Not", [ctx.emit("Equal", [a, b])])
    elif name in _COMPARE:
        ctx.emit_out(_COMPARE[name], [a, b])
    else:
        raise ExportError(f"no ONNX converter for the comparison '{name}' ({ctx.where()})")


# ------------------------------------------------------------------------------ activations
@converts("LeakyRelu")
def leaky_relu(ctx):
    ctx.emit_out("LeakyRelu", [ctx.x(0)], alpha=float(ctx.attrs["slope"]))


@converts("Elu")
def elu(ctx):
    ctx.emit_out("Elu", [ctx.x(0)], alpha=float(ctx.attrs["alpha"]))


@converts("Hardsigmoid")
def hardsigmoid(ctx):
    ctx.emit_out("HardSigmoid", [ctx.x(0)], alpha=1.0 / 6.0, beta=0.5)


@converts("Hardswish")
def hardswish(ctx):
    ctx.emit_out("HardSwish", [ctx.x(0)])


@converts("Gelu")
def gelu(ctx):
    approximate = ctx.attrs["approximate"]
    x = ctx.x(0)
    if ctx.b.opset >= 20:
        ctx.emit_out("Gelu", [x], approximate=approximate)
        return
    if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = ctx.emit("Mul", [ctx.emit("Mul", [x, x]), x])
        inner = ctx.emit("Add", [x, ctx.emit("Mul", [cube, ctx.scalar(0.044715)])])
        inner = ctx.emit("Mul", [inner, ctx.scalar(math.sqrt(2.0 / math.pi))])
        cdf = ctx.emit("Add", [ctx.emit("Tanh", [inner]), ctx.scalar(1.0)])
    else:  # 0.5 x (1 + erf(x / sqrt 2))
        erf = ctx.emit("Erf", [ctx.emit("Mul", [x, ctx.scalar(1.0 / math.sqrt(2.0))])])
        cdf = ctx.emit("Add", [erf, ctx.scalar(1.0)])
    ctx.emit_out("Mul", [ctx.emit("Mul", [x, cdf]), ctx.scalar(0.5)])


@converts("Silu")
def silu(ctx):
    ctx.emit_out("Mul", [ctx.x(0), ctx.emit("Sigmoid", [ctx.x(0)])])


@converts("Softplus")
def softplus(ctx):
    beta, threshold = float(ctx.attrs["beta"]), float(ctx.attrs["threshold"])
    x = ctx.x(0)
    scaled = x if beta == 1.0 else ctx.emit("Mul", [x, ctx.scalar(beta)])
    soft = ctx.emit("Softplus", [scaled])
    if beta != 1.0:
        soft = ctx.emit("Div", [soft, ctx.scalar(beta)])
    linear = ctx.emit("Greater", [scaled, ctx.scalar(threshold)])
    ctx.emit_out("Where", [linear, x, soft])


# ------------------------------------------------------------------------------ reductions
def reduce(ctx, op_type: str, x: str, axes, keepdims: bool, outputs=None, hint=None):
    """A Reduce* node over ``axes`` (all when None), written for the opset (axes an input from 18)."""
    attrs = {"keepdims": int(bool(keepdims))}
    inputs = [x]
    if axes is not None:
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or ctx.b.opset >= 18:
            inputs.append(ctx.b.ints(axes, "axes"))
        else:
            attrs["axes"] = axes
    return ctx.emit(op_type, inputs, outputs=outputs, hint=hint, **attrs)


@converts("Sum", "Mean", "LogSumExp")
def sum_mean(ctx):
    op_type = {"Sum": "ReduceSum", "Mean": "ReduceMean", "LogSumExp": "ReduceLogSumExp"}[ctx.op.kind]
    axes = ctx.attrs["axes"]
    if not axes and ctx.in_shape():  # an empty dim list from a 0-d input: nothing to reduce
        axes = tuple(range(len(ctx.in_shape())))
    if not ctx.in_shape():
        ctx.same()
        return
    reduce(ctx, op_type, ctx.x(0), axes, ctx.attrs["keepdim"], outputs=[ctx.out(0)])


@converts("AMax")
def amax(ctx):
    op_type = "ReduceMax" if ctx.attrs["largest"] else "ReduceMin"
    reduce(ctx, op_type, ctx.x(0), ctx.attrs["axes"] or None, ctx.attrs["keepdim"], outputs=[ctx.out(0)])


@converts("ExtremumAll")
def extremum_all(ctx):
    op_type = "ReduceMax" if ctx.attrs["largest"] else "ReduceMin"
    reduce(ctx, op_type, ctx.x(0), None, False, outputs=[ctx.out(0)])


@converts("ExtremumDim")
def extremum_dim(ctx):
    axis, keepdim, largest = ctx.attrs["axis"], ctx.attrs["keepdim"], ctx.attrs["largest"]
    if not ctx.in_shape():
        ctx.same()
        return
    reduce(ctx, "ReduceMax" if largest else "ReduceMin", ctx.x(0), [axis], keepdim, outputs=[ctx.out(0)])
    if len(ctx.op.outputs) > 1:  # indices: the first position of the extremum, as PyTorch
        ctx.emit("ArgMax" if largest else "ArgMin", [ctx.x(0)], outputs=[ctx.out(1)], axis=int(axis),
                 keepdims=int(bool(keepdim)), select_last_index=0)


@converts("Var")
def var(ctx):
    axes, correction, keepdim = ctx.attrs["axes"], ctx.attrs["correction"], ctx.attrs["keepdim"]
    shape = ctx.in_shape()
    count = 1
    for axis in axes:
        count *= shape[axis]
    x = ctx.x(0)
    mean = reduce(ctx, "ReduceMean", x, axes, True)
    centered = ctx.emit("Sub", [x, mean])
    total = reduce(ctx, "ReduceSum", ctx.emit("Mul", [centered, centered]), axes, keepdim)
    if not any(is_dynamic(ctx.in_dims()[a]) for a in axes):
        ctx.emit_out("Div", [total, ctx.scalar(max(count - correction, 0))])
        return
    # a dynamic axis is reduced: count the elements at run time (the input's size over the mean's)
    count = ctx.emit("Cast", [ctx.emit("Div", [ctx.emit("Size", [x]), ctx.emit("Size", [mean])])],
                     to=onnx_type(ctx.dtype(0)))
    denominator = ctx.emit("Max", [ctx.emit("Sub", [count, ctx.scalar(correction)]), ctx.scalar(0)])
    ctx.emit_out("Div", [total, denominator])


@converts("Softmax", "LogSoftmax")
def softmax(ctx):
    ctx.emit_out(ctx.op.kind, [ctx.x(0)], axis=int(ctx.attrs["axis"]))
