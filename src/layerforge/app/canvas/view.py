"""The canvas widget [modelCanvas]: zoom with the wheel, pan with the middle button (or Space+drag),
rubber-band selection, drops from the layer palette, and the edit actions on the selection."""
from __future__ import annotations

import json
import weakref

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QFontInfo, QFontMetricsF, QKeySequence, QPainter, QTransform
from PySide6.QtWidgets import QApplication, QGraphicsView, QInputDialog, QMenu

from ...graph import ModelSpec, infer_shapes
from ..banner import Banner
from ..document import ModelDocument
from .context_menu import node_menu
from .edge_item import EdgeItem
from .layout import column_count, columns_that_fit, layered_positions
from .node_item import NODE_HEIGHT, NODE_WIDTH
from .scene import ModelScene

# The palette drags a layer type under this MIME type; the payload is the type name in UTF-8.
LAYER_MIME_TYPE = "application/x-layerforge-layer"
CLIPBOARD_TAG = "layerforge_nodes"  # marks copied layers in the clipboard's JSON text
# The canvas shows that it has the keyboard (Tab reaches it; Delete, arrows and Space act on it) with a
# frame in the theme's highlight colour; the transparent frame keeps the view from shifting on focus.
FOCUS_FRAME = ("QGraphicsView#modelCanvas { border: 2px solid transparent; }"
               " QGraphicsView#modelCanvas:focus { border: 2px solid palette(highlight); }")
MIN_ZOOM, MAX_ZOOM = 0.2, 3.0   # what the wheel and the zoom buttons reach
FIT_MAX_ZOOM = 1.2              # "Fit to view" does not blow a small model up beyond this
READABLE_TEXT_PX = 8.5          # ... nor shrinks a large one until its text is smaller than this


LAYOUTS_REMEMBERED = 32         # layouts Auto-layout made that still count as tidy (undo returns to them)


def _same_places(here: dict, there: dict) -> bool:
    return here.keys() == there.keys() and all(
        abs(here[n][0] - there[n][0]) < 1 and abs(here[n][1] - there[n][1]) < 1 for n in here)


def readable_zoom() -> float:
    """The smallest zoom at which the nodes' text (the application's font) is READABLE_TEXT_PX tall."""
    font = QFontInfo(QApplication.font())
    size = font.pixelSize() if font.pixelSize() > 0 else 12
    return min(1.0, READABLE_TEXT_PX / size)


class ModelCanvas(QGraphicsView):
    message = Signal(str)

    def __init__(self, document: ModelDocument, parent=None):
        self.model_scene = ModelScene(document)
        super().__init__(self.model_scene, parent)
        self.document = document
        document.arranger = weakref.ref(self)   # insertions into a tidy model are laid out again
        self._laid_out: list[dict[str, tuple[float, float]]] = []   # the last layouts made, newest first
        self.offer = Banner(name="canvasOffer")   # "Reconnect ..." after a layer is deleted
        self.offer.float_over(self, bottom=True)
        document.changed.connect(self.offer.clear)
        self.setObjectName("modelCanvas")
        self.setAccessibleName("Model canvas")
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)
        self.setAcceptDrops(True)
        # A large fixed scene to pan over; scroll bars would only show how far the empty space goes.
        self.model_scene.setSceneRect(QRectF(-5000, -5000, 10000, 10000))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setStyleSheet(FOCUS_FRAME)
        self._pan_start: QPointF | None = None
        self._space_down = False
        self.context_menu: QMenu | None = None
        self.model_scene.message.connect(self.message)
        self._make_actions()

    # -- actions ---------------------------------------------------------------------------------

    def _make_actions(self) -> None:
        # Window-wide shortcuts: they work wherever the focus is in the window. A text field still gets
        # its own keys first (Delete, Backspace, Ctrl+C/V/A): Qt asks the focused widget with a
        # ShortcutOverride event, and line edits and spin boxes claim the keys they edit text with.
        def action(name, text, slot, shortcut=None):
            act = QAction(text, self)
            act.setObjectName(name)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
                act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(slot)
            self.addAction(act)
            return act
        self.action_delete = action("actionDelete", "&Delete", self.delete_selection,
                                    QKeySequence.StandardKey.Delete)
        self.action_copy = action("actionCopy", "&Copy", self.copy_selection, QKeySequence.StandardKey.Copy)
        self.action_paste = action("actionPaste", "&Paste", self.paste, QKeySequence.StandardKey.Paste)
        self.action_select_all = action("actionSelectAll", "Select &all", self.select_all,
                                        QKeySequence.StandardKey.SelectAll)
        self.action_auto_layout = action("actionAutoLayout", "Auto-&layout", self._auto_layout_asked, "Ctrl+L")
        self.action_fit = action("actionFitToView", "&Fit to view", self.fit_to_view, "Ctrl+0")
        self.action_zoom_in = action("actionZoomIn", "Zoom &in", lambda: self.zoom(1.25),
                                     QKeySequence.StandardKey.ZoomIn)
        self.action_zoom_out = action("actionZoomOut", "Zoom &out", lambda: self.zoom(0.8),
                                      QKeySequence.StandardKey.ZoomOut)
        self.action_delete.setShortcuts([QKeySequence(QKeySequence.StandardKey.Delete), QKeySequence("Backspace")])

    def delete_selection(self) -> None:
        """Delete what is selected. One layer deleted from the middle of a chain whose neighbours'
        shapes fit leaves an offer, at the foot of the canvas, to reconnect them (its own undo step);
        the next edit takes the offer away."""
        nodes = self.model_scene.selected_node_ids()
        edges = [k for k in self.model_scene.selected_edge_keys() if k[0] not in nodes and k[1] not in nodes]
        spec = self.document.spec
        wires = self.document.reconnection(nodes[0]) if len(nodes) == 1 and not edges else []
        names = {n: node.name for n, node in spec.nodes.items()}
        self.delete_nodes(nodes, edges)
        if wires and nodes[0] not in self.document.spec.nodes:
            ends = ", ".join(f"{names[source]} → {names[target]}" for source, target, _ in wires)
            self.offer.show_message("info", f"Deleted {names[nodes[0]]}.", f"Reconnect {ends}",
                                    lambda: self.document.reconnect(wires))

    def delete_nodes(self, node_ids: list[str], edges: list[tuple[str, str, int]] = ()) -> None:
        if node_ids or edges:
            self.document.remove(node_ids, list(edges))

    def copy_selection(self) -> None:
        selected = set(self.model_scene.selected_node_ids())
        if not selected:
            return
        data = self.document.spec.to_dict()
        payload = {"nodes": [n for n in data["nodes"] if n["id"] in selected],
                   "edges": [e for e in data["edges"] if e["source"] in selected and e["target"] in selected]}
        # Plain JSON text, tagged so paste knows it is ours. (A QMimeData made in Python and handed to
        # the clipboard is destroyed by Qt's exit handlers after Python has shut down: a crash at exit.)
        payload[CLIPBOARD_TAG] = 1
        QApplication.clipboard().setText(json.dumps(payload))

    def paste(self) -> None:
        try:
            payload = json.loads(QApplication.clipboard().text())
        except ValueError:
            return
        if not isinstance(payload, dict) or CLIPBOARD_TAG not in payload:
            return
        new_ids = self.document.paste(payload.get("nodes", []), payload.get("edges", []), (40.0, 40.0))
        self.model_scene.select_nodes(new_ids)

    def select_all(self) -> None:
        for item in self.model_scene.nodes.values():
            item.setSelected(True)

    def _auto_layout_asked(self) -> None:
        self.auto_layout()   # the action's ``checked`` argument is no ``record``: a person's layout is undoable

    def auto_layout(self, record: bool = True) -> None:
        """Tidy the model: a layered graph from left to right, wrapped onto bands if it is too long to
        read. ``record=False``: arranging a model just opened, which is no edit to undo."""
        self.document.move(self.tidy_positions(self.document.spec), record=record)
        self.fit_to_view()

    def tidy_positions(self, spec: ModelSpec, wrap: int | None = None) -> dict[str, tuple[float, float]]:
        """Where Auto-layout puts the nodes of ``spec``: in bands of ``wrap`` columns, by default as
        many as make it fill this view."""
        label_width = self._label_widths(spec)
        if wrap is None:
            flat = layered_positions(spec, label_width=label_width)
            count = column_count(spec)
            if not flat or count == 0:
                return flat
            step = (max(x for x, _ in flat.values()) + NODE_WIDTH) / count
            wrap = columns_that_fit(self.viewport().width(), self.viewport().height(), count, step=step)
        positions = layered_positions(spec, wrap, label_width)
        self._laid_out = [positions] + self._laid_out[:LAYOUTS_REMEMBERED - 1]   # undo may come back to them
        return positions

    def is_tidy(self, spec: ModelSpec) -> bool:
        """Whether ``spec`` stands as Auto-layout left it: as this canvas laid it out (since then only
        settings changed, which may change a label's width but moves nothing), or as it would now."""
        if not spec.nodes:
            return False
        here = {node_id: node.position for node_id, node in spec.nodes.items()}
        if any(_same_places(here, laid_out) for laid_out in self._laid_out):
            return True
        label_width = self._label_widths(spec)
        return any(_same_places(here, layered_positions(spec, wrap, label_width))
                   for wrap in range(1, column_count(spec) + 1))

    def _label_widths(self, spec: ModelSpec):
        """The width of the shape label each wire of ``spec`` gets (as EdgeItem draws it)."""
        report = infer_shapes(spec)
        metrics = QFontMetricsF(QApplication.font())
        return lambda edge: metrics.horizontalAdvance(report.edge_label(edge)) + 8

    def needs_wrapping(self) -> bool:
        """Whether the whole model, fitted to the view, would be drawn too small to read."""
        items = list(self.model_scene.nodes.values())
        if not items:
            return False
        rect = QRectF()
        for item in items:
            rect = rect.united(item.sceneBoundingRect())
        return (self.viewport().width() / (rect.width() + 120)) < 0.75

    def fit_to_view(self) -> None:
        """Show the whole model, centred, as large as fits (a small one no larger than FIT_MAX_ZOOM) but
        never so small that its text cannot be read: a model too big for the view at READABLE_TEXT_PX
        is shown from its start (its top-left), at the smallest readable zoom."""
        items = self.model_scene.nodes.values()
        if not items:
            return
        model = QRectF()
        for item in items:
            model = model.united(item.sceneBoundingRect())
        rect = model.adjusted(-60, -50, 60, 70)
        view = self.viewport().rect()
        if view.width() <= 1 or view.height() <= 1 or rect.width() <= 0 or rect.height() <= 0:
            return
        readable = readable_zoom()
        scale = min(view.width() / rect.width(), view.height() / rect.height(), FIT_MAX_ZOOM)
        if scale < readable:
            rect = model.adjusted(-20, -20, 20, 36)   # tighter margins before giving up on the whole
            scale = max(readable, min(view.width() / rect.width(), view.height() / rect.height(), FIT_MAX_ZOOM))
        self.setTransform(QTransform.fromScale(scale, scale))
        # Centred where it fits; where it does not, from its start (the input end, the first row).
        half_w, half_h = view.width() / scale / 2, view.height() / scale / 2
        x = rect.center().x() if rect.width() * scale <= view.width() else rect.left() + half_w
        y = rect.center().y() if rect.height() * scale <= view.height() else rect.top() + half_h
        self.centerOn(QPointF(x, y))
        self._fitted_view = self._view_state()

    def _view_state(self) -> tuple[float, float, float]:
        """The zoom and the scene point at the view's top-left corner: what a person's zoom or pan
        changes, and a resize does not (it moves the view's other edges)."""
        corner = self.mapToScene(0, 0)
        return round(self.transform().m11(), 6), round(corner.x(), 1), round(corner.y(), 1)

    def resizeEvent(self, event) -> None:
        # A view still as "Fit to view" left it fits again: the model stays whole and centred as the
        # window opens, is restored, maximized or resized (not small in the corner it was fitted in).
        fitted = getattr(self, "_fitted_view", None)
        still_fitted = fitted is not None and fitted == self._view_state()
        super().resizeEvent(event)
        if still_fitted:
            self.fit_to_view()

    def zoom(self, factor: float) -> None:
        scale = self.transform().m11()
        factor = max(MIN_ZOOM / scale, min(MAX_ZOOM / scale, factor))
        self.scale(factor, factor)

    @property
    def zoom_level(self) -> float:
        return self.transform().m11()

    def add_layer_at(self, layer_type: str, scene_pos: QPointF) -> str | None:
        node_id = self.document.add_layer(layer_type, (scene_pos.x() - NODE_WIDTH / 2, scene_pos.y() - NODE_HEIGHT / 2))
        if node_id is not None:
            self.model_scene.select_nodes([node_id])
        return node_id

    # -- events ----------------------------------------------------------------------------------

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom(1.15 ** steps)
        event.accept()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        elif event.key() == Qt.Key.Key_Escape and self.model_scene.wiring:
            self.model_scene.cancel_wire()
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.MiddleButton:
            self._pan_start = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_start is not None:
            delta = event.position() - self._pan_start
            self._pan_start = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.MiddleButton and self._pan_start is not None:
            self._pan_start = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME_TYPE):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME_TYPE):
            self._highlight_drop_wire(self.edge_at(event.position().toPoint()))
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dragLeaveEvent(self, event) -> None:
        self._highlight_drop_wire(None)
        super().dragLeaveEvent(event)

    def dropEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME_TYPE):
            self._highlight_drop_wire(None)
            layer_type = bytes(event.mimeData().data(LAYER_MIME_TYPE)).decode("utf-8")
            edge = self.edge_at(event.position().toPoint())
            if edge is not None and not self.document.read_only:
                new_id = self.document.splice(layer_type, edge.key)   # dropped onto a wire: into it
                if new_id is not None:
                    self.model_scene.select_nodes([new_id])
            else:
                self.add_layer_at(layer_type, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
        else:
            super().dropEvent(event)

    def edge_at(self, view_pos) -> EdgeItem | None:
        """The wire under a point of the view (its clickable band), unless a layer's card is on top."""
        for item in self.items(view_pos):
            if isinstance(item, EdgeItem):
                return item
            if hasattr(item, "node_id"):
                return None
        return None

    def _highlight_drop_wire(self, edge: EdgeItem | None) -> None:
        for item in self.model_scene.edges.values():
            item.set_drop_target(item is edge)

    def contextMenuEvent(self, event) -> None:
        item = self.itemAt(event.pos())
        node = getattr(item, "node_item", None) or (item if hasattr(item, "node_id") else None)
        while item is not None and node is None:
            item = item.parentItem()
            node = item if hasattr(item, "node_id") else None
        if node is not None:
            if not node.isSelected():
                self.model_scene.select_nodes([node.node_id])
            # Shown with popup(), not exec(): the menu stays reachable (``context_menu``) while it is open.
            self.context_menu = node_menu(self, node.node_id)
            self.context_menu.popup(event.globalPos())
            return
        menu = QMenu(self)
        menu.addAction(self.action_paste)
        menu.addAction(self.action_select_all)
        menu.addSeparator()
        menu.addAction(self.action_auto_layout)
        menu.addAction(self.action_fit)
        menu.exec(event.globalPos())

    def ask_layer_name(self, current: str) -> str | None:
        """Asked by the context menu's Rename…; tests replace this method to answer for the user."""
        name, ok = QInputDialog.getText(self, "Rename layer", "Name:", text=current)
        return name.strip() if ok else None

    def rename_layer(self, node_id: str) -> bool:
        """Rename through the document's rename, as the inspector's name field does."""
        name = self.ask_layer_name(self.document.spec.nodes[node_id].name)
        return bool(name) and self.document.rename(node_id, name)

