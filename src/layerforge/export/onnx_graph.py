"""A small builder for ONNX graphs, and what one layer's converter is handed.

The converters in ``onnx_layers`` / ``onnx_recurrent`` read a node's catalog parameters and its
weights and emit ONNX nodes through :class:`OnnxGraph`; they never touch ``onnx`` protobufs directly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .common import ExportError, contiguous

Shape = tuple[int, ...]


class OnnxGraph:
    """Collects nodes and initializers with unique, readable names (``fc1.weight``, ``conv1/Conv``)."""

    def __init__(self, onnx: Any, opset: int):
        self.onnx = onnx
        self.opset = opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._taken: set[str] = set()

    def fresh(self, base: str) -> str:
        name, number = base, 1
        while name in self._taken:
            number += 1
            name = f"{base}_{number}"
        self._taken.add(name)
        return name

    def constant(self, value: Any, name: str, dtype: Any = np.float32) -> str:
        """An initializer holding ``value`` (float32 unless told otherwise); returns its name."""
        array = contiguous(np.asarray(value, dtype=dtype))
        unique = self.fresh(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, unique))
        return unique

    def ints(self, values: Sequence[int], name: str) -> str:
        return self.constant(list(values), name, np.int64)

    def op(self, op_type: str, inputs: Sequence[str], name: str, outputs: int = 1, **attributes: Any):
        """Add one node; returns its output name (or the list of names when ``outputs`` > 1)."""
        node_name = self.fresh(f"{name}/{op_type}")
        output_names = [self.fresh(f"{name}/{op_type}_out{'' if outputs == 1 else index}")
                        for index in range(outputs)]
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), output_names, name=node_name,
                                                     **attributes))
        return output_names[0] if outputs == 1 else output_names

    def reduce_mean(self, x: str, axes: Sequence[int], name: str) -> str:
        """ReduceMean keeping dimensions; its axes moved from attribute to input in opset 18."""
        if self.opset >= 18:
            return self.op("ReduceMean", [x, self.ints(axes, f"{name}.axes")], name, keepdims=1)
        return self.op("ReduceMean", [x], name, axes=list(axes), keepdims=1)

    def reshape(self, x: str, shape: Sequence[int], name: str) -> str:
        """Reshape to ``shape``; a 0 keeps the input's size there (the batch), -1 is inferred."""
        return self.op("Reshape", [x, self.ints(shape, f"{name}.shape")], name)


@dataclass
class LayerContext:
    """One node being converted: its name and parameters, input names and shapes, and its weights.

    Shapes exclude the batch dimension, as everywhere in ``layerforge.graph``.
    """

    graph: OnnxGraph
    name: str
    type: str
    params: Mapping[str, Any]
    inputs: list[str]
    in_shapes: tuple[Shape, ...]
    out_shape: Shape
    state: Mapping[str, np.ndarray]

    @property
    def x(self) -> str:
        return self.inputs[0]

    @property
    def in_shape(self) -> Shape:
        return self.in_shapes[0]

    def has(self, key: str) -> bool:
        return f"{self.name}.{key}" in self.state

    def weight(self, key: str, shape: Sequence[int] | None = None) -> np.ndarray:
        """The float32 array stored under ``<node name>.<key>``, checked against the expected shape."""
        full = f"{self.name}.{key}"
        if full not in self.state:
            raise ExportError(f"{self.type} '{self.name}': the weights have no '{full}'; export the weights of "
                              f"this very model (were layers renamed after training?)")
        array = np.asarray(self.state[full], dtype=np.float32)
        if shape is not None and tuple(array.shape) != tuple(shape):
            raise ExportError(f"{self.type} '{self.name}': '{full}' has shape {tuple(array.shape)}, but the layer "
                              f"needs {tuple(shape)}; the weights belong to a different model")
        return array

    def constant(self, value: Any, key: str) -> str:
        return self.graph.constant(value, f"{self.name}.{key}")

    def op(self, op_type: str, inputs: Sequence[str], outputs: int = 1, **attributes: Any):
        return self.graph.op(op_type, inputs, self.name, outputs, **attributes)

    def fail(self, message: str) -> ExportError:
        return ExportError(f"{self.type} '{self.name}' cannot be exported to ONNX: {message}")
