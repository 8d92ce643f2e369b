"""Converters: the math functions beyond the basic ones (trigonometry, log/exp variants, erf), the
rounded divisions, products, p-norms and einsum."""
from __future__ import annotations

import math

import numpy as np

from .errors import ExportError
from .converters_elementwise import reduce
from .dtypes import onnx_type
from .registry import converts

_SAME = {"Tan": "Tan", "Asin": "Asin", "Acos": "Acos", "Atan": "Atan", "Sinh": "Sinh", "Cosh": "Cosh",
         "Asinh": "Asinh", "Acosh": "Acosh", "Atanh": "Atanh", "Erf": "Erf"}


@converts(*_SAME)
def same_named(ctx):
    ctx.emit_out(_SAME[ctx.op.kind], [ctx.x(0)])


@converts("Log2", "Log10")
def log_base(ctx):
    base = 2.0 if ctx.op.kind == "Log2" else 10.0
    ctx.emit_out("Mul", [ctx.emit("Log", [ctx.x(0)]), ctx.scalar(1.0 / math.log(base))])


@converts("Log1p")
def log1p(ctx):
    ctx.emit_out("Log", [ctx.emit("Add", [ctx.x(0), ctx.scalar(1.0)])])


@converts("Expm1")
def expm1(ctx):
    ctx.emit_out("Sub", [ctx.emit("Exp", [ctx.x(0)]), ctx.scalar(1.0)])


@converts("Exp2")
def exp2(ctx):
    ctx.emit_out("Pow", [ctx.scalar(2.0), ctx.x(0)])


@converts("Erfc")
def erfc(ctx):
    ctx.emit_out("Sub", [ctx.scalar(1.0), ctx.emit("Erf", [ctx.x(0)])])


@converts("Rad2deg", "Deg2rad")
def angle(ctx):
    factor = 180.0 / math.pi if ctx.op.kind == "Rad2deg" else math.pi / 180.0
    ctx.emit_out("Mul", [ctx.x(0), ctx.scalar(factor)])


@converts("Remainder")
def remainder(ctx):
    """Python's modulo (the divisor's sign): a - floor(a / b) * b, or ONNX's Mod for integers."""
    a, b = ctx.x(0), ctx.x(1)
    if ctx.dtype(0).kind in "iu":
        ctx.emit_out("Mod", [a, b], fmod=0)
        return
    quotient = ctx.emit("Floor", [ctx.emit("Div", [a, b])])
    ctx.emit_out("Sub", [a, ctx.emit("Mul", [quotient, b])])


@converts("RoundedDiv", "FloorDivide")
def rounded_div(ctx):
    if ctx.dtype(0).kind != "f" or ctx.dtype(1).kind != "f":
        raise ExportError(f"ONNX export: integer division with rounding ({ctx.where()}) has no exact ONNX "
                          "form here; divide floats")
    quotient = ctx.emit("Div", [ctx.x(0), ctx.x(1)])
    if ctx.attrs["mode"] == "floor":
        ctx.emit_out("Floor", [quotient])
    else:  # toward zero
        negative = ctx.emit("Less", [quotient, ctx.scalar(0.0)])
        ctx.emit_out("Where", [negative, ctx.emit("Ceil", [quotient]), ctx.emit("Floor", [quotient])])


@converts("Prod")
def prod(ctx):
    axis = ctx.attrs["axis"]
    if not ctx.in_shape():
        ctx.same()
        return
    axes = None if axis is None else [int(axis)] if isinstance(axis, (int, np.integer)) else list(axis)
    reduce(ctx, "ReduceProd", ctx.x(0), axes, bool(ctx.attrs["keepdim"]) and axis is not None,
           outputs=[ctx.out(0)])


@converts("PNorm")
def p_norm(ctx):
    """The p-norm over the last axis (what F.normalize, cosine_similarity and cdist use)."""
    p, x = float(ctx.attrs["p"]), ctx.x(0)
    last = [-1]
    if p == 2:
        reduce(ctx, "ReduceL2", x, last, False, outputs=[ctx.out(0)])
    elif p == 1:
        reduce(ctx, "ReduceL1", x, last, False, outputs=[ctx.out(0)])
    elif p == math.inf:
        reduce(ctx, "ReduceMax", ctx.emit("Abs", [x]), last, False, outputs=[ctx.out(0)])
    elif p == 0:
        nonzero = ctx.emit("Cast", [ctx.emit("Not", [ctx.emit("Equal", [x, ctx.scalar(0.0)])])],
                           to=_onnx_float(ctx))
        reduce(ctx, "ReduceSum", nonzero, last, False, outputs=[ctx.out(0)])
    else:
        powered = ctx.emit("Pow", [ctx.emit("Abs", [x]), ctx.scalar(p)])
        total = reduce(ctx, "ReduceSum", powered, last, False)
        ctx.emit_out("Pow", [total, ctx.scalar(1.0 / p)])


def _onnx_float(ctx) -> int:
    return onnx_type(ctx.dtype(0))


@converts("Einsum")
def einsum(ctx):
    equation = f"{','.join(ctx.attrs['terms'])}->{ctx.attrs['output']}"
    ctx.emit_out("Einsum", [ctx.x(i) for i in range(ctx.n_inputs)], equation=equation)
