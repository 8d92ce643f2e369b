"""Where the computational graph's nodes go (Qt-free): left to right in forward order, each op in the
column of its depth, its parameters stacked above it, layers framed; and runs of repeated layers folded.

A run of layers with the same operations and shapes repeated at least ``FOLD_MIN`` times one after the
other (a deep stack of identical blocks) is drawn once with "× k"; :func:`fold_runs` finds them and
:func:`layout` hides every repetition but the first unless the run is expanded.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from layerforge.training.autograd_graph import AutogradGraph, GraphNode

NODE_W, NODE_H = 156, 58           # an op node: its name, its output shape, its gradient norm
MAX_NODE_W = 236
LEAF_W, LEAF_H = 156, 44           # a parameter or an input
COLUMN_GAP, ROW_GAP, LEAF_GAP = 46, 34, 8
FRAME_PAD, FRAME_TITLE = 10, 22
FOLD_MIN = 3                       # this many repetitions of the same layers fold into one "× k"
MAX_PERIOD = 4                     # the longest repeated sequence of layers looked for


@dataclass
class Fold:
    """Layers ``groups[start:start + period]`` repeated ``count`` times (their names, all of them)."""

    start: int
    period: int
    count: int
    groups: list[str]

    @property
    def key(self) -> str:
        return self.groups[0]

    @property
    def shown(self) -> list[str]:
        return self.groups[:self.period]

    @property
    def hidden(self) -> list[str]:
        return self.groups[self.period:]


@dataclass
class Layout:
    positions: dict[str, tuple[float, float, float, float]]      # node id -> x, y, w, h
    frames: dict[str, tuple[float, float, float, float]]         # group -> its rectangle
    edges: list[tuple[str, str]]                                  # drawn edges (source id, target id)
    folds: dict[str, Fold] = field(default_factory=dict)          # by the first group of each fold
    stand_ins: dict[str, list[str]] = field(default_factory=dict)  # shown node -> the folded nodes it stands for
    width: float = 0.0
    height: float = 0.0


def _signature(graph: AutogradGraph, group: str) -> tuple:
    members = graph.in_group(group)
    return tuple((n.kind, n.name.split(".")[-1] if n.kind == "param" else n.name, n.shape) for n in members)


def fold_runs(graph: AutogradGraph) -> list[Fold]:
    """Runs of the same layers repeated FOLD_MIN times or more, consecutive in the model's order."""
    names = [name for name, _ in graph.groups if name != "loss"]
    signatures = [_signature(graph, name) for name in names]
    folds, i = [], 0
    while i < len(names):
        best = None
        for period in range(1, MAX_PERIOD + 1):
            count = 1
            while (i + (count + 1) * period <= len(names)
                   and signatures[i + count * period:i + (count + 1) * period] == signatures[i:i + period]):
                count += 1
            if count >= FOLD_MIN and (best is None or count * period > best.count * best.period):
                best = Fold(i, period, count, names[i:i + count * period])
        if best is not None:
            folds.append(best)
            i += best.count * best.period
        else:
            i += 1
    return folds


def layout(graph: AutogradGraph, expanded: set[str] = frozenset()) -> Layout:
    """Positions for ``graph`` with its folds closed except those whose key is in ``expanded``."""
    folds = {f.key: f for f in fold_runs(graph)}
    stand_in: dict[str, str] = {}             # hidden node id -> the shown node in the same place
    for fold in folds.values():
        if fold.key in expanded:
            continue
        first = [n.id for g in fold.shown for n in graph.in_group(g)]
        for repeat in range(1, fold.count):
            groups = fold.groups[repeat * fold.period:(repeat + 1) * fold.period]
            ids = [n.id for g in groups for n in graph.in_group(g)]
            stand_in.update(zip(ids, first))
    shown = [n for n in graph.nodes if n.id not in stand_in]
    edges = []
    for e in graph.edges:
        source, target = stand_in.get(e.source, e.source), stand_in.get(e.target, e.target)
        if source == target or (source, target) in edges:
            continue
        if e.source in stand_in and e.target in stand_in:
            continue
        if e.source not in stand_in and e.target in stand_in:
            continue   # the first repetition's output feeding the second: inside the fold
        edges.append((source, target))
    return _place(graph, shown, edges, folds, expanded, stand_in)


def _place(graph, shown: list[GraphNode], edges, folds, expanded, stand_in) -> Layout:
    by_id = {n.id: n for n in shown}
    inputs_of: dict[str, list[str]] = {n.id: [] for n in shown}
    for source, target in edges:
        inputs_of[target].append(source)
    ops = [n for n in shown if n.kind in ("op", "loss")]
    depth = _depths(graph, ops, inputs_of, by_id)
    leaves_of: dict[str, list[str]] = {n.id: [] for n in ops}
    data_inputs = []
    for node in shown:
        if node.kind == "param":
            consumers = [t for s, t in edges if s == node.id]
            if consumers:
                leaves_of[consumers[0]].append(node.id)
        elif node.kind == "input":
            consumers = [t for s, t in edges if s == node.id]
            if node.group is not None and consumers:          # the targets sit beside the loss
                leaves_of[consumers[0]].append(node.id)
            else:
                data_inputs.append(node.id)
    columns: dict[int, list[str]] = {}
    for node in ops:
        columns.setdefault(depth[node.id], []).append(node.id)
    positions: dict[str, tuple] = {}
    step = LEAF_H + LEAF_GAP
    top = FRAME_TITLE + FRAME_PAD
    baseline = top + step * max((len(leaves_of[n.id]) for n in ops), default=0)
    x = FRAME_PAD * 2
    row_of: dict[str, float] = {}
    y = baseline + (NODE_H - LEAF_H) / 2
    for node_id in data_inputs:   # the batch, level with the first op it feeds
        positions[node_id] = (x, y, LEAF_W, LEAF_H)
        row_of[node_id] = y
        y += LEAF_H + ROW_GAP
    if data_inputs:
        x += LEAF_W + COLUMN_GAP
    column_x, column_w = {}, {}
    for column in sorted(columns):
        column_x[column] = x
        column_w[column] = max(_width(by_id[i]) for i in columns[column])
        x += column_w[column] + COLUMN_GAP
    # Each layer takes a band across its columns below whatever earlier layers left there (a skyline),
    # so frames never overlap; the layers on the top band keep their ops on one straight line.
    fill: dict[int, float] = {}
    for group, _kind in graph.groups:
        members = [n.id for n in ops if n.group == group]
        if not members:
            continue
        span = range(min(depth[i] for i in members), max(depth[i] for i in members) + 1)
        band = max(fill.get(c, 0.0) for c in span)
        by_column: dict[int, list[str]] = {}
        for node_id in members:
            by_column.setdefault(depth[node_id], []).append(node_id)
        lead = max(len(leaves_of[ids[0]]) for ids in by_column.values())
        first_y = band + top + step * lead
        if band == 0:
            first_y = max(first_y, baseline)
        bottom = 0.0
        for column, ids in sorted(by_column.items()):
            ids.sort(key=lambda i: _barycentre(i, inputs_of, row_of))
            op_y = first_y
            for number, node_id in enumerate(ids):
                leaves = leaves_of[node_id]
                if number:
                    op_y += step * len(leaves)
                for k, leaf in enumerate(leaves):
                    positions[leaf] = (column_x[column], op_y - step * (len(leaves) - k), LEAF_W, LEAF_H)
                positions[node_id] = (column_x[column], op_y, column_w[column], NODE_H)
                row_of[node_id] = op_y
                bottom = max(bottom, op_y + NODE_H)
                op_y += NODE_H + ROW_GAP
        for column in span:
            fill[column] = bottom + FRAME_PAD + ROW_GAP
    frames = {}
    for group, _kind in graph.groups:
        rects = [positions[n.id] for n in graph.in_group(group) if n.id in positions]
        if not rects:
            continue
        left = min(r[0] for r in rects) - FRAME_PAD
        top = min(r[1] for r in rects) - FRAME_PAD - FRAME_TITLE
        right = max(r[0] + r[2] for r in rects) + FRAME_PAD
        bottom = max(r[1] + r[3] for r in rects) + FRAME_PAD
        frames[group] = (left, top, right - left, bottom - top)
    width = max((r[0] + r[2] for r in positions.values()), default=0) + FRAME_PAD * 2
    height = max((r[1] + r[3] for r in positions.values()), default=0) + FRAME_PAD * 2
    stand_ins: dict[str, list[str]] = {}
    for hidden, shown_id in stand_in.items():
        stand_ins.setdefault(shown_id, []).append(hidden)
    return Layout(positions, frames, edges, folds, stand_ins, width, height)


def _depths(graph: AutogradGraph, ops: list[GraphNode], inputs_of: dict, by_id: dict) -> dict[str, int]:
    """Each op's column: after the ops it reads, and after every op of the layers that feed its layer,
    so that one layer's frame never reaches back over another's (a layer whose first op reads only
    its own weights, as attention's projections do, still starts after what feeds the layer)."""
    order = {name: i for i, (name, _kind) in enumerate(graph.groups)}
    depth: dict[str, int] = {}
    end: dict[str, int] = {}
    start: dict[str, int] = {}
    for node in sorted(ops, key=lambda n: order.get(n.group, len(order))):   # stable: forward order kept
        group = node.group
        if group not in start:
            feeders = {by_id[i].group for op in ops if op.group == group for i in inputs_of[op.id]
                       if by_id[i].kind in ("op", "loss") and by_id[i].group != group}
            start[group] = 1 + max((end.get(g, 0) for g in feeders), default=0)
        own = [depth[i] for i in inputs_of[node.id] if i in depth]
        depth[node.id] = max(start[group], 1 + max(own, default=0))
        end[group] = max(end.get(group, 0), depth[node.id])
    return depth


def _width(node: GraphNode) -> float:
    """An op's box: wide enough for a long grad_fn name in the bold label font (about 7.4 px a letter)."""
    return min(MAX_NODE_W, max(NODE_W, 7.4 * len(node.name) + 34))


def _barycentre(node_id: str, inputs_of: dict, row_of: dict) -> float:
    rows = [row_of[i] for i in inputs_of[node_id] if i in row_of]
    return sum(rows) / len(rows) if rows else 0.0
