"""Automatic canvas layout: layers in columns by depth, left to right, branches stacked vertically."""
from __future__ import annotations

from .errors import GraphError
from .spec import ModelSpec

COLUMN_WIDTH = 170.0
ROW_HEIGHT = 110.0


def auto_layout(spec: ModelSpec, column_width: float = COLUMN_WIDTH,
                row_height: float = ROW_HEIGHT) -> dict[str, tuple[float, float]]:
    """New positions for every node (not applied): column = longest path from a source.

    Nodes in one column are stacked around y = 0 in their insertion order. A graph with a cycle
    cannot be layered; its nodes keep their current positions.
    """
    try:
        order = spec.topological_order()
    except GraphError:
        return {node_id: node.position for node_id, node in spec.nodes.items()}
    depth: dict[str, int] = {}
    for node_id in order:
        depth[node_id] = max((depth[e.source] + 1 for e in spec.inputs_of(node_id)), default=0)
    columns: dict[int, list[str]] = {}
    for node_id in spec.nodes:  # insertion order keeps the main line first in each column
        columns.setdefault(depth[node_id], []).append(node_id)
    positions = {}
    for column, node_ids in columns.items():
        top = -(len(node_ids) - 1) / 2.0
        for row, node_id in enumerate(node_ids):
            positions[node_id] = (column * column_width, (top + row) * row_height)
    return positions


def apply_layout(spec: ModelSpec, positions: dict[str, tuple[float, float]]) -> None:
    for node_id, position in positions.items():
        spec.move(node_id, position)
