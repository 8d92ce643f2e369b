"""The layer palette [layerPalette]: every layer of the catalog, grouped by category, searchable.

Drag a layer onto the canvas, or double-click it (or press Enter) to add it after the selection.
While a search is typed the groups give way to one list ranked by how the layer matched: its name
before its description, its description before its category ("lin" lists Linear and Bilinear before
the pooling layers that match only through "Pooling"), so Enter adds the layer that was meant.
"""
from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from ..graph import categories, layers_in
from .canvas import LAYER_MIME_TYPE
from .icons import category_icon

LAYER_ROLE = Qt.ItemDataRole.UserRole + 1


class _LayerTree(QTreeWidget):
    activatedLayer = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setObjectName("layerTree")
        self.itemActivated.connect(self._activated)  # double-click and Enter both activate
        self.setIndentation(12)

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME_TYPE]

    def mimeData(self, items) -> QMimeData:
        mime = QMimeData()
        layer_types = [item.data(0, LAYER_ROLE) for item in items if item.data(0, LAYER_ROLE)]
        if layer_types:
            mime.setData(LAYER_MIME_TYPE, layer_types[0].encode("utf-8"))
            mime.setText(layer_types[0])
        return mime

    def _activated(self, item: QTreeWidgetItem, column: int) -> None:
        layer_type = item.data(0, LAYER_ROLE)
        if layer_type:
            self.activatedLayer.emit(layer_type)


class LayerPalette(QWidget):
    """Emits ``addLayerRequested(type)`` on double-click / Enter."""

    addLayerRequested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("layerPalette")
        self.setAccessibleName("Layer palette")
        self.search_box = QLineEdit()
        self.search_box.setObjectName("layerSearch")
        self.search_box.setPlaceholderText("Search layers…")
        self.search_box.setClearButtonEnabled(True)
        self.tree = _LayerTree()
        self.tree.setToolTip("Drag a layer onto the canvas, or double-click it to add it after the selected layer")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search_box)
        layout.addWidget(self.tree)
        self._results: list[QTreeWidgetItem] = []   # the ranked list shown while searching
        self._fill()
        self.search_box.textChanged.connect(self.filter)
        self.search_box.returnPressed.connect(self._add_first_match)
        self.tree.activatedLayer.connect(self.addLayerRequested)

    def _fill(self) -> None:
        for category in categories():
            group = QTreeWidgetItem([category])
            group.setIcon(0, category_icon(category))
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            self.tree.addTopLevelItem(group)
            for layer in layers_in(category):
                group.addChild(_layer_item(layer))
            group.setExpanded(True)

    def layer_item(self, layer_type: str) -> QTreeWidgetItem | None:
        """The item that shows ``layer_type`` now: its search result while searching, else its group's."""
        for result in self._results:
            if result.data(0, LAYER_ROLE) == layer_type:
                return result
        for group_index in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(group_index)
            for child_index in range(group.childCount()):
                child = group.child(child_index)
                if child.data(0, LAYER_ROLE) == layer_type:
                    return child
        return None

    def visible_layers(self) -> list[str]:
        """The layers listed now, top to bottom (best match first while searching)."""
        if self._results:
            return [result.data(0, LAYER_ROLE) for result in self._results]
        shown = []
        for group_index in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(group_index)
            if not group.isHidden():
                shown.extend(group.child(i).data(0, LAYER_ROLE) for i in range(group.childCount()))
        return shown

    def filter(self, text: str) -> None:
        needle = text.strip().lower()
        for result in self._results:
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(result))
        self._results = []
        for group_index in range(self.tree.topLevelItemCount()):
            self.tree.topLevelItem(group_index).setHidden(bool(needle))
        if not needle:
            return
        in_palette_order = [layer for category in categories() for layer in layers_in(category)]
        ranked = sorted((rank, order, layer) for order, layer in enumerate(in_palette_order)
                        if (rank := search_rank(layer, needle)) is not None)
        for _rank, _order, layer in ranked:
            item = _layer_item(layer)
            self.tree.addTopLevelItem(item)
            self._results.append(item)
        if self._results:
            self.tree.setCurrentItem(self._results[0])

    def _add_first_match(self) -> None:
        shown = self.visible_layers()
        if self.search_box.text().strip() and shown:
            self.addLayerRequested.emit(shown[0])


def search_rank(layer, needle: str) -> int | None:
    """How well ``layer`` matches the lower-case ``needle`` (0 best), or None when it does not match:
    the name exactly, the name's start, anywhere in the name, the description, the category."""
    name = layer.type.lower()
    if name == needle:
        return 0
    if name.startswith(needle):
        return 1
    if needle in name:
        return 2
    if needle in layer.description.lower():
        return 3
    if needle in layer.category.lower():
        return 4
    return None


def _layer_item(layer) -> QTreeWidgetItem:
    item = QTreeWidgetItem([layer.type])
    item.setData(0, LAYER_ROLE, layer.type)
    item.setIcon(0, category_icon(layer.category))
    item.setToolTip(0, _tooltip(layer))
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
    return item


def _tooltip(layer) -> str:
    lines = [f"<b>{layer.type}</b> — {layer.category}", layer.description]
    if layer.params:
        lines.append("<i>Settings:</i> " + ", ".join(p.label for p in layer.params))
    return "<br>".join(lines)
