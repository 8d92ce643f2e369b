"""Compile a valid spec into a Module that runs its nodes in topological order.

Each layer's module is registered under its node NAME, so ``state_dict()`` keys read like
hand-written PyTorch (``fc1.weight``, ``lstm1.weight_ih_l0``) and stay stable when nodes move on the
canvas. The ``nn`` namespace is a parameter: the engine's by default, ``torch.nn`` in the oracle
tests, so the very same declarations are checked against PyTorch's constructors.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from .errors import GraphError
from .spec import ModelSpec
from .validate import ShapeReport, infer_shapes

_CLASSES: dict[str, type] = {}


def compile_spec(spec: ModelSpec, nn: ModuleType | None = None) -> Any:
    """A ``GraphModel`` (an ``nn.Module``) for ``spec``; GraphError when the spec is invalid.

    ``forward(x)`` takes a batch shaped (batch, *input shape) and returns the output node's value.
    """
    report = infer_shapes(spec)
    report.raise_if_invalid()
    if nn is None:
        from layerforge.engine import nn
    return _model_class(nn)(spec, report)


def _model_class(nn: ModuleType) -> type:
    """One GraphModel class per ``nn`` namespace (engine or torch), built on its Module."""
    key = nn.__name__
    if key not in _CLASSES:
        ops = importlib.import_module(nn.__name__.rpartition(".")[0])  # layerforge.engine or torch
        _CLASSES[key] = _define_graph_model(nn, ops)
    return _CLASSES[key]


def _define_graph_model(nn: ModuleType, ops: ModuleType) -> type:
    class GraphModel(nn.Module):
        """A model compiled from a Layerforge graph; submodules are named after the nodes."""

        def __init__(self, spec: ModelSpec, report: ShapeReport):
            super().__init__()
            plan = []
            for node_id in report.order:
                node = spec.nodes[node_id]
                if node.type == "Input":
                    continue
                layer, in_shapes = node.layer, report.nodes[node_id].input_shapes
                try:
                    module = layer.build(nn, node.params, in_shapes)
                except (NotImplementedError, TypeError, ValueError) as error:
                    raise GraphError(f"{node.label} could not be built: {error}", kind="build",
                                     node_id=node_id, node_name=node.name) from error
                if module is not None:
                    if hasattr(type(self), node.name):
                        raise GraphError(f"{node.label}: the name clashes with a Module attribute; rename "
                                         f"the layer", kind="name", node_id=node_id, node_name=node.name)
                    setattr(self, node.name, module)
                sources = tuple(edge.source for edge in spec.inputs_of(node_id))
                plan.append((node_id, node.name, layer, dict(node.params), sources))
            self._plan = tuple(plan)
            self._input_id = report.input_id
            self._output_id = report.output_id
            self.input_shape = report.input_shape
            self.output_shape = report.output_shape

        def forward(self, x):
            values = {self._input_id: x}
            for node_id, name, layer, params, sources in self._plan:
                inputs = [values[source] for source in sources]
                if layer.merge is not None:
                    value = layer.merge.apply(ops, params, inputs)
                elif layer.forward is not None:
                    value = layer.forward.apply(ops, params, getattr(self, name), inputs)
                else:
                    value = getattr(self, name)(*inputs)
                    if layer.select_output is not None:
                        value = layer.select_output.apply(ops, params, value)
                values[node_id] = value
            return values[self._output_id]

    return GraphModel
