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
    # the engine runs a Linear layer whose output only an activation reads, and a ReLU whose output only a
    # 2-d max pooling reads, as one node (nn/fusion.py)
    fusion = nn.fusion if nn.__name__ == "layerforge.engine.nn" else None

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
            self._fusible = {}
            if fusion is not None:  # (the modules are checked again at each call: they may be replaced)
                names = {entry[0]: entry[1] for entry in plan}
                self._fusible = {
                    node_id: pair for node_id, pair in _fusible_pairs(plan, report.output_id).items()
                    if fusion.fusible(getattr(self, names[node_id], None), getattr(self, pair[1], None))}
            self._input_id = report.input_id
            self._output_id = report.output_id
            self.input_shape = report.input_shape
            self.output_shape = report.output_shape

        def forward(self, x):
            values = {self._input_id: x}
            fusible = self._fusible
            for node_id, name, layer, params, sources in self._plan:
                if node_id in values:  # an activation already run with the Linear before it
                    continue
                inputs = [values[source] for source in sources]
                pair = fusible.get(node_id)
                if pair is not None:
                    act_id, act_name = pair
                    value = fusion.fused(getattr(self, name), getattr(self, act_name), inputs[0])
                    if value is not None:
                        values[act_id] = value
                        continue
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


def _fusible_pairs(plan, output_id) -> dict:
    """{node id: (reader's node id, reader's name)} for each plain-called layer whose output is read
    by one plain-called layer only, taking it as its only input, and is not the model's output: the
    candidates for running two layers as one node (a Linear and its activation, a ReLU and its pooling)."""
    readers: dict = {}
    for node_id, _name, _layer, _params, sources in plan:
        for source in sources:
            readers.setdefault(source, []).append(node_id)
    entries = {entry[0]: entry for entry in plan}

    def plain(layer):
        return layer.merge is None and layer.forward is None and layer.select_output is None

    pairs = {}
    for node_id, _name, layer, _params, _sources in plan:
        reader = readers.get(node_id, [])
        if node_id == output_id or len(reader) != 1 or not plain(layer):
            continue
        reader_id, reader_name, reader_layer, _, reader_sources = entries[reader[0]]
        if reader_sources == (node_id,) and plain(reader_layer):
            pairs[node_id] = (reader_id, reader_name)
    return pairs
