"""Automatic layout: layers placed left to right by depth, parallel branches stacked vertically."""
from __future__ import annotations

from ...graph import GraphError, ModelSpec

STEP_X = 170.0
STEP_Y = 100.0


def layered_positions(spec: ModelSpec) -> dict[str, tuple[float, float]]:
    """Each node's column is its longest distance from a source; rows keep the current vertical order."""
    try:
        order = spec.topological_order()
    except GraphError:
        order = list(spec.nodes)  # a cycle: keep insertion order rather than refuse to tidy up
    depth: dict[str, int] = {}
    for node_id in order:
        sources = [e.source for e in spec.inputs_of(node_id) if e.source in depth]
        depth[node_id] = 1 + max((depth[s] for s in sources), default=-1)
    columns: dict[int, list[str]] = {}
    for node_id in order:
        columns.setdefault(depth[node_id], []).append(node_id)
    positions = {}
    for column, node_ids in columns.items():
        node_ids.sort(key=lambda n: spec.nodes[n].position[1])
        top = -STEP_Y * (len(node_ids) - 1) / 2
        for row, node_id in enumerate(node_ids):
            positions[node_id] = (column * STEP_X, top + row * STEP_Y)
    return positions
