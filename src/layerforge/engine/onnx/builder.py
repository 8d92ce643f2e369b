"""The ONNX graph being built, as plain data (no ``onnx`` import): names, nodes, initializers, and
what converters need to know of each traced value (shape, dtype, which dimensions are dynamic).

Dynamic dimensions: ``export`` runs the forward pass a second time with the dynamic axes grown, and
a dimension whose size differs between the runs is dynamic. Such a dimension is kept as the pair
of its two sizes (its signature): the same pair is the same symbolic size, wherever it appears.
"""
from __future__ import annotations

import numpy as np

from ..backend import to_host

from .dtypes import onnx_type
from .errors import ExportError
from .tracer import Recorded, Trace, Value


def is_dynamic(dim) -> bool:
    return isinstance(dim, tuple)


class GraphBuilder:
    def __init__(self, trace: Trace, opset: int, dims: dict, output_names: list[str],
                 symbol_names: dict):
        self.trace, self.opset = trace, opset
        self.dims = dims                      # Value -> tuple of int | (size, size)
        self.symbol_names = symbol_names      # signature -> symbolic name (from the inputs)
        self.nodes: list[tuple] = []          # (op_type, inputs, outputs, attrs, name)
        self.initializers: dict[str, np.ndarray] = {}
        self._names: dict[int, str] = {}      # id(Value) -> name
        self._used: set[str] = set()
        self._reserved = set(trace.state_keys())  # helper names never take a parameter's key
        self._counts: dict[str, int] = {}
        self._output_names: dict[int, str] = {}
        self.repeated_outputs: list = []      # (value, name): a value returned twice, written by Identity
        for value, name in zip(trace.outputs, output_names):
            if id(value) in self._output_names:
                self.repeated_outputs.append((value, name))
            else:
                self._output_names[id(value)] = name
        self._dim_sources: dict = {}
        self._shared: dict = {}               # small constants by value, written once
        for value in trace.inputs:
            self._claim(value.name)
            self._names[id(value)] = value.name
        for name in output_names:
            self._claim(name)

    # ------------------------------------------------------------------ names
    def _claim(self, name: str) -> str:
        if name in self._used:
            raise ExportError(f"ONNX export: the name '{name}' is given twice (input_names/output_names "
                              "must be unique, and differ from parameter names)")
        self._used.add(name)
        return name

    def fresh(self, hint: str) -> str:
        n = self._counts.get(hint, 0)
        while True:
            name = hint if n == 0 else f"{hint}_{n}"
            n += 1
            if name not in self._used and name not in self._reserved:
                self._counts[hint] = n
                self._used.add(name)
                return name

    def name_of(self, value: Value) -> str:
        """The graph name of a value; parameters and constants become initializers on first use."""
        name = self._names.get(id(value))
        if name is not None:
            return name
        if value.kind == "param":
            name = self._claim_param(value.name)
            self.initializers[name] = _host(value.array)
        elif value.kind == "const":
            name = self._constant_value(value)
        else:
            raise ExportError("ONNX export: a value was read before the operation that computes it "
                              "(internal error)")
        self._names[id(value)] = name
        return name

    def _claim_param(self, key: str) -> str:
        if key in self._used:  # a state_dict key equal to an input/output name
            raise ExportError(f"ONNX export: the input/output name '{key}' is also a parameter's "
                              "state_dict key; choose another name")
        return self._claim(key)

    def _constant_value(self, value: Value) -> str:
        dims = self.dims.get(value, value.shape)
        if not any(is_dynamic(d) for d in dims):
            return self.const(value.array, "const")
        flat = value.array.reshape(-1)
        ramp = self._arange(value, dims, flat)
        if ramp is not None:
            return ramp
        if flat.size == 0 or not (flat == flat[0]).all():
            raise ExportError(
                f"ONNX export: a tensor of shape {tuple(value.shape)} made inside forward has a size "
                "that follows a dynamic axis but is not filled with one value (as zeros/ones/full are); "
                "compute it from the input instead, or export without dynamic_axes")
        scalar = self.const(flat[:1].reshape(()), "fill")
        return self.emit("Expand", [scalar, self.shape_tensor(dims)], hint="fill")

    def _arange(self, value: Value, dims, flat) -> str | None:
        """torch.arange(n) sized by a dynamic axis (positions, say) as a Range read at run time."""
        dynamic = [d for d in dims if is_dynamic(d)]
        if len(dynamic) != 1 or flat.size != dynamic[0][0] or value.dtype.kind not in "iuf" \
                or not np.array_equal(flat, np.arange(flat.size)):
            return None
        source = self.dim_source(dynamic[0])
        if source is None:
            return None
        limit = self.emit("Squeeze", [source, self.ints([0], "axes")], hint="size")
        if value.dtype != np.int64:
            limit = self.emit("Cast", [limit], hint="size", to=onnx_type(value.dtype))
        zero, one = self.scalar(0, value.dtype), self.scalar(1, value.dtype)
        ramp = self.emit("Range", [zero, limit, one], hint="arange")
        return self.emit("Reshape", [ramp, self.shape_tensor(dims)], hint="arange") if len(dims) != 1 else ramp

    def output_name(self, value: Value, hint: str) -> str:
        """Where an operation writes ``value``: the user's output name for a graph output, else fresh."""
        name = self._output_names.pop(id(value), None)
        if name is None:
            name = self.fresh(hint)
        self._names[id(value)] = name
        return name

    def bind(self, value: Value, name: str) -> None:
        """``value`` is the existing tensor ``name`` (an operation that changes nothing)."""
        final = self._output_names.pop(id(value), None)
        if final is not None:
            self.emit("Identity", [name], outputs=[final])
            name = final
        self._names[id(value)] = name

    # ------------------------------------------------------------------ nodes and constants
    def emit(self, op_type: str, inputs: list, n_out: int = 1, outputs=None, hint: str | None = None,
             scope: str = "", **attrs):
        if outputs is None:
            outputs = [self.fresh(hint or op_type.lower()) for _ in range(n_out)]
        name = self.fresh(f"{scope.replace('.', '/')}/{op_type}" if scope else op_type)
        self.nodes.append((op_type, list(inputs), list(outputs), attrs, name))
        return outputs[0] if len(outputs) == 1 else outputs

    def const(self, array, hint: str = "const") -> str:
        array = np.asarray(_host(array))
        name = self.fresh(hint)
        self.initializers[name] = np.array(array, copy=True)
        return name

    def ints(self, values, hint: str = "ints") -> str:
        """A 1-d int64 constant (axes, shapes, indices); equal ones are shared."""
        values = tuple(int(v) for v in values)
        key = ("ints", values)
        if key not in self._shared:
            self._shared[key] = self.const(np.asarray(values, dtype=np.int64), hint)
        return self._shared[key]

    def scalar(self, number, dtype, hint: str = "scalar") -> str:
        """A 0-d constant of ``dtype``; equal ones are shared."""
        array = np.asarray(number, dtype=dtype)
        key = ("scalar", array.dtype.str, array.tobytes())
        if key not in self._shared:
            self._shared[key] = self.const(array, hint)
        return self._shared[key]

    # ------------------------------------------------------------------ dynamic sizes
    def dim_source(self, signature) -> str | None:
        """A 1-element int64 tensor holding a dynamic size at run time, read off a graph input."""
        if signature in self._dim_sources:
            return self._dim_sources[signature]
        for value in self.trace.inputs:
            for axis, dim in enumerate(self.dims.get(value, value.shape)):
                if dim == signature:
                    name = self.emit("Shape", [value.name], hint=f"{value.name}_size{axis}",
                                     start=axis, end=axis + 1)
                    self._dim_sources[signature] = name
                    return name
        return None

    def shape_tensor(self, dims, allow_infer: bool = False, copy_from=None) -> str:
        """An int64 shape tensor for ``dims``: constants where static, sizes read at run time where
        dynamic. With ``allow_infer`` one unknown size may be -1 (Reshape); with ``copy_from`` (the
        input's dims) a dynamic size at the same position in the input is written 0 (Reshape's copy)."""
        pieces, inferred = [], False
        for i, dim in enumerate(dims):
            if not is_dynamic(dim):
                pieces.append(int(dim))
            elif copy_from is not None and i < len(copy_from) and copy_from[i] == dim:
                pieces.append(0)
            else:
                source = self.dim_source(dim)
                if source is None and allow_infer and not inferred:
                    pieces.append(-1)
                    inferred = True
                elif source is None:
                    raise ExportError(
                        f"ONNX export: cannot express the dynamic size {dim[0]} (at the traced size) of a "
                        f"shape {tuple(d[0] if is_dynamic(d) else d for d in dims)} in terms of the "
                        "inputs' dynamic axes")
                else:
                    pieces.append(source)
        if all(isinstance(p, int) for p in pieces):
            return self.ints(pieces, "shape")
        parts, run = [], []
        for piece in pieces:
            if isinstance(piece, int):
                run.append(piece)
                continue
            if run:
                parts.append(self.ints(run, "shape"))
                run = []
            parts.append(piece)
        if run:
            parts.append(self.ints(run, "shape"))
        return self.emit("Concat", parts, hint="shape", axis=0)

    def dims_of(self, value: Value) -> tuple:
        return tuple(self.dims.get(value, value.shape))


class OpContext:
    """What a converter sees of one recorded operation."""

    def __init__(self, builder: GraphBuilder, op: Recorded):
        self.b, self.op, self.attrs = builder, op, op.attrs
        self.scope = op.scope

    def x(self, i: int) -> str:
        return self.b.name_of(self.op.inputs[i])

    @property
    def n_inputs(self) -> int:
        return len(self.op.inputs)

    def out(self, i: int = 0) -> str:
        return self.b.output_name(self.op.outputs[i], self.op.kind.lower())

    def in_value(self, i: int) -> Value:
        return self.op.inputs[i]

    def out_value(self, i: int = 0) -> Value:
        return self.op.outputs[i]

    def in_shape(self, i: int = 0) -> tuple:
        return tuple(self.op.inputs[i].shape)

    def out_shape(self, i: int = 0) -> tuple:
        return tuple(self.op.outputs[i].shape)

    def in_dims(self, i: int = 0) -> tuple:
        return self.b.dims_of(self.op.inputs[i])

    def out_dims(self, i: int = 0) -> tuple:
        return self.b.dims_of(self.op.outputs[i])

    def dtype(self, i: int = 0):
        return self.op.inputs[i].dtype

    def emit(self, op_type: str, inputs: list, n_out: int = 1, outputs=None, hint=None, **attrs):
        return self.b.emit(op_type, inputs, n_out, outputs, hint, self.scope, **attrs)

    def emit_out(self, op_type: str, inputs: list, **attrs) -> str:
        """One node whose single output is the operation's output."""
        return self.b.emit(op_type, inputs, 1, [self.out(0)], None, self.scope, **attrs)

    def scalar(self, number, i: int = 0) -> str:
        """A scalar constant in the dtype of input ``i`` (float32 stays float32)."""
        return self.b.scalar(number, self.dtype(i))

    def same(self, i: int = 0) -> None:
        """The output is input ``i`` unchanged."""
        self.b.bind(self.op.outputs[0], self.x(i))

    def finish(self, name: str) -> None:
        """The operation's (single) output is ``name``: renamed in place if the last node made it."""
        nodes = self.b.nodes
        if nodes and nodes[-1][2] == [name] and name != self.x(0):
            nodes[-1][2][0] = self.out(0)
        else:
            self.b.bind(self.op.outputs[0], name)

    def where(self) -> str:
        return f"called in {self.scope} forward"


def _host(array):
    return array if isinstance(array, np.ndarray) else to_host(array)
