"""A connection point on a node: inputs on the left edge, the output on the right."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem

PORT_RADIUS = 6.0


class PortItem(QGraphicsEllipseItem):
    """``index`` is the input number for input ports (Add/Concat have several); 0 for the output."""

    def __init__(self, node_item: QGraphicsItem, is_output: bool, index: int = 0):
        super().__init__(QRectF(-PORT_RADIUS, -PORT_RADIUS, 2 * PORT_RADIUS, 2 * PORT_RADIUS), node_item)
        self.node_item = node_item
        self.is_output = is_output
        self.index = index
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(2)
        self.set_highlight(False)
        self.setToolTip("Drag to an input port to connect" if is_output
                        else f"Input {index}: drag from another layer's output here")

    @property
    def node_id(self) -> str:
        return self.node_item.node_id

    def set_highlight(self, on: bool) -> None:
        self.setPen(QPen(QColor("#37474f"), 1.5))
        self.setBrush(QBrush(QColor("#ffb300") if on else QColor("#eceff1")))

    def hoverEnterEvent(self, event) -> None:
        self.set_highlight(True)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        self.set_highlight(False)
        super().hoverLeaveEvent(event)

    def accepts(self, other: "PortItem") -> bool:
        """Whether a wire may run between this port and ``other`` (one output, one input, two nodes)."""
        return other.is_output != self.is_output and other.node_item is not self.node_item
