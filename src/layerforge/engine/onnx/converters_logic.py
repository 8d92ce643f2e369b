"""Converters: the operations recorded outside ``apply`` (untracked.py): argmax/argmin, bitwise and
logical operations on masks, all/any, isnan/isinf."""
from __future__ import annotations

import numpy as np

from .builder import is_dynamic
from .converters_elementwise import reduce
from .dtypes import onnx_type
from .registry import converts

_BOOL = onnx_type(np.dtype(bool))


@converts("ArgExtremum")
def arg_extremum(ctx):
    dim, keepdim = ctx.attrs["dim"], ctx.attrs["keepdim"]
    op_type = "ArgMax" if ctx.attrs["largest"] else "ArgMin"
    x, rank = ctx.x(0), len(ctx.in_shape())
    if rank == 0:
        ctx.emit_out("Cast", [ctx.b.const(np.zeros((), np.int64), "zero")], to=onnx_type(np.int64))
        return
    if dim is None:  # over the flattened tensor
        flat = ctx.emit("Reshape", [x, ctx.b.ints([-1], "shape")])
        index = ctx.emit(op_type, [flat], axis=0, keepdims=0, select_last_index=0)
        if keepdim:
            ctx.emit_out("Reshape", [index, ctx.b.ints([1] * rank, "shape")])
        else:
            ctx.finish(index)
        return
    ctx.emit_out(op_type, [x], axis=int(dim) % rank, keepdims=int(bool(keepdim)), select_last_index=0)


@converts("Bitwise")
def bitwise(ctx):
    op = ctx.attrs["op"]
    if ctx.dtype(0) == np.bool_ and ctx.dtype(1) == np.bool_:
        ctx.emit_out({"and": "And", "or": "Or", "xor": "Xor"}[op], [ctx.x(0), ctx.x(1)])
    else:
        ctx.emit_out({"and": "BitwiseAnd", "or": "BitwiseOr", "xor": "BitwiseXor"}[op], [ctx.x(0), ctx.x(1)])


@converts("Invert")
def invert(ctx):
    ctx.emit_out("Not" if ctx.dtype(0) == np.bool_ else "BitwiseNot", [ctx.x(0)])


def _as_bool(ctx, i=0):
    return ctx.x(i) if ctx.dtype(i) == np.bool_ else ctx.emit("Cast", [ctx.x(i)], to=_BOOL)


@converts("LogicalNot")
def logical_not(ctx):
    ctx.emit_out("Not", [_as_bool(ctx)])


@converts("TruthReduce")
def truth_reduce(ctx):
    """all: the minimum of the truth values, any: the maximum (as int32, which every runtime reduces)."""
    numbers = ctx.emit("Cast", [_as_bool(ctx)], to=onnx_type(np.int32))
    dim = ctx.attrs["dim"]
    axes = None if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    if not ctx.in_shape():
        reduced = numbers
    else:
        axes = None if axes is None else [a % len(ctx.in_shape()) for a in axes]
        reduced = reduce(ctx, "ReduceMin" if ctx.attrs["all"] else "ReduceMax", numbers, axes, ctx.attrs["keepdim"])
    ctx.emit_out("Cast", [reduced], to=_BOOL)


@converts("IsNaN", "IsInf")
def is_special(ctx):
    if ctx.dtype(0).kind != "f":  # integers are never nan or inf
        ctx.emit_out("Cast", [ctx.emit("Mul", [ctx.x(0), ctx.scalar(0)])], to=_BOOL)
        return
    ctx.emit_out(ctx.op.kind, [ctx.x(0)])


@converts("TopK")
def top_k(ctx):
    """topk, and sort/argsort as a TopK over the whole axis (ties keep their order, as a stable sort)."""
    rank = len(ctx.in_shape())
    dim = int(ctx.attrs["dim"]) % max(rank, 1)
    k = ctx.attrs["k"] if ctx.attrs["k"] is not None else ctx.in_shape()[dim]
    if ctx.attrs["k"] is None and is_dynamic(ctx.in_dims()[dim]):
        k_name = ctx.emit("Shape", [ctx.x(0)], start=dim, end=dim + 1)
    else:
        k_name = ctx.b.ints([int(k)], "k")
    if ctx.attrs.get("indices_only"):
        outputs = [ctx.b.fresh("sorted"), ctx.out(0)]
    else:
        outputs = [ctx.out(0), ctx.out(1)]
    ctx.emit("TopK", [ctx.x(0), k_name], outputs=outputs, axis=dim, largest=int(ctx.attrs["largest"]), sorted=1)


@converts("OneHot")
def one_hot(ctx):
    """F.one_hot: int64 rows of zeros with a one at each index, as many classes as traced."""
    depth = ctx.out_shape()[-1]
    values = ctx.b.const(np.asarray([0, 1], dtype=np.int64), "one_hot_values")
    ctx.emit_out("OneHot", [ctx.x(0), ctx.b.ints([depth], "depth"), values], axis=-1)
