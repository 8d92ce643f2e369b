"""The edits a person makes on the canvas, as ``change(spec)`` functions for ``Workspace.edit_model``.

Each takes the spec (a trial copy: a change that raises leaves the model untouched) and returns
what the view needs (a new node's id). Moved, Qt-free, from ``app/document.py``.
"""
from __future__ import annotations

import re
from typing import Any

from ..graph import GraphError, ModelSpec, get_layer, infer_shapes

STEP_X = 170.0   # how far right an inserted layer pushes what follows it
DUPLICATE_OFFSET = (30.0, 90.0)   # where a duplicate lands: just below its original, clear of its wires


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
    """Apply a validation error's quick fix; an inserted layer lands in line, before the layer it fixes."""
    def change(spec: ModelSpec) -> str:
        if fix.get("action") == "insert":
            return _insert_before(spec, fix["before"], fix["type"], fix.get("params"), fix.get("input", 0))
        return spec.apply_quick_fix(fix).id
    return change


def append_layer(layer_type: str):
    """Add a layer after the last layer of the chain (see ``last_layer``), wired to it and in line."""
    def change(spec: ModelSpec) -> str:
        last = last_layer(spec)
        if last is None or get_layer(layer_type).max_inputs == 0:
            right = max((n.position[0] for n in spec.nodes.values()), default=-STEP_X)
            top = spec.nodes[last].position[1] if last is not None else 0.0
            return spec.add_node(layer_type, position=(right + STEP_X, top)).id
        node = spec.add_node(layer_type, position=spec.nodes[last].position)
        _insert_after(spec, last, node.id)
        return node.id
    return change


def last_layer(spec: ModelSpec) -> str | None:
    """The end of the main chain: of the layers nothing reads, the one farthest from the input (then
    the rightmost). In a new project that is the Input."""
    try:
        order = spec.topological_order()
    except GraphError:
        order = list(spec.nodes)
    depth: dict[str, int] = {}
    for node_id in order:
        depth[node_id] = 1 + max((depth.get(e.source, 0) for e in spec.inputs_of(node_id)), default=-1)
    ends = [node_id for node_id in order if not spec.outputs_of(node_id)]
    return max(ends, key=lambda n: (depth[n], spec.nodes[n].position[0]), default=None)


def insert_after(node_id: str, layer_type: str):
    """A new layer between ``node_id`` and everything it fed (its outputs now read the new layer)."""
    def change(spec: ModelSpec) -> str:
        node = spec.add_node(layer_type, position=spec.node(node_id).position)
        _insert_after(spec, node_id, node.id)
        return node.id
    return change


def insert_before(node_id: str, layer_type: str, input_index: int = 0):
    """A new layer on input ``input_index`` of ``node_id``, in line: it and what follows move right."""
    return lambda spec: _insert_before(spec, node_id, layer_type, None, input_index)


def splice(layer_type: str, source: str, target: str, index: int):
    """Put a new layer into the wire ``source`` -> input ``index`` of ``target`` (a drop on that wire)."""
    def change(spec: ModelSpec) -> str:
        spec.disconnect(source, target, index)
        x, y = spec.node(source).position
        node = spec.add_node(layer_type, position=(x + STEP_X, y))
        spec.connect(source, node.id, 0)
        spec.connect(node.id, target, index)
        _push_right(spec, [target], x + 2 * STEP_X)
        return node.id
    return change


def replace_layer(node_id: str, layer_type: str):
    """Turn a layer into another type where it stands: same id and wires (those the new type can take),
    the settings both types share, and its name unless that was only the old type's automatic one."""
    def change(spec: ModelSpec) -> str:
        old = spec.node(node_id)
        layer = get_layer(layer_type)
        order = list(spec.nodes)
        _, edges = spec.remove_node(node_id)
        auto_named = re.fullmatch(re.escape(old.layer.name_prefix) + r"\d+", old.name) is not None
        name = spec.unique_name(layer.name_prefix) if auto_named else old.name
        shared = {key: value for key, value in old.params.items() if key in {p.name for p in layer.params}}
        try:
            new = spec.add_node(layer_type, shared, name=name, position=old.position, node_id=node_id)
        except GraphError:   # a shared name whose value the new type does not take: its defaults
            new = spec.add_node(layer_type, name=name, position=old.position, node_id=node_id)
        spec.nodes = {key: spec.nodes[key] for key in order}
        for edge in edges:
            takes = layer.max_inputs is None or edge.index < layer.max_inputs
            if edge.source == node_id or takes:
                spec.connect(edge.source, edge.target, edge.index)
        return new.id
    return change


def duplicate(node_id: str, offset: tuple[float, float] = DUPLICATE_OFFSET):
    """A copy of the layer (type and settings, a fresh name), unwired, just below the original."""
    def change(spec: ModelSpec) -> str:
        old = spec.node(node_id)
        x, y = old.position
        return spec.add_node(old.type, old.params, position=(x + offset[0], y + offset[1])).id
    return change


def disconnect_all(node_id: str):
    """Remove every wire into and out of the layer."""
    def change(spec: ModelSpec) -> None:
        spec.node(node_id)
        spec.edges = [e for e in spec.edges if node_id not in (e.source, e.target)]
    return change


def reconnection(spec: ModelSpec, node_id: str) -> list[tuple[str, str, int]]:
    """The wires that would join the neighbours of a layer in the middle of a chain once it is
    deleted (what fed it then feeds what it fed), if the shapes fit; else ``[]``."""
    feeding = spec.inputs_of(node_id)
    fed = spec.outputs_of(node_id)
    if len(feeding) != 1 or not fed:
        return []
    wires = [(feeding[0].source, edge.target, edge.index) for edge in fed]
    trial = spec.copy()
    try:
        trial.remove_node(node_id)
        for source, target, index in wires:
            trial.connect(source, target, index)
    except GraphError:
        return []
    report = infer_shapes(trial)
    if any(report.errors_for(target) for _, target, _ in wires):
        return []
    return wires


def remove_and_reconnect(node_id: str):
    """Delete a layer in the middle of a chain and wire its neighbours together (see ``reconnection``)."""
    def change(spec: ModelSpec) -> None:
        wires = reconnection(spec, node_id)
        if not wires:
            raise ValueError(f"{spec.node(node_id).label} is not between two layers whose shapes fit")
        spec.remove_node(node_id)
        for source, target, index in wires:
            spec.connect(source, target, index)
    return change


def reconnect(wires):
    """Wire the neighbours of a layer just deleted together (the wires ``reconnection`` gave)."""
    def change(spec: ModelSpec) -> None:
        for source, target, index in wires:
            spec.connect(source, target, index)
    return change


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
    for edge in outgoing:
        spec.disconnect(edge.source, edge.target, edge.index)
        spec.connect(new_id, edge.target, edge.index)
    spec.connect(source_id, new_id)
    spec.move(new_id, (source.position[0] + STEP_X, source.position[1]))
    _push_right(spec, [e.target for e in outgoing], source.position[0] + 2 * STEP_X)


def _insert_before(spec: ModelSpec, target_id: str, layer_type: str, params, input_index: int) -> str:
    """A new layer on one input of ``target``, where ``target`` stood; ``target`` and what follows move right."""
    target = spec.node(target_id)
    x, y = target.position
    feeding = [e for e in spec.inputs_of(target_id) if e.index == input_index]
    if feeding:
        source_x, source_y = spec.node(feeding[0].source).position
        x, y = max(x, source_x + STEP_X), source_y
    node = spec.add_node(layer_type, params, position=(x, y))
    if feeding:
        spec.disconnect(feeding[0].source, target_id, input_index)
        spec.connect(feeding[0].source, node.id, 0)
    spec.connect(node.id, target_id, input_index)
    _push_right(spec, [target_id], x + STEP_X)
    return node.id


def _push_right(spec: ModelSpec, start: list[str], left: float) -> None:
    """Move ``start`` and everything downstream of it right, just far enough that ``start`` begins at
    ``left`` (nothing moves where there is room already), by one step at most (a model wrapped onto
    rows continues at the left of the next row)."""
    if not start:
        return
    shift = min(STEP_X, left - min(spec.node(node_id).position[0] for node_id in start))
    if shift <= 0:
        return
    for node_id in _reachable(spec, start):
        x, y = spec.node(node_id).position
        spec.move(node_id, (x + shift, y))


def _reachable(spec: ModelSpec, start: list[str]) -> list[str]:
    seen: list[str] = []
    stack = list(start)
    while stack:
        node_id = stack.pop()
        if node_id not in seen:
            seen.append(node_id)
            stack.extend(e.target for e in spec.outputs_of(node_id))
    return seen
