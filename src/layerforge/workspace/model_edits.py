"""The edits a person makes on the canvas, as ``change(spec)`` functions for ``Workspace.edit_model``.

Each takes the spec (a trial copy: a change that raises leaves the model untouched) and returns
what the view needs (a new node's id). Moved, Qt-free, from ``app/document.py``.
"""
from __future__ import annotations

from typing import Any

from ..graph import ModelSpec, get_layer

STEP_X = 170.0   # how far right an inserted layer pushes what follows it


def add_layer(layer_type: str, position: tuple[float, float], after: str | None = None):
    """Add a layer at ``position``; with ``after``, wire it between that node and what it fed."""
    def change(spec: ModelSpec) -> str:
        node = spec.add_node(layer_type, position=position)
        if after is not None and after in spec.nodes:
            _insert_after(spec, after, node.id)
        return node.id
    return change


def remove(node_ids, edges=()):
    def change(spec: ModelSpec) -> None:
        for source, target, index in edges:
            if source in spec.nodes and target in spec.nodes:
                spec.disconnect(source, target, index)
        for node_id in node_ids:
            spec.remove_node(node_id)
    return change


def connect(source: str, target: str, index: int | None = None):
    return lambda spec: spec.connect(source, target, index)


def set_param(node_id: str, name: str, value: Any):
    return lambda spec: spec.set_param(node_id, name, value)


def rename(node_id: str, name: str):
    return lambda spec: spec.rename(node_id, name)


def move(positions: dict):
    def change(spec: ModelSpec) -> None:
        for node_id, position in positions.items():
            spec.move(node_id, position)
    return change


def apply_quick_fix(fix: dict):
    return lambda spec: spec.apply_quick_fix(fix).id


def replace_all(data: dict):
    """Turn the spec into the model ``data`` (one undoable edit: "Use a matching model")."""
    def change(spec: ModelSpec) -> None:
        fresh = ModelSpec.from_dict(data)
        spec.nodes, spec.edges = fresh.nodes, fresh.edges
    return change


def paste(nodes: list[dict], edges: list[dict], offset: tuple[float, float]):
    """Add copies of ``nodes`` (spec node dicts) and the ``edges`` among them; returns the new ids."""
    def change(spec: ModelSpec) -> list[str]:
        new_ids = {}
        for entry in nodes:
            prefix = spec.unique_name(get_layer(entry["type"]).name_prefix or entry["type"].lower())
            x, y = entry.get("position", (0.0, 0.0))
            node = spec.add_node(entry["type"], entry.get("params"), name=prefix,
                                 position=(x + offset[0], y + offset[1]))
            new_ids[entry["id"]] = node.id
        for edge in edges:
            if edge["source"] in new_ids and edge["target"] in new_ids:
                spec.connect(new_ids[edge["source"]], new_ids[edge["target"]], edge.get("index", 0))
        return list(new_ids.values())
    return change


def _insert_after(spec: ModelSpec, source_id: str, new_id: str) -> None:
    """Wire ``new`` between ``source`` and the nodes it fed, shifting those right to make room."""
    source = spec.node(source_id)
    outgoing = spec.outputs_of(source_id)
    downstream = _reachable(spec, [e.target for e in outgoing])
    for edge in outgoing:
        spec.disconnect(edge.source, edge.target, edge.index)
        spec.connect(new_id, edge.target, edge.index)
    spec.connect(source_id, new_id)
    spec.move(new_id, (source.position[0] + STEP_X, source.position[1]))
    for node_id in downstream:
        x, y = spec.node(node_id).position
        spec.move(node_id, (x + STEP_X, y))


def _reachable(spec: ModelSpec, start: list[str]) -> list[str]:
    seen: list[str] = []
    stack = list(start)
    while stack:
        node_id = stack.pop()
        if node_id not in seen:
            seen.append(node_id)
            stack.extend(e.target for e in spec.outputs_of(node_id))
    return seen
