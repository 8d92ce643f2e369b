"""Operators whose inputs are all constants, computed once at import (shape arithmetic, zeros).

PyTorch's exporter computes reshape targets and initial recurrent states from the input's shape
(``Shape -> Gather -> Unsqueeze -> Concat``, ``ConstantOfShape``). ``Shape`` gives the batch size as
the marker ``BATCH``; it travels through the index operators below, and a tensor of zeros whose shape
holds it is kept as :class:`Zeros`. Arithmetic on the marker is refused rather than guessed.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .onnx_import_file import MAX_TENSOR_VALUES, tensor_array
from .onnx_import_graph import BATCH, ImportState, Unsupported, Zeros, attr


def _ints(value: Any) -> list[int]:
    return [int(v) for v in np.asarray(value).reshape(-1)]


def _plain(value: Any, what: str) -> np.ndarray:
    if isinstance(value, Zeros):
        raise Unsupported(f"its {what} is a tensor of zeros whose shape depends on the batch")
    return np.asarray(value)


def _arith(function: Callable) -> Callable:
    def fold(st, node, args):
        arrays = [_plain(a, "input") for a in args]
        if any(a.dtype == np.int64 and (a == BATCH).any() for a in arrays):
            raise Unsupported("it computes with the batch size, which Layerforge does not fix")
        return function(*arrays)
    return fold


def _constant(st: ImportState, node, args) -> Any:
    for attribute in node.attribute:
        if attribute.name == "value":
            return tensor_array(st.onnx, attribute.t)
        if attribute.name in ("value_float", "value_int"):
            return np.asarray(st.onnx.helper.get_attribute_value(attribute),
                              dtype=np.float32 if attribute.name == "value_float" else np.int64)
        if attribute.name in ("value_floats", "value_ints"):
            return np.asarray(st.onnx.helper.get_attribute_value(attribute),
                              dtype=np.float32 if attribute.name == "value_floats" else np.int64)
    raise Unsupported("its value is of a kind Layerforge does not read (sparse or string)")


def _constant_of_shape(st: ImportState, node, args) -> Any:
    shape = _ints(_plain(args[0], "shape"))
    value = attr(st.onnx, node, "value")
    fill = np.zeros(1, np.float32) if value is None else tensor_array(st.onnx, value).reshape(-1)
    if any(size == int(BATCH) for size in shape):
        if fill.any():
            raise Unsupported("a constant fill other than zero over the batch has no layer")
        return Zeros(tuple(shape))
    if any(size < 0 for size in shape) or int(np.prod(shape, dtype=np.int64)) > MAX_TENSOR_VALUES:
        raise Unsupported(f"its shape {tuple(shape)} is negative or too large")
    return np.full(shape, fill[0], dtype=fill.dtype)


def _keeps_zeros(function: Callable) -> Callable:
    def fold(st, node, args):
        if args and isinstance(args[0], Zeros):
            return args[0]
        return function(st, node, args)
    return fold


def _axes(st, node, args, position=1) -> list[int]:
    if len(args) > position and args[position] is not None:
        return _ints(args[position])
    return [int(a) for a in (attr(st.onnx, node, "axes", []) or [])]


def _unsqueeze(st, node, args):
    array = _plain(args[0], "input")
    for axis in sorted(a + array.ndim + 1 if a < 0 else a for a in _axes(st, node, args)):
        array = np.expand_dims(array, axis)
    return array


def _squeeze(st, node, args):
    array = _plain(args[0], "input")
    axes = _axes(st, node, args)
    return np.squeeze(array, axis=tuple(axes)) if axes else np.squeeze(array)


def _slice(st, node, args):
    array = _plain(args[0], "input")
    starts, ends = _ints(args[1]), _ints(args[2])
    axes = _ints(args[3]) if len(args) > 3 and args[3] is not None else list(range(len(starts)))
    steps = _ints(args[4]) if len(args) > 4 and args[4] is not None else [1] * len(starts)
    index = [slice(None)] * array.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        index[axis] = slice(start, min(end, 2 ** 62) if end > 0 else end, step)
    return array[tuple(index)]


def _gather(st, node, args):
    return np.take(_plain(args[0], "data"), _plain(args[1], "indices"), axis=int(attr(st.onnx, node, "axis", 0)))


def _concat(st, node, args):
    return np.concatenate([_plain(a, "input") for a in args], axis=int(attr(st.onnx, node, "axis", 0)))


def _cast(st, node, args):
    array = _plain(args[0], "input")
    target = st.onnx.helper.tensor_dtype_to_np_dtype(int(attr(st.onnx, node, "to")))
    if array.dtype == np.int64 and (array == BATCH).any():
        return array
    return array.astype(target)


def _reshape(st, node, args):
    array = _plain(args[0], "input")
    target = _ints(args[1])
    shape = [array.shape[i] if size == 0 else size for i, size in enumerate(target)]
    return array.reshape(shape)


def _transpose(st, node, args):
    perm = attr(st.onnx, node, "perm")
    return np.transpose(_plain(args[0], "input"), perm)


def _shape_of_constant(st, node, args):
    value = args[0]
    return np.asarray(value.shape if isinstance(value, Zeros) else np.shape(value), dtype=np.int64)


FOLDERS: dict[str, Callable] = {
    "Constant": _constant, "ConstantOfShape": _constant_of_shape,
    "Identity": _keeps_zeros(lambda st, node, args: args[0]), "Cast": _keeps_zeros(_cast),
    "Unsqueeze": _keeps_zeros(_unsqueeze), "Squeeze": _keeps_zeros(_squeeze), "Slice": _keeps_zeros(_slice),
    "Expand": _keeps_zeros(lambda st, node, args: np.broadcast_to(_plain(args[0], "input"), _ints(args[1])).copy()),
    "Reshape": _keeps_zeros(_reshape), "Transpose": _keeps_zeros(_transpose),
    "Gather": _gather, "Concat": _concat, "Shape": _shape_of_constant,
    "Add": _arith(np.add), "Sub": _arith(np.subtract), "Mul": _arith(np.multiply),
    "Div": _arith(lambda a, b: a // b if a.dtype.kind in "iu" and b.dtype.kind in "iu" else a / b),
    "Neg": _arith(np.negative), "Sqrt": _arith(np.sqrt),
}


def fold(st: ImportState, node) -> None:
    """Compute ``node`` from its constant inputs; its outputs become constants."""
    args = [st.consts[name] if name else None for name in node.input]
    try:
        with np.errstate(all="ignore"):
            result = FOLDERS[node.op_type](st, node, args)
    except Unsupported:
        raise
    except Exception as error:   # a malformed constant subgraph
        raise Unsupported(f"it could not be computed from its constant inputs ({error})") from None
    if not isinstance(result, Zeros):
        result = np.asarray(result)
        if result.size > MAX_TENSOR_VALUES:
            raise Unsupported(f"it computes a constant of {result.size} values, too large to import")
    st.consts[node.output[0]] = result
