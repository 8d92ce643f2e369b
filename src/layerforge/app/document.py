"""The canvas's and the inspector's handle on the model: a thin adapter over the workspace.

The spec, its shape report and its undo history live in the workspace (``Workspace.edit_model``);
this object gives the canvas and the inspector the edits they make by name (``model_edits``) and a
``changed`` signal after every edit, undo, redo or another project (the workspace's ModelChanged).
A refused edit (invalid, or a run in progress) returns None / False; the workspace's Refused event
puts the reason in the status bar.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from ..graph import ModelSpec, ShapeReport
from ..workspace import WorkspaceError, model_edits
from ..workspace.events import ModelChanged

READ_ONLY_MESSAGE = "The model is training: stop training (or wait for it to finish) to edit it."


class ModelDocument(QObject):
    changed = Signal()

    def __init__(self, workspace, parent: QObject | None = None):
        super().__init__(parent)
        self.workspace = workspace
        workspace.events.connect(lambda _event: self.changed.emit(), ModelChanged)

    @property
    def spec(self) -> ModelSpec:
        return self.workspace.spec

    @property
    def report(self) -> ShapeReport:
        return self.workspace.report

    @property
    def read_only(self) -> bool:
        return self.workspace.busy

    def edit(self, text: str, change: Callable[[ModelSpec], Any], merge_key: Any = None,
             record: bool = True, refused: Any = None) -> Any:
        """Apply ``change(spec)`` as one undoable step; its result, or ``refused`` when refused."""
        try:
            return self.workspace.edit_model(text, change, merge_key, record=record)
        except WorkspaceError:
            return refused

    def add_layer(self, layer_type: str, position: tuple[float, float], after: str | None = None) -> str | None:
        return self.edit(f"Add {layer_type}", model_edits.add_layer(layer_type, position, after))

    def remove(self, node_ids: list[str], edges: list[tuple[str, str, int]] = ()) -> None:
        count = len(node_ids) + len(edges)
        self.edit("Delete" if count > 1 else ("Delete layer" if node_ids else "Delete connection"),
                  model_edits.remove(node_ids, edges))

    def connect(self, source: str, target: str, index: int | None = None) -> bool:
        return self.edit("Connect", _true(model_edits.connect(source, target, index)), refused=False)

    def set_param(self, node_id: str, name: str, value: Any) -> bool:
        return self.edit(f"Set {name}", _true(model_edits.set_param(node_id, name, value)),
                         merge_key=(node_id, name), refused=False)

    def rename(self, node_id: str, name: str) -> bool:
        return self.edit("Rename layer", _true(model_edits.rename(node_id, name)), refused=False)

    def move(self, positions: dict[str, tuple[float, float]], record: bool = True) -> None:
        self.edit("Move" if len(positions) > 1 else "Move layer", model_edits.move(positions), record=record)

    def apply_quick_fix(self, fix: dict) -> str | None:
        return self.edit(f"Insert {fix.get('type', 'layer')}", self._in_line(model_edits.apply_quick_fix(fix)))

    def paste(self, nodes: list[dict], edges: list[dict], offset: tuple[float, float]) -> list[str]:
        return self.edit("Paste", model_edits.paste(nodes, edges, offset)) or []

    # -- structural edits (the canvas's context menu, drops and the palette) -----------------------
    # A layer inserted into a model the canvas laid out itself is laid out again, in the same undo
    # step, so that it lands in line and does not push a wrapped band off the view. ``arranger`` (the
    # canvas) says whether a spec is laid out as Auto-layout would and where Auto-layout puts it.

    arranger = None

    def _in_line(self, change: Callable[[ModelSpec], Any]) -> Callable[[ModelSpec], Any]:
        arranger = self.arranger() if self.arranger is not None else None   # a weak reference
        if arranger is None:
            return change

        def change_in_line(spec: ModelSpec) -> Any:
            tidy = arranger.is_tidy(spec)
            result = change(spec)
            if tidy:
                for node_id, position in arranger.tidy_positions(spec).items():
                    spec.move(node_id, position)
            return result
        return change_in_line

    def append_layer(self, layer_type: str) -> str | None:
        return self.edit(f"Add {layer_type}", self._in_line(model_edits.append_layer(layer_type)))

    def insert_after(self, node_id: str, layer_type: str) -> str | None:
        return self.edit(f"Insert {layer_type}", self._in_line(model_edits.insert_after(node_id, layer_type)))

    def insert_before(self, node_id: str, layer_type: str) -> str | None:
        return self.edit(f"Insert {layer_type}", self._in_line(model_edits.insert_before(node_id, layer_type)))

    def splice(self, layer_type: str, edge: tuple[str, str, int]) -> str | None:
        return self.edit(f"Insert {layer_type}", self._in_line(model_edits.splice(layer_type, *edge)))

    def replace_layer(self, node_id: str, layer_type: str) -> str | None:
        return self.edit(f"Replace with {layer_type}", model_edits.replace_layer(node_id, layer_type))

    def duplicate(self, node_id: str) -> str | None:
        return self.edit("Duplicate layer", model_edits.duplicate(node_id))

    def disconnect_all(self, node_id: str) -> bool:
        return self.edit("Disconnect layer", _true(model_edits.disconnect_all(node_id)), refused=False)

    def reconnection(self, node_id: str) -> list[tuple[str, str, int]]:
        """The wires that would join the neighbours of ``node_id`` if it were deleted ([] when none fit)."""
        return model_edits.reconnection(self.spec, node_id)

    def reconnect(self, wires: list[tuple[str, str, int]]) -> bool:
        return self.edit("Reconnect", _true(model_edits.reconnect(wires)), refused=False)

    def remove_and_reconnect(self, node_id: str) -> bool:
        return self.edit("Delete layer and reconnect", _true(model_edits.remove_and_reconnect(node_id)),
                         refused=False)


def _true(change):
    def wrapped(spec):
        change(spec)
        return True
    return wrapped
