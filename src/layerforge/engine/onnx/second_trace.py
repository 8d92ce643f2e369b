"""The second trace: which sizes are dynamic, and which "constants" really came from the input.

``export`` runs the forward pass a second time on inputs whose values are mixed (each input blended
with a shuffle of itself, integers and booleans shuffled: the same range, other values) and whose
dynamic axes are grown (each symbol by its own amount). Pairing the two recordings operation by
operation then tells

- which dimensions follow the dynamic axes: those whose sizes differ, kept as (size, size) pairs;
- which constants were computed from the input by something the tracer does not record (argmax,
  all/any, one_hot, a detour through numpy): their contents differ. Writing them as constants would
  give a model that is silently wrong for every other input, so the export stops and says where.

When the two passes run different operations, the model branches on its input's values; like
PyTorch's tracer, the export then records the branch taken, with a warning.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..backend import device_of, to_device_array, to_host
from ..tensor import Tensor
from .builder import is_dynamic
from .errors import ExportError
from .registry import op_name
from .tracer import Trace, Value, _rebuild, trace


class TracerWarning(UserWarning):
    """The traced graph holds only the branch the example input took."""


def axes_of(spec) -> dict:
    """dynamic_axes' entry for one name as {axis: symbol or None}."""
    if isinstance(spec, dict):
        return {int(axis): str(symbol) for axis, symbol in spec.items()}
    return {int(axis): None for axis in spec}


def second_trace(model, args, call_kwargs, first: Trace, dynamic_axes: dict, input_names) -> tuple[dict, dict]:
    """(dims, symbols): each value's dims with dynamic sizes as pairs, and the inputs' names for them."""
    grown = _growth(first, dynamic_axes)
    second = _run(model, args, call_kwargs, first, grown, input_names, mix=True)
    if _same_operations(first, second):
        _refuse_input_dependent_constants(first, second)
        _keep_other_attrs(first, second)
    else:
        warnings.warn("ONNX export: the model runs other operations for other input values (Python control "
                      "flow on tensor values); the graph records the branch the example input took",
                      TracerWarning, stacklevel=3)
        if not grown:
            return {}, {}
        second = _run(model, args, call_kwargs, first, grown, input_names, mix=False)
        if not _same_operations(first, second):
            raise ExportError("ONNX export: the model runs different operations when its dynamic axes change "
                              "size (control flow on a size); export without dynamic_axes")
        _keep_other_attrs(first, second)
    if not grown:
        return {}, {}
    dims = _pair_dims(first, second)
    symbols = {}
    for value in first.inputs:
        for axis, symbol in axes_of(dynamic_axes.get(value.name, {})).items():
            dim = dims.get(value, value.shape)[axis]
            if is_dynamic(dim):
                symbols.setdefault(dim, symbol or f"{value.name}_dynamic_axes_{axis % len(value.shape) + 1}")
    return dims, symbols


def _growth(first: Trace, dynamic_axes: dict) -> dict:
    """input name -> [(axis, how many to add)]."""
    amounts, grown = {}, {}
    for value in first.inputs:
        for axis, symbol in axes_of(dynamic_axes.get(value.name, {})).items():
            if not -len(value.shape) <= axis < len(value.shape):
                raise ValueError(f"ONNX export: dynamic axis {axis} is out of range for input '{value.name}' "
                                 f"of shape {tuple(value.shape)}")
            if value.shape[axis] == 0:
                raise ValueError(f"ONNX export: input '{value.name}' is empty along its dynamic axis {axis}")
            # A named symbol grows by its own amount wherever it appears; unnamed axes of one traced
            # size grow together (the batch of several inputs, say): name them to tell them apart.
            key = symbol or ("size", value.shape[axis])
            amounts.setdefault(key, len(amounts) + 1)
            grown.setdefault(value.name, []).append((axis % len(value.shape), amounts[key]))
    return grown


def _run(model, args, call_kwargs, first: Trace, grown: dict, input_names, mix: bool) -> Trace:
    position = iter(range(len(first.inputs)))
    copies = {}
    rng = np.random.default_rng(0)

    def other(t):
        if id(t) in copies:
            return copies[id(t)]
        value = first.inputs[next(position)]
        data = to_host(t._data)
        if mix and data.size > 1:
            shuffled = data.reshape(-1)[rng.permutation(data.size)].reshape(data.shape)
            data = ((data + shuffled) * 0.5).astype(data.dtype) if data.dtype.kind in "fc" else shuffled
        for axis, extra in grown.get(value.name, ()):
            more = np.take(data, np.arange(extra) % data.shape[axis], axis=axis)
            data = np.concatenate([data, more], axis=axis)
        copies[id(t)] = Tensor._wrap(to_device_array(np.ascontiguousarray(data), device_of(t._data)))
        return copies[id(t)]

    try:
        return trace(model, _rebuild(args, other), call_kwargs, input_names)
    except Exception as exc:
        what = "dynamic axes change size" if grown else "inputs take other values"
        raise ExportError(f"ONNX export: the model fails when its {what} ({type(exc).__name__}: {exc}); "
                          "the export runs it twice to tell sizes and constants from the input apart"
                          + ("; export without dynamic_axes, or mark only axes the model accepts at any size"
                             if grown else "")) from exc


def _same_operations(first: Trace, second: Trace) -> bool:
    return len(first.ops) == len(second.ops) and all(a.kind == b.kind for a, b in zip(first.ops, second.ops))


def _pairs(a, b):
    if isinstance(a, Value) and isinstance(b, Value):
        yield a, b
    elif type(a) is tuple and type(b) is tuple:
        for x, y in zip(a, b):
            yield from _pairs(x, y)


def _op_pairs(first: Trace, second: Trace):
    """(operation, its value in the first run, the same value in the second) for every operand."""
    for op_a, op_b in zip(first.ops, second.ops):
        for x, y in zip(op_a.inputs + op_a.outputs, op_b.inputs + op_b.outputs):
            yield op_a, x, y
        for key, item in op_a.attrs.items():
            for x, y in _pairs(item, op_b.attrs.get(key)):
                yield op_a, x, y


def _refuse_input_dependent_constants(first: Trace, second: Trace) -> None:
    needed = first.needed()  # an operation replaced by a recorded one (sort's gather) is not written
    for op, a, b in _op_pairs(first, second):
        if id(op) in needed and a.kind == "const" and b.kind == "const" and a.shape == b.shape and a.dtype == b.dtype \
                and not np.array_equal(a.array, b.array, equal_nan=a.dtype.kind in "fc"):
            raise ExportError(
                f"ONNX export: a tensor of shape {tuple(a.shape)} that '{op_name(op.kind)}' reads (called in "
                f"{op.scope} forward) changes with the input, but was computed by an operation the tracer "
                f"{_UNRECORDED}: it would be written as a fixed constant")
    # the same for what the model returns (pooling indices, say, handed straight back)
    for position, (a, b) in enumerate(zip(first.outputs, second.outputs)):
        if a.kind == "const" and b.kind == "const" and a.shape == b.shape and a.dtype == b.dtype \
                and not np.array_equal(a.array, b.array, equal_nan=a.dtype.kind in "fc"):
            raise ExportError(
                f"ONNX export: output {position} of the model (shape {tuple(a.shape)}) changes with the input, "
                f"but was computed by an operation the tracer {_UNRECORDED}: it would be written as a fixed "
                "constant")


_UNRECORDED = ("cannot record (argmax/argmin, all/any, one_hot, sorting or pooling indices, .numpy() or "
               ".item() detours, or random numbers)")


# Attributes that may follow the input's sizes because their converter reads them in both traces
# (or derives them from the dims): everything else must be the same in both.
_SIZE_AWARE = {"Reshape": {"shape"}, "Expand": {"shape"}, "GetItem": {"first", "second"}, "TopK": {"k"}}


def _keep_other_attrs(first: Trace, second: Trace) -> None:
    """Give each operation its attributes in the second trace, and refuse the ones that changed where
    no converter can follow them."""
    needed = first.needed()
    for op_a, op_b in zip(first.ops, second.ops):
        op_a.other_attrs = op_b.attrs
        if id(op_a) not in needed:
            continue
        for key, value in op_a.attrs.items():
            if key not in _SIZE_AWARE.get(op_a.kind, ()) and _plain_differs(value, op_b.attrs.get(key)):
                raise ExportError(
                    f"ONNX export: the arguments of '{op_name(op_a.kind)}' (called in {op_a.scope} forward) "
                    f"change with the input's sizes or values ({key}: {value!r} here, "
                    f"{op_b.attrs.get(key)!r} at other inputs), which a traced graph cannot express")


def _plain_differs(a, b) -> bool:
    """Whether two attribute values differ as data (numbers, strings, slices, tuples of them)."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) != len(b) or any(_plain_differs(x, y) for x, y in zip(a, b))
    plain = (int, float, str, slice, type(None), np.integer, np.floating)
    if isinstance(a, plain) and isinstance(b, plain):
        return type(a) is not type(b) or a != b
    return False


def _pair_dims(first: Trace, second: Trace) -> dict:
    dims = {}

    def pair(a, b):
        if a.shape != b.shape and len(a.shape) == len(b.shape):
            dims[a] = tuple(x if x == y else (x, y) for x, y in zip(a.shape, b.shape))

    for a, b in zip(first.inputs, second.inputs):
        pair(a, b)
    for _, a, b in _op_pairs(first, second):
        pair(a, b)
    return dims
