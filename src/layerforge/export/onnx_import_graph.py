"""The state of one ONNX import: the spec being built, what each ONNX value stands for, and the weights.

The converters in ``onnx_import_layers`` / ``onnx_import_recurrent`` / ``onnx_import_elementwise``
read ONNX nodes and call :meth:`ImportState.add_layer`; they never edit the spec directly. An ONNX
value stands for a spec node's output (a :class:`Val`), possibly in another memory layout (time-major
around the recurrent ops), or for a constant (an initializer, a ``Constant``, or something computed
from them and from the input's shape).
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from layerforge.graph import GraphError, ModelSpec, get_layer
from layerforge.graph.errors import ShapeError
from layerforge.graph.spec import RESERVED_NAMES

from .common import ExportError
from .onnx_import_hints import Hints

BATCH = np.int64(-(2 ** 62))    # the batch size where a shape is computed from the input's (Shape -> ...)
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class ModelImportError(ExportError):
    """The model cannot be imported; ``unsupported`` lists (operator, node name, why) for every operator
    without a layer, so the message can name them all at once."""

    def __init__(self, message: str, unsupported: Sequence[tuple[str, str, str]] = ()):
        super().__init__(message)
        self.unsupported = list(unsupported)


class Unsupported(Exception):
    """One ONNX node cannot become a layer; ``reason`` says why (shown after the node's name)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Zeros:
    """A tensor known to hold only zeros, whose shape may depend on the batch (initial RNN states)."""

    shape: tuple


@dataclass
class Val:
    """An ONNX value that stands for a spec node's output.

    layout "": (batch, *shape) as in the spec. "T": a (time, features) output stored time-major
    (time, batch, features). "Y", "YT", "H", "HT", "HS": a recurrent op's outputs, not yet a layer
    (``pending``; see onnx_import_recurrent).
    """

    node: str | None
    layout: str = ""
    pending: Any = None
    layer: int = 0          # which stacked layer of ``pending`` (H layouts)
    stack: tuple = ()       # HS: the H values concatenated


@dataclass
class ImportState:
    onnx: Any
    model: Any
    nodes: list
    consts: dict[str, Any]
    opset: int
    hints: Hints
    spec: ModelSpec = field(default_factory=ModelSpec)
    values: dict[str, Val] = field(default_factory=dict)
    shapes: dict[str, tuple] = field(default_factory=dict)      # node id -> per-sample output shape
    dtypes: dict[str, str] = field(default_factory=dict)        # node id -> "float32" / "int64"
    state: dict[str, np.ndarray] = field(default_factory=dict)  # state_dict entries
    origin: dict[str, str] = field(default_factory=dict)        # node id -> the ONNX node's base name
    consumed: set = field(default_factory=set)                  # ids (id(node)) of nodes already used
    notes: list = field(default_factory=list)
    consumers: dict[str, list] = field(default_factory=dict)
    root: str = ""                                              # a name prefix all nodes share

    # -- values ----------------------------------------------------------------------------------

    def is_const(self, name: str) -> bool:
        return name == "" or name in self.consts

    def const(self, name: str, what: str) -> Any:
        if name not in self.consts:
            raise Unsupported(f"its {what} ({name!r}) is computed from the input, not a constant")
        return self.consts[name]

    def array(self, name: str, what: str) -> np.ndarray:
        value = self.const(name, what)
        if isinstance(value, Zeros) or (np.asarray(value).dtype == np.int64 and (np.asarray(value) == BATCH).any()):
            raise Unsupported(f"its {what} depends on the batch size")
        return np.asarray(value)

    def weight(self, name: str, what: str) -> np.ndarray:
        array = self.array(name, what)
        if array.dtype.kind not in "fiu":
            raise Unsupported(f"its {what} has element type {array.dtype}, not numbers")
        return array.astype(np.float32)

    def val(self, name: str, layouts: Iterable[str] = ("",)) -> Val:
        """The spec output ``name`` stands for, in one of ``layouts`` (a pending recurrent layer becomes
        a layer here when it is read as an ordinary tensor)."""
        if name in self.consts:
            raise Unsupported(f"its input {name!r} is a constant; Layerforge layers read the model's data")
        value = self.values.get(name)
        if value is None:
            raise Unsupported(f"its input {name!r} is not produced by a layer")
        layout = "" if value.layout == "Hs" else value.layout   # a final state, squeezed: an ordinary tensor
        if layout not in layouts:
            raise Unsupported(f"its input is {_LAYOUT_WORDS.get(value.layout, value.layout)}, which no layer reads")
        if value.node is None and value.pending is not None and layout in ("", "T"):
            from .onnx_import_recurrent import materialize
            value = materialize(self, Val(None, layout, value.pending, value.layer))
        return value

    def shape(self, value: Val) -> tuple:
        return self.shapes[value.node]

    def single_consumer(self, name: str) -> Any:
        users = self.consumers.get(name, [])
        return users[0] if len(users) == 1 and name not in self.graph_outputs else None

    @property
    def producers(self) -> dict:
        """value name -> the node that gives it."""
        if not hasattr(self, "_producers"):
            self._producers = {out: node for node in self.nodes for out in node.output if out}
        return self._producers

    @property
    def graph_outputs(self) -> set:
        return {output.name for output in self.model.graph.output}

    def base(self, node: Any) -> str:
        """The layer name ``node``'s name suggests, without a prefix every node shares ('model/')."""
        name = str(node.name) if node is not None else ""
        if self.root and name.startswith(self.root + "/"):
            name = name[len(self.root) + 1:]
        return base_name(name)

    def consume(self, *nodes: Any) -> None:
        self.consumed.update(id(node) for node in nodes)

    # -- layers ----------------------------------------------------------------------------------

    def add_layer(self, onnx_node: Any, layer_type: str, params: Mapping[str, Any], inputs: Sequence[Val],
                  weights: Mapping[str, np.ndarray] | None = None, output: str | None = None,
                  base: str | None = None) -> str:
        """Add a layer reading ``inputs``; its output stands for ``output`` (the node's first); its id."""
        layer = get_layer(layer_type)
        try:
            parsed = layer.parse_params(params)
        except Exception as error:   # ParamError: the attributes give a value the layer does not take
            raise Unsupported(f"its attributes give {layer_type} parameters it does not take ({error})") from None
        in_shapes = [self.shapes[value.node] for value in inputs]
        try:
            out_shape = layer.infer(parsed, in_shapes)
        except (GraphError, ShapeError) as error:
            message = error.message if isinstance(error, GraphError) else str(error)
            raise Unsupported(f"as {layer_type} {message} (input shapes {', '.join(map(str, in_shapes))})") from None
        base = base if base is not None else self.base(onnx_node)
        layer_type, parsed, weights = self.hints.refine(base, layer_type, parsed, dict(weights or {}), in_shapes,
                                                        out_shape)
        name = self._name(base, get_layer(layer_type).name_prefix)
        node = self.spec.add_node(layer_type, parsed, name=name)
        for index, value in enumerate(inputs):
            self.spec.connect(value.node, node.id, index)
        self.shapes[node.id] = tuple(out_shape)
        self.dtypes[node.id] = get_layer(layer_type).output_dtype or self.dtypes[inputs[0].node]
        self.origin[node.id] = base
        for key, array in weights.items():
            self.state[f"{name}.{key}"] = np.ascontiguousarray(array, dtype=np.float32)
        if output is None and onnx_node is not None:
            output = onnx_node.output[0]
        if output:
            self.values[output] = Val(node.id)
        return node.id

    def _name(self, base: str, prefix: str) -> str:
        taken = {node.name for node in self.spec.nodes.values()}
        if base and usable_name(base) and base not in taken:
            return base
        return self.spec.unique_name(prefix)


_LAYOUT_WORDS = {"T": "time-major (time, batch, features)", "Y": "a recurrent operator's per-step output",
                 "YT": "a recurrent operator's per-step output", "H": "a recurrent operator's final state",
                 "HT": "a recurrent operator's final state", "HS": "stacked recurrent states"}


def usable_name(name: str) -> bool:
    return (bool(_IDENTIFIER.fullmatch(name)) and not keyword.iskeyword(name) and name not in RESERVED_NAMES
            and not hasattr(_module_attributes(), name))


def _module_attributes():
    from layerforge.engine import nn
    return nn.Module


def base_name(node_name: str) -> str:
    """The layer an ONNX node belongs to, from its name: 'fc1/Gemm' (Layerforge), '/fc1/Gemm' (PyTorch),
    '/head/head.0/Gemm' -> 'head_0', '/0/Conv' -> '' (no usable name: the layer gets a numbered one)."""
    parts = [part for part in str(node_name).split("/") if part]
    if len(parts) < 2:   # 'Relu': an operator's own name, not a layer's
        return ""
    words = re.sub(r"[^A-Za-z0-9_]+", "_", parts[-2]).strip("_")
    if words[:1].isdigit() and len(parts) > 2:   # '/head/0/Gemm': the 0th of 'head'
        words = re.sub(r"[^A-Za-z0-9_]+", "_", f"{parts[-3]}_{parts[-2]}").strip("_")
    return words if words and words[0].isalpha() else ""


def f32(value: Any) -> float:
    """A float32 number as the shortest decimal that reads back as it (0.2, not 0.2000000030)."""
    return float(str(np.float32(value)))


def int_attr(node: Any, name: str, default: int) -> int:
    for attribute in node.attribute:
        if attribute.name == name:
            return int(attribute.i)
    return default


def attr(onnx: Any, node: Any, name: str, default: Any = None) -> Any:
    """An attribute's value: text decoded, a float as the shortest decimal of its float32 (1e-05, not
    9.99999974e-06), so parameters read as they were written."""
    for attribute in node.attribute:
        if attribute.name == name:
            value = onnx.helper.get_attribute_value(attribute)
            if isinstance(value, bytes):
                return value.decode()
            if isinstance(value, float):
                return f32(value)
            return value
    return default
