"""Errors of the model graph: each names the node it concerns and, when obvious, how to fix it.

A GUI turns a :class:`GraphError` into a red node with the message as its tooltip and the
``quick_fix`` as a button; a CLI prints the message. Both read the same object.
"""
from __future__ import annotations

from typing import Any, Mapping


class GraphError(Exception):
    """Something wrong with a model graph.

    ``kind`` is a short machine-readable tag ("cycle", "dangling", "no_input", "shape", ...),
    ``node_id`` / ``node_name`` say where (None for whole-graph problems) and ``quick_fix`` is a
    plain dict a GUI can apply with ``ModelSpec.apply_quick_fix``; its "label" is the button text, e.g.
    ``{"action": "insert", "type": "Flatten", "before": "n3", "input": 0, "label": "Insert Flatten"}``
    or ``{"action": "set_param", "node": "n1", "param": "dtype", "value": "int64", "label": ...}``.
    """

    def __init__(self, message: str, *, kind: str = "invalid", node_id: str | None = None,
                 node_name: str | None = None, quick_fix: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.node_id = node_id
        self.node_name = node_name
        self.quick_fix = dict(quick_fix) if quick_fix is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "kind": self.kind, "node_id": self.node_id,
                "node_name": self.node_name, "quick_fix": self.quick_fix}


class SpecError(GraphError):
    """A spec that cannot even be loaded or edited: unknown layer type, bad parameter, bad edge."""


class ParamError(ValueError):
    """A parameter value that does not fit its declaration. Carries the parameter name."""

    def __init__(self, param: str, message: str):
        super().__init__(f"parameter '{param}': {message}")
        self.param = param


class ShapeError(Exception):
    """Raised by a layer's shape rule; the validator prefixes the layer type and node name.

    The message is phrased to follow "<Type> '<name>'", e.g.
    "expects a 1-D feature vector, got (16, 7, 7): insert Flatten".
    """

    def __init__(self, message: str, quick_fix: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.quick_fix = dict(quick_fix) if quick_fix is not None else None
