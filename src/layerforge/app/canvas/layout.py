"""Automatic layout: the model drawn as a layered graph, read from left to right.

Each layer's column is its longest distance from an input; layers that share a column are stacked.
The gap after a column is as wide as the widest shape label printed in it needs (and wider where a
skip connection rises or lands there), so no label covers a node. A skip connection (a wire that
spans more than one column) is drawn by the wire itself around the nodes it passes (``edge_item``);
the layout leaves it a lane above the row. A long model wraps onto bands, like lines of text, broken
where the fewest wires cross, so that a residual block stays whole on one band.

Qt-free: label widths come in as a function.
"""
from __future__ import annotations

from typing import Callable

from ...graph import Edge, GraphError, ModelSpec

NODE_WIDTH = 120.0    # a node's card (node_item draws it)
NODE_HEIGHT = 58.0
MIN_GAP = 50.0        # between two columns
LABEL_MARGIN = 10.0   # each side of a shape label in its gap
LANE_ROOM = 22.0      # beside the rise (or fall) of a skip connection in a gap
LANE_CLEAR = 22.0     # how far above the nodes it passes a skip connection's lane runs
LANE_STEP = 10.0      # one more for each skip connection nested inside it
STEP_X = NODE_WIDTH + MIN_GAP   # the narrowest column step
STEP_Y = 100.0        # between layers stacked in one column
BAND_GAP = 70.0       # between the nodes of one band and the next (a wrapped wire runs there)

EdgeKey = tuple[str, str, int]


def edge_key(edge: Edge) -> EdgeKey:
    return (edge.source, edge.target, edge.index)


def columns_of(spec: ModelSpec) -> dict[str, int]:
    """Each node's column: its longest distance from a node without inputs."""
    try:
        order = spec.topological_order()
    except GraphError:
        order = list(spec.nodes)  # a cycle: keep insertion order rather than refuse to tidy up
    column: dict[str, int] = {}
    for node_id in order:
        sources = [e.source for e in spec.inputs_of(node_id) if e.source in column]
        column[node_id] = 1 + max((column[s] for s in sources), default=-1)
    return column


def column_count(spec: ModelSpec) -> int:
    return 1 + max(columns_of(spec).values(), default=-1)


def skip_levels(spec: ModelSpec, column: dict[str, int] | None = None) -> dict[EdgeKey, int]:
    """For each skip connection (a wire spanning more than one column), how many skip connections
    nest inside it: its lane runs that many steps higher, so nested lanes never overlap."""
    column = columns_of(spec) if column is None else column
    spans = sorted(((column[e.source], column[e.target], edge_key(e)) for e in spec.edges
                    if e.source in column and e.target in column
                    and column[e.target] - column[e.source] > 1), key=lambda s: s[1] - s[0])
    levels: dict[EdgeKey, int] = {}
    for start, end, key in spans:
        inside = [levels[k] for s, t, k in spans if k in levels and start <= s and t <= end
                  and (s, t) != (start, end)]
        levels[key] = 1 + max(inside, default=-1)
    return levels


def band_starts(spec: ModelSpec, column: dict[str, int], count: int, wrap: int) -> list[int]:
    """The first column of each band. A band has ``wrap`` columns or fewer, broken where the fewest
    wires cross (one, in a plain chain), as late as possible; to keep a block whole (a residual block,
    whose skip connection crosses every break inside it) a band may run to half as long again, rather
    than end as a stub of less than half."""
    crossing = [0] * (count + 1)   # crossing[k]: wires from a column before k to one at k or later
    for edge in spec.edges:
        if edge.source in column and edge.target in column:
            for k in range(column[edge.source] + 1, column[edge.target] + 1):
                crossing[k] += 1
    starts, start = [0], 0
    while count - start > wrap:
        candidates = range(start + min(2, wrap), min(count - 1, start + wrap + wrap // 2) + 1)
        fewest = min(crossing[k] for k in candidates)
        cuts = [k for k in candidates if crossing[k] == fewest]
        within = [k for k in cuts if k <= start + wrap]
        # The latest cut within the band; the first one past it where that would leave a stub of a band.
        beyond = [k for k in cuts if k > start + wrap]
        best = within[-1] if within and ((within[-1] - start) * 2 >= wrap or not beyond) else beyond[0]
        starts.append(best)
        start = best
    return starts


def layered_positions(spec: ModelSpec, max_columns: int | None = None,
                      label_width: Callable[[Edge], float] | None = None) -> dict[str, tuple[float, float]]:
    """Every node's position (its top-left corner) in the layered drawing.

    ``max_columns``: at most that many columns to a band. ``label_width(edge)``: the width of the
    shape label drawn on ``edge`` (0 when not given), so its gap can hold it.
    """
    column = columns_of(spec)
    if not column:
        return {}
    count = 1 + max(column.values())
    stacks: dict[int, list[str]] = {}
    for node_id in column:
        stacks.setdefault(column[node_id], []).append(node_id)
    for node_ids in stacks.values():
        node_ids.sort(key=lambda n: (spec.nodes[n].position[1], spec.nodes[n].position[0]))
    wrap = max_columns if max_columns and max_columns > 0 else count
    starts = band_starts(spec, column, count, wrap)
    band_of = [0] * count
    for band, start in enumerate(starts):
        for c in range(start, count):
            band_of[c] = band
    gaps = _gaps(spec, column, count, label_width)
    levels = skip_levels(spec, column)
    x_of: list[float] = []
    for c in range(count):
        new_band = c == 0 or band_of[c] != band_of[c - 1]
        x_of.append(0.0 if new_band else x_of[-1] + NODE_WIDTH + gaps[c - 1])
    centres = _band_centres(spec, column, stacks, band_of, len(starts), levels)
    positions = {}
    for c, node_ids in stacks.items():
        top = centres[band_of[c]] - STEP_Y * (len(node_ids) - 1) / 2
        for row, node_id in enumerate(node_ids):
            positions[node_id] = (x_of[c], top + row * STEP_Y)
    return positions


def _gaps(spec: ModelSpec, column: dict[str, int], count: int,
          label_width: Callable[[Edge], float] | None) -> list[float]:
    """The gap after each column: room for the labels of the wires crossing it, and beside them for
    each skip connection that rises from the column before or lands on the column after."""
    labels = [0.0] * count
    for edge in spec.edges:
        if edge.source in column and edge.target in column:
            start, end = column[edge.source], column[edge.target]
            if end - start == 1 and label_width is not None:
                labels[start] = max(labels[start], label_width(edge) + 2 * LABEL_MARGIN)
    spans = [(column[e.source], column[e.target]) for e in spec.edges
             if e.source in column and e.target in column and column[e.target] - column[e.source] > 1]
    rises = {start for start, _ in spans}
    falls = {end - 1 for _, end in spans}
    return [max(MIN_GAP, labels[c]) + LANE_ROOM * ((c in rises) + (c in falls)) for c in range(count)]


def _band_centres(spec, column, stacks, band_of, bands: int, levels) -> list[float]:
    """The y of each band's middle row, far enough apart that a band's skip lanes and a wire wrapping
    back from the band above (it runs halfway between them) clear every node."""
    half = [0.0] * bands
    lanes = [0.0] * bands
    for c, node_ids in stacks.items():
        half[band_of[c]] = max(half[band_of[c]], STEP_Y * (len(node_ids) - 1) / 2)
    for edge in spec.edges:
        key = edge_key(edge)
        if key in levels:
            band = band_of[column[edge.source]]
            lanes[band] = max(lanes[band], LANE_CLEAR + LANE_STEP * levels[key] + LANE_ROOM / 2)
    centres = [0.0]
    for band in range(1, bands):
        # The wrapped wire runs halfway between the bands' middle rows; each band reaches that far
        # from its middle row (lanes may run under a band as well as over it).
        reach = max(half[band - 1] + lanes[band - 1], half[band] + lanes[band])
        centres.append(centres[-1] + 2 * reach + NODE_HEIGHT + BAND_GAP)
    return centres


def columns_that_fit(view_width: float, view_height: float, column_count: int, zoom: float = 0.7,
                     step: float = STEP_X) -> int:
    """How many columns per band make a model of ``column_count`` columns fill the view best
    (``step``: the model's mean column step)."""
    per_band = max(2, int(view_width / zoom // step))
    if column_count <= per_band:
        return column_count
    bands = -(-column_count // per_band)
    return -(-column_count // bands)  # spread evenly: 11 layers over 2 bands -> 6 + 5
