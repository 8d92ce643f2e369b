"""The model being edited: a ModelSpec, its validation report, and the undo stack of every edit.

Every change goes through :meth:`ModelDocument.edit`, which runs the change on a copy first, so a
refused edit (SpecError) leaves the model untouched and is reported instead of half-applied. The
change then becomes a :class:`SpecEditCommand` on the QUndoStack, which restores whole snapshots on
undo/redo: models are small, and snapshots cannot drift out of step with the spec the way hand
written inverse operations can.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..graph import GraphError, ModelSpec, ShapeReport, infer_shapes

READ_ONLY_MESSAGE = "The model is training: stop training (or wait for it to finish) to edit it."


class SpecEditCommand(QUndoCommand):
    """One user action on the model, stored as the spec before and after it."""

    def __init__(self, document: "ModelDocument", text: str, before: dict, after: dict,
                 merge_key: Any = None):
        super().__init__(text)
        self._document = document
        self.before, self.after = before, after
        self._merge_key = merge_key

    def redo(self) -> None:
        self._document._restore(self.after)

    def undo(self) -> None:
        self._document._restore(self.before)

    def id(self) -> int:
        # Consecutive edits of the same parameter (spin box arrows) merge into one undo step.
        return 1 if self._merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SpecEditCommand) or other._merge_key != self._merge_key:
            return False
        self.after = other.after
        return True


class ModelDocument(QObject):
    """Holds the spec; emits ``changed`` after every edit, undo or redo (the canvas re-syncs on it)."""

    changed = Signal()
    # A refused edit: the reason, for the status bar.
    refused = Signal(str)

    def __init__(self, spec: ModelSpec | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.spec = spec if spec is not None else ModelSpec()
        self.undo_stack = QUndoStack(self)
        self.report: ShapeReport = infer_shapes(self.spec)
        self._read_only = False

    # -- state -----------------------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        return self._read_only

    def set_read_only(self, read_only: bool) -> None:
        self._read_only = read_only

    def replace(self, spec: ModelSpec) -> None:
        """Load another model (a new project): forget the undo history."""
        self.undo_stack.clear()
        self.spec = spec
        self._refresh()

    # -- editing ---------------------------------------------------------------------------------

    def edit(self, text: str, change: Callable[[ModelSpec], Any], merge_key: Any = None) -> Any:
        """Apply ``change(spec)`` as one undoable step; returns its result, or None when refused."""
        if self._read_only:
            self.refused.emit(READ_ONLY_MESSAGE)
            return None
        before = self.spec.to_dict()
        trial = self.spec.copy()
        try:
            result = change(trial)
        except (GraphError, KeyError, ValueError) as error:
            self.refused.emit(_message(error))
            return None
        after = trial.to_dict()
        if after == before:
            return result
        self.undo_stack.push(SpecEditCommand(self, text, before, after, merge_key))
        return result

    def _restore(self, data: dict) -> None:
        self.spec = ModelSpec.from_dict(data)
        self._refresh()

    def _refresh(self) -> None:
        self.report = infer_shapes(self.spec)
        self.changed.emit()

    # -- common edits ----------------------------------------------------------------------------

    def add_layer(self, layer_type: str, position: tuple[float, float], after: str | None = None) -> str | None:
        """Add a layer at ``position``; with ``after``, wire it between that node and what it fed."""
        def change(spec: ModelSpec) -> str:
            node = spec.add_node(layer_type, position=position)
            if after is not None and after in spec.nodes:
                _insert_after(spec, after, node.id)
            return node.id
        return self.edit(f"Add {layer_type}", change)

    def remove(self, node_ids: list[str], edges: list[tuple[str, str, int]] = ()) -> None:
        def change(spec: ModelSpec) -> None:
            for source, target, index in edges:
                if source in spec.nodes and target in spec.nodes:
                    spec.disconnect(source, target, index)
            for node_id in node_ids:
                spec.remove_node(node_id)
        count = len(node_ids) + len(edges)
        self.edit("Delete" if count > 1 else ("Delete layer" if node_ids else "Delete connection"), change)

    def connect(self, source: str, target: str, index: int | None = None) -> bool:
        def change(spec: ModelSpec) -> bool:
            spec.connect(source, target, index)
            return True
        return bool(self.edit("Connect", change))

    def set_param(self, node_id: str, name: str, value: Any) -> bool:
        def change(spec: ModelSpec) -> bool:
            spec.set_param(node_id, name, value)
            return True
        return bool(self.edit(f"Set {name}", change, merge_key=(node_id, name)))

    def rename(self, node_id: str, name: str) -> bool:
        def change(spec: ModelSpec) -> bool:
            spec.rename(node_id, name)
            return True
        return bool(self.edit("Rename layer", change))

    def move(self, positions: dict[str, tuple[float, float]]) -> None:
        def change(spec: ModelSpec) -> None:
            for node_id, position in positions.items():
                spec.move(node_id, position)
        self.edit("Move" if len(positions) > 1 else "Move layer", change)

    def apply_quick_fix(self, fix: dict) -> str | None:
        return self.edit(f"Insert {fix.get('type', 'layer')}", lambda spec: spec.apply_quick_fix(fix).id)

    def paste(self, nodes: list[dict], edges: list[dict], offset: tuple[float, float]) -> list[str]:
        """Add copies of ``nodes`` (spec node dicts) and the ``edges`` among them; returns new ids."""
        def change(spec: ModelSpec) -> list[str]:
            new_ids = {}
            for entry in nodes:
                layer_prefix = spec.unique_name(_prefix_of(entry))
                x, y = entry.get("position", (0.0, 0.0))
                node = spec.add_node(entry["type"], entry.get("params"), name=layer_prefix,
                                     position=(x + offset[0], y + offset[1]))
                new_ids[entry["id"]] = node.id
            for edge in edges:
                if edge["source"] in new_ids and edge["target"] in new_ids:
                    spec.connect(new_ids[edge["source"]], new_ids[edge["target"]], edge.get("index", 0))
            return list(new_ids.values())
        return self.edit("Paste", change) or []


def _prefix_of(entry: dict) -> str:
    from ..graph import get_layer
    return get_layer(entry["type"]).name_prefix or entry["type"].lower()


def _insert_after(spec: ModelSpec, source_id: str, new_id: str) -> None:
    """Wire ``new`` between ``source`` and the nodes it fed, shifting those right to make room."""
    source = spec.node(source_id)
    outgoing = spec.outputs_of(source_id)
    downstream = _reachable(spec, [e.target for e in outgoing])
    for edge in outgoing:
        spec.disconnect(edge.source, edge.target, edge.index)
        spec.connect(new_id, edge.target, edge.index)
    spec.connect(source_id, new_id)
    step = 170.0
    spec.move(new_id, (source.position[0] + step, source.position[1]))
    for node_id in downstream:
        x, y = spec.node(node_id).position
        spec.move(node_id, (x + step, y))


def _reachable(spec: ModelSpec, start: list[str]) -> list[str]:
    seen: list[str] = []
    stack = list(start)
    while stack:
        node_id = stack.pop()
        if node_id not in seen:
            seen.append(node_id)
            stack.extend(e.target for e in spec.outputs_of(node_id))
    return seen


def _message(error: Exception) -> str:
    if isinstance(error, GraphError):
        return error.message
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    return str(error)
