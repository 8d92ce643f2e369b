"""Automatic layout: layers placed left to right by depth, parallel branches stacked vertically;
a long model wraps onto several rows (like lines of text) so that it stays readable in the view."""
from __future__ import annotations

from ...graph import GraphError, ModelSpec

STEP_X = 170.0
STEP_Y = 100.0


def layered_positions(spec: ModelSpec, max_columns: int | None = None) -> dict[str, tuple[float, float]]:
    """Each node's column is its longest distance from a source; rows keep the current vertical order.

    With ``max_columns``, columns beyond it continue on a new band below, starting again at the left.
    """
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
    tallest = max((len(ids) for ids in columns.values()), default=1)
    band_height = STEP_Y * tallest + 60.0
    wrap = max_columns if max_columns and max_columns > 0 else len(columns) or 1
    positions = {}
    for column, node_ids in columns.items():
        node_ids.sort(key=lambda n: spec.nodes[n].position[1])
        band, x_index = divmod(column, wrap)
        top = -STEP_Y * (len(node_ids) - 1) / 2 + band * band_height
        for row, node_id in enumerate(node_ids):
            positions[node_id] = (x_index * STEP_X, top + row * STEP_Y)
    return positions


def columns_that_fit(view_width: float, view_height: float, column_count: int, zoom: float = 0.7) -> int:
    """How many columns per band make a model of ``column_count`` columns fill the view best."""
    per_band = max(2, int(view_width / zoom // STEP_X))
    if column_count <= per_band:
        return column_count
    bands = -(-column_count // per_band)
    return -(-column_count // bands)  # spread evenly: 11 layers over 2 bands -> 6 + 5
