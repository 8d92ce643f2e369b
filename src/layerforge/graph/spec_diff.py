"""What changed between two models, in the words a person uses: "fc1: units 16 -> 32", "inserted
Dropout after fc1", "removed tanh2", "renamed fc3 -> head". Works on ``ModelSpec.to_dict()`` data
(what a run records), matching layers by id, as the canvas keeps them across edits."""
from __future__ import annotations

from typing import Any

from .catalog import get_layer
from .errors import GraphError

# Short names for the settings people change most (the rest read as the parameter's own words).
SHORT_PARAM = {"out_features": "units", "out_channels": "channels", "hidden_size": "hidden size"}


def spec_changes(old: dict, new: dict) -> list[str]:
    """One line per change from ``old`` to ``new`` (model dicts); [] when the models are the same."""
    old_nodes = {n["id"]: n for n in old.get("nodes", [])}
    new_nodes = {n["id"]: n for n in new.get("nodes", [])}
    old_edges = {(e["source"], e["target"], e.get("index", 0)) for e in old.get("edges", [])}
    new_edges = {(e["source"], e["target"], e.get("index", 0)) for e in new.get("edges", [])}
    lines: list[str] = []
    for node_id, node in new_nodes.items():
        if node_id not in old_nodes:
            lines.append(_inserted(node, new_nodes, new_edges))
    for node_id, node in old_nodes.items():
        if node_id not in new_nodes:
            lines.append(f"removed {node['type']} {node['name']}")
    for node_id, node in new_nodes.items():
        before = old_nodes.get(node_id)
        if before is None:
            continue
        if before["type"] != node["type"]:
            lines.append(f"{node['name']}: {before['type']} -> {node['type']}")
            continue
        if before["name"] != node["name"]:
            lines.append(f"renamed {before['name']} -> {node['name']}")
        for name in _param_names(before, node):
            a, b = before.get("params", {}).get(name), node.get("params", {}).get(name)
            if a != b:
                lines.append(f"{node['name']}: {_param_label(node['type'], name)} {_value(a)} -> {_value(b)}")
    touched = set(new_nodes) ^ set(old_nodes)
    rewired = [e for e in (old_edges ^ new_edges) if e[0] not in touched and e[1] not in touched]
    if rewired:
        names = {**{k: v["name"] for k, v in old_nodes.items()}, **{k: v["name"] for k, v in new_nodes.items()}}
        added = sorted(f"{names[s]} -> {names[t]}" for s, t, _ in (new_edges - old_edges) if (s, t, _) in rewired)
        removed = sorted(f"{names[s]} -> {names[t]}" for s, t, _ in (old_edges - new_edges) if (s, t, _) in rewired)
        parts = ([f"connected {', '.join(added)}"] if added else []) + (
            [f"disconnected {', '.join(removed)}"] if removed else [])
        lines.append("; ".join(parts))
    return lines


def _inserted(node: dict, nodes: dict, edges: set) -> str:
    feeding = [nodes[s]["name"] for s, t, _ in sorted(edges) if t == node["id"] and s in nodes]
    fed = [nodes[t]["name"] for s, t, _ in sorted(edges) if s == node["id"] and t in nodes]
    where = f" after {feeding[0]}" if feeding else (f" before {fed[0]}" if fed else "")
    return f"inserted {node['type']} {node['name']}{where}"


def _param_names(a: dict, b: dict) -> list[str]:
    names = list(a.get("params", {}))
    return names + [name for name in b.get("params", {}) if name not in names]


def _param_label(layer_type: str, name: str) -> str:
    if name in SHORT_PARAM:
        return SHORT_PARAM[name]
    try:
        return get_layer(layer_type).param(name).label
    except (KeyError, ValueError, GraphError):
        return name.replace("_", " ")


def _value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "x".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
