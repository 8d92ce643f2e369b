"""Converters: reshape/view (and the squeeze/unsqueeze/flatten built on it), permute/transpose,
expand, cat/stack/split, pad, repeat, repeated runs, resampling along an axis, gather, and indexing with ints, slices, None, Ellipsis and one
integer index array."""
from __future__ import annotations

import numpy as np

from .builder import is_dynamic
from .errors import ExportError
from .registry import converts
from .tracer import Value

_MAX = np.iinfo(np.int64).max
_MIN = np.iinfo(np.int64).min


@converts("Reshape")
def reshape(ctx):
    in_dims, out_dims = ctx.in_dims(), ctx.out_dims()
    if in_dims == out_dims:
        ctx.same()
        return
    shape = ctx.b.shape_tensor(out_dims, allow_infer=True, copy_from=in_dims)
    ctx.emit_out("Reshape", [ctx.x(0), shape])


@converts("Permute")
def permute(ctx):
    axes = [int(a) for a in ctx.attrs["axes"]]
    if axes == sorted(axes):
        ctx.same()
        return
    ctx.emit_out("Transpose", [ctx.x(0)], perm=axes)


@converts("Expand")
def expand(ctx):
    in_dims, out_dims = ctx.in_dims(), ctx.out_dims()
    if in_dims == out_dims:
        ctx.same()
        return
    lead = len(out_dims) - len(in_dims)
    target = [1 if i >= lead and in_dims[i - lead] == d else d for i, d in enumerate(out_dims)]
    ctx.emit_out("Expand", [ctx.x(0), ctx.b.shape_tensor(target)])


@converts("Cat")
def cat(ctx):
    ctx.emit_out("Concat", [ctx.x(i) for i in range(ctx.n_inputs)], axis=int(ctx.attrs["axis"]))


@converts("Stack")
def stack(ctx):
    axes = ctx.b.ints([int(ctx.attrs["axis"])], "axes")
    parts = [ctx.emit("Unsqueeze", [ctx.x(i), axes]) for i in range(ctx.n_inputs)]
    ctx.emit_out("Concat", parts, axis=int(ctx.attrs["axis"]))


@converts("Split")
def split(ctx):
    sizes = [int(s) for s in ctx.attrs["sizes"]]
    axis = int(ctx.attrs["axis"])
    if is_dynamic(ctx.in_dims()[axis]):
        raise ExportError(f"ONNX export: split/chunk along the dynamic axis {axis} ({ctx.where()}) has "
                          "sizes fixed at the traced size; split another axis or drop that dynamic axis")
    outputs = [ctx.out(i) for i in range(len(ctx.op.outputs))]
    ctx.emit("Split", [ctx.x(0), ctx.b.ints(sizes, "split")], outputs=outputs, axis=axis)


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@converts("Pad")
def pad(ctx):
    widths, mode, value = ctx.attrs["widths"], ctx.attrs["mode"], ctx.attrs["value"]
    if mode == "circular" and ctx.b.opset < 19:
        raise ExportError(f"ONNX export: circular padding ({ctx.where()}) needs opset_version >= 19")
    pads = [int(lo) for lo, _ in widths] + [int(hi) for _, hi in widths]
    inputs = [ctx.x(0), ctx.b.ints(pads, "pads")]
    if mode == "constant":
        inputs.append(ctx.scalar(value))
    ctx.emit_out("Pad", inputs, mode=_PAD_MODES[mode])


@converts("Repeat")
def repeat(ctx):
    repeats = [int(r) for r in ctx.attrs["repeats"]]
    x = ctx.x(0)
    in_dims = ctx.in_dims()
    if len(repeats) > len(in_dims):
        axes = ctx.b.ints(range(len(repeats) - len(in_dims)), "axes")
        x = ctx.emit("Unsqueeze", [x, axes])
    ctx.emit_out("Tile", [x, ctx.b.ints(repeats, "repeats")])


@converts("RepeatRuns")
def repeat_runs(ctx):
    """Each element ``count`` times in a row along each axis: one Gather of the repeated positions per
    axis (what indexing with those positions exports as, for every dtype and opset)."""
    x, dims = ctx.x(0), ctx.in_dims()
    for axis, count in ctx.attrs["counts"]:
        if is_dynamic(dims[axis]):
            raise ExportError(f"ONNX export: repeating elements along the dynamic axis {axis} ({ctx.where()}) "
                              "has its length fixed at the traced size; drop that dynamic axis")
        x = ctx.emit("Gather", [x, ctx.b.ints(np.repeat(np.arange(dims[axis]), count), "repeated")], axis=int(axis))
    ctx.finish(x)


@converts("ResampleAlongAxis")
def resample_along_axis(ctx):
    """Linear interpolation along one axis as a product with its (out, in) weight matrix: MatMul with
    the matrix on the side the axis is on, the axis moved last and back for any other axis."""
    matrix, axis = ctx.attrs["matrix"], int(ctx.attrs["axis"])
    rank = len(ctx.in_dims())
    x = ctx.x(0)
    if axis == rank - 2:
        ctx.emit_out("MatMul", [ctx.b.name_of(matrix), x])
        return
    weights_t = ctx.b.const(np.ascontiguousarray(np.asarray(matrix.array).T), "resample")
    if axis == rank - 1:
        ctx.emit_out("MatMul", [x, weights_t])
        return
    perm = [d for d in range(rank) if d != axis] + [axis]
    moved = ctx.emit("MatMul", [ctx.emit("Transpose", [x], perm=perm), weights_t])
    ctx.emit_out("Transpose", [moved], perm=[int(p) for p in np.argsort(perm)])


@converts("Gather")
def gather(ctx):
    axis, index = int(ctx.attrs["axis"]), ctx.attrs["index"]
    x = ctx.x(0)
    in_shape = ctx.in_shape()
    corner = [d for d, (n, m) in enumerate(zip(index.shape, in_shape)) if d != axis and n != m]
    if corner:  # PyTorch reads only the corner the index covers
        x = ctx.emit("Slice", [x, ctx.b.ints([0] * len(corner), "starts"),
                               ctx.b.ints([index.shape[d] for d in corner], "ends"), ctx.b.ints(corner, "axes")])
    ctx.emit_out("GatherElements", [x, ctx.b.name_of(index)], axis=axis)


# ------------------------------------------------------------------------------ indexing
def _items(index, ndim: int) -> list:
    items = list(index) if isinstance(index, tuple) else [index]
    consuming = sum(1 for i in items if i is not None and i is not Ellipsis
                    and not isinstance(i, (bool, np.bool_)))
    consuming += sum(i.ndim - 1 for i in items if isinstance(i, Value) and i.dtype == np.bool_)
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items[at:at + 1] = [slice(None)] * (ndim - consuming)
    return items


def _index(ctx, x: str, index, dims: list, other) -> tuple:
    """Apply one numpy-style index to ``x`` (whose dims are ``dims``); returns (name, rank).

    Basic items (None, ints, slices) are applied left to right; index tensors are kept for last:
    one becomes a Gather, several a GatherND over their axes moved to the front (numpy's placement).
    ``other`` is the same index in the second trace: a bound that differs there follows a size
    (``x[:, :n - 1]``, ``mask[:n, :n]``) and is written relative to the end or read at run time."""
    items = _items(index, len(dims))
    others = _items(other, len(dims)) if other is not None else [None] * len(items)
    if len(others) != len(items):
        others = [None] * len(items)
    pos, advanced = 0, []
    for item, twin in zip(items, others):
        if item is None:
            x = ctx.emit("Unsqueeze", [x, ctx.b.ints([pos], "axes")])
            dims.insert(pos, 1)
            pos += 1
        elif isinstance(item, (bool, np.bool_)):
            raise ExportError(f"ONNX export: indexing with a Python bool ({ctx.where()}) is not supported")
        elif isinstance(item, (int, np.integer)):
            at = _bound(ctx, item, twin, dims[pos], None)
            at = ctx.b.const(np.asarray(at, dtype=np.int64), "index") if isinstance(at, int) \
                else ctx.emit("Squeeze", [at, ctx.b.ints([0], "axes")])
            x = ctx.emit("Gather", [x, at], axis=pos)
            del dims[pos]
        elif isinstance(item, slice):
            if item != slice(None):
                twin = twin if isinstance(twin, slice) else slice(None)
                step = 1 if item.step is None else int(item.step)
                start = _bound(ctx, item.start, twin.start, dims[pos], 0 if step > 0 else _MAX)
                stop = _bound(ctx, item.stop, twin.stop, dims[pos], _MAX if step > 0 else _MIN)
                x = ctx.emit("Slice", [x, _one(ctx, start), _one(ctx, stop), ctx.b.ints([pos], "axes"),
                                       ctx.b.ints([step], "steps")])
            pos += 1
        elif isinstance(item, Value):
            if item.dtype == np.bool_:
                raise ExportError(f"ONNX export: indexing with a boolean mask ({ctx.where()}) gives a "
                                  "data-dependent shape; use torch.where(mask, x, other) instead")
            advanced.append((pos, item))
            pos += 1
        else:
            raise ExportError(f"ONNX export: cannot index with {type(item).__name__} ({ctx.where()})")
    ndim = len(dims)
    if len(advanced) == 1:
        axis, item = advanced[0]
        return ctx.emit("Gather", [x, ctx.b.name_of(item)], axis=axis), ndim + len(item.shape) - 1
    if advanced:
        return _gather_nd(ctx, x, ndim, advanced)
    return x, ndim


def _one(ctx, bound) -> str:
    return ctx.b.ints([bound], "bound") if isinstance(bound, int) else bound


def _bound(ctx, here, there, dim, default):
    """An index or slice bound: an int, or the name of a 1-element tensor read at run time."""
    if here is None:
        return default
    here = int(here)
    if there is None or int(there) == here:
        return here
    there = int(there)  # the bound follows a size
    if is_dynamic(dim) and here - dim[0] == there - dim[1]:
        offset = here - dim[0]  # a fixed distance from the end of this axis
        return offset if offset < 0 else _MAX
    source = ctx.b.dim_source((here, there))
    if source is None:
        raise ExportError(f"ONNX export: an index or slice bound ({here} here) changes with the input "
                          f"({ctx.where()}) in a way the graph cannot express; index relative to the end "
                          "(x[:, :-1]) or by a dynamic size")
    return source


def _gather_nd(ctx, x: str, ndim: int, advanced: list) -> tuple:
    axes = [axis for axis, _ in advanced]
    rest = [a for a in range(ndim) if a not in axes]
    x = ctx.emit("Transpose", [x], perm=axes + rest)
    shape = np.broadcast_shapes(*[tuple(v.shape) for _, v in advanced])
    target = ctx.b.ints(shape, "shape")
    last = ctx.b.ints([-1], "axes")
    columns = []
    for _, value in advanced:
        index = ctx.b.name_of(value)
        if value.dtype != np.int64:
            index = ctx.emit("Cast", [index], to=7)
        if tuple(value.shape) != shape:
            index = ctx.emit("Expand", [index, target])
        columns.append(ctx.emit("Unsqueeze", [index, last]))
    out = ctx.emit("GatherND", [x, ctx.emit("Concat", columns, axis=-1)])
    rank = len(shape) + len(rest)
    adjacent = axes == list(range(axes[0], axes[0] + len(axes)))
    if adjacent and axes[0] > 0:  # numpy keeps adjacent index dims where they were
        before = list(range(len(shape), len(shape) + axes[0]))
        perm = before + list(range(len(shape))) + list(range(len(shape) + axes[0], rank))
        out = ctx.emit("Transpose", [out], perm=perm)
    return out, rank


@converts("GetItem")
def getitem(ctx):
    x, dims = ctx.x(0), list(ctx.in_dims())
    other = ctx.op.other_attrs or {}
    first = ctx.attrs["first"]  # None: no first stage (the second may itself be None: x[None])
    if first is not None:
        x, _ = _index(ctx, x, first, dims, other.get("first"))
    x, _ = _index(ctx, x, ctx.attrs["second"], dims, other.get("second"))
    ctx.finish(x)
