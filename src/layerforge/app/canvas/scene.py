"""The scene mirrors a ModelDocument: one NodeItem per node, one EdgeItem per edge.

The spec is the single source of truth. Items never change it directly: wiring, moving and deleting
ask the document for an undoable edit, and ``sync`` then brings the items in line with the spec.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene

from ...graph import GraphError
from ...graph.shape_rules import fmt
from .. import theme
from ..document import READ_ONLY_MESSAGE, ModelDocument
from .edge_item import EdgeItem, wire_path
from .layout import skip_levels
from .node_item import NODE_HEIGHT, NODE_WIDTH, NodeItem
from .port_item import PortItem


class ModelScene(QGraphicsScene):
    # The ids of the selected nodes, whenever the selection changes (the inspector follows it).
    nodeSelectionChanged = Signal(list)
    # A message for the status bar (refused wire, read-only model, ...).
    message = Signal(str)

    def __init__(self, document: ModelDocument, parent=None):
        super().__init__(parent)
        self.document = document
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[tuple[str, str, int], EdgeItem] = {}
        self._wire_from: PortItem | None = None
        self._wire_preview: QGraphicsPathItem | None = None
        self._hover_port: PortItem | None = None
        self._syncing = False
        theme.follow(self, lambda scene: scene.setBackgroundBrush(theme.color("canvas.background")))
        self.selectionChanged.connect(self._emit_selection)
        document.changed.connect(self.sync)
        self.sync()

    # -- mirroring the document ------------------------------------------------------------------

    def sync(self) -> None:
        spec, report = self.document.spec, self.document.report
        self._syncing = True
        try:
            for node_id in [n for n in self.nodes if n not in spec.nodes]:
                self.removeItem(self.nodes.pop(node_id))
            for node_id, node in spec.nodes.items():
                item = self.nodes.get(node_id)
                if item is None:
                    item = NodeItem(node)
                    item.quickFixClicked.connect(self.document.apply_quick_fix)
                    self.addItem(item)
                    self.nodes[node_id] = item
                node_report = report.nodes.get(node_id)
                error = _node_error(report, node_id)
                is_sink = not spec.outputs_of(node_id)
                shape = fmt(node_report.output_shape) if (is_sink and node_report and node_report.ok) else ""
                item.update_from(node, error, shape, len(spec.inputs_of(node_id)))
                item.setPos(QPointF(*node.position))
                item.setFlag(item.GraphicsItemFlag.ItemIsMovable, not self.document.read_only)
            wanted = {(e.source, e.target, e.index): e for e in spec.edges}
            levels = skip_levels(spec)
            for key in [k for k in self.edges if k not in wanted]:
                self.removeItem(self.edges.pop(key))
            for key, edge in wanted.items():
                item = self.edges.get(key)
                if item is None:
                    item = EdgeItem(self.nodes[edge.source], self.nodes[edge.target], edge.index)
                    self.addItem(item)
                    self.edges[key] = item
                item.lane_level = levels.get(key, 0)
                item.set_label(report.edge_label(edge), report.shape_of(edge.source) is not None)
            self.route_wires()
        finally:
            self._syncing = False
        self._emit_selection()

    def route_wires(self) -> None:
        """Draw every wire around the nodes, then put every label where it covers no node or wire."""
        for edge in self.edges.values():
            edge.update_path()
        self.place_labels()

    def place_labels(self) -> None:
        """Every wire's label where it covers no node and no other wire (the obstacles measured once)."""
        nodes = self.node_rects(margin=2.0)
        for edge in self.edges.values():
            edge.place_label(nodes, [other.stroke for other in self.edges.values() if other is not edge])

    def node_moved(self, item: NodeItem) -> None:
        if self._syncing:
            return   # sync routes every wire once all nodes stand where the spec says
        for edge in self.edges.values():
            if edge.source_item is item or edge.target_item is item:
                edge.update_path()
        self.place_labels()

    def node_rects(self, exclude=(), margin: float = 6.0) -> list[QRectF]:
        """The cards of the nodes (not those in ``exclude``), ``margin`` wider on every side."""
        return [QRectF(node.pos().x() - margin, node.pos().y() - margin,
                       NODE_WIDTH + 2 * margin, NODE_HEIGHT + 2 * margin)
                for node in self.nodes.values() if node not in exclude]

    def set_read_only(self, read_only: bool) -> None:
        for item in self.nodes.values():
            item.setFlag(item.GraphicsItemFlag.ItemIsMovable, not read_only)

    # -- selection -------------------------------------------------------------------------------

    def selected_node_ids(self) -> list[str]:
        return [item.node_id for item in self.nodes.values() if item.isSelected()]

    def selected_edge_keys(self) -> list[tuple[str, str, int]]:
        return [key for key, item in self.edges.items() if item.isSelected()]

    def select_nodes(self, node_ids: list[str]) -> None:
        self.clearSelection()
        for node_id in node_ids:
            if node_id in self.nodes:
                self.nodes[node_id].setSelected(True)

    def _emit_selection(self) -> None:
        if not self._syncing:
            try:
                self.nodeSelectionChanged.emit(self.selected_node_ids())
            except RuntimeError:
                pass  # items already deleted while the scene is being torn down

    # -- wiring ----------------------------------------------------------------------------------

    def port_at(self, position: QPointF) -> PortItem | None:
        for item in self.items(position):
            if isinstance(item, PortItem):
                return item
        return None

    def begin_wire(self, port: PortItem) -> bool:
        if self.document.read_only:
            self.message.emit(READ_ONLY_MESSAGE)
            return False
        self._wire_from = port
        self._wire_preview = QGraphicsPathItem()
        self._wire_preview.setPen(QPen(QColor("#ffb300"), 2.5))
        self._wire_preview.setZValue(5)
        self.addItem(self._wire_preview)
        self.update_wire(port.scenePos())
        return True

    def update_wire(self, position: QPointF) -> None:
        if self._wire_from is None:
            return
        start = self._wire_from.scenePos()
        path = wire_path(start, position) if self._wire_from.is_output else wire_path(position, start)
        self._wire_preview.setPath(path)
        target = self.port_at(position)
        if self._hover_port is not None and self._hover_port is not target:
            self._hover_port.set_highlight(False)
        self._hover_port = target if (target is not None and self._wire_from.accepts(target)) else None
        if self._hover_port is not None:
            self._hover_port.set_highlight(True)

    def finish_wire(self, position: QPointF) -> bool:
        """Connect the dragged-from port to the compatible port under ``position`` (if any)."""
        start, target = self._wire_from, self.port_at(position)
        self.cancel_wire()
        if start is None or target is None:
            return False
        if not start.accepts(target):
            self.message.emit("Connect an output port (right side) to an input port (left side) of another layer.")
            return False
        output, inp = (start, target) if start.is_output else (target, start)
        return self.document.connect(output.node_id, inp.node_id, inp.index)

    def cancel_wire(self) -> None:
        if self._wire_preview is not None:
            self.removeItem(self._wire_preview)
        if self._hover_port is not None:
            self._hover_port.set_highlight(False)
        self._wire_from = self._wire_preview = self._hover_port = None

    @property
    def wiring(self) -> bool:
        return self._wire_from is not None

    # -- mouse -----------------------------------------------------------------------------------

    def mousePressEvent(self, event) -> None:
        port = self.port_at(event.scenePos())
        if port is not None and event.button().name == "LeftButton":
            if self.begin_wire(port):
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self.wiring:
            self.update_wire(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self.wiring:
            self.finish_wire(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        self.commit_moves()

    def commit_moves(self) -> None:
        """Turn nodes dragged away from their spec position into one undoable move."""
        spec = self.document.spec
        moved = {}
        for node_id, item in self.nodes.items():
            if node_id in spec.nodes:
                x, y = spec.nodes[node_id].position
                if abs(item.pos().x() - x) > 0.5 or abs(item.pos().y() - y) > 0.5:
                    moved[node_id] = (round(item.pos().x(), 1), round(item.pos().y(), 1))
        if moved:
            if self.document.read_only:
                self.sync()
                self.message.emit(READ_ONLY_MESSAGE)
            else:
                self.document.move(moved)


def _node_error(report, node_id: str) -> GraphError | None:
    errors = report.errors_for(node_id)
    return errors[0] if errors else None
