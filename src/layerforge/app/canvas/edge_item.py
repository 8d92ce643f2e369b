"""A wire between two nodes, drawn as a curve, labelled with the tensor shape it carries."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsPathItem, QGraphicsRectItem, QGraphicsSimpleTextItem,
                               QStyle)

from .. import theme


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A horizontal S-curve from an output port to an input port.

    A wire running backwards (to a row further down, after wrapping) loops out to the right, runs
    back along the gap between the rows and enters the input from the left.
    """
    path = QPainterPath(start)
    if end.x() >= start.x() - 20 or abs(end.y() - start.y()) < 40:
        bend = max(40.0, abs(end.x() - start.x()) * 0.5)
        path.cubicTo(QPointF(start.x() + bend, start.y()), QPointF(end.x() - bend, end.y()), end)
        return path
    middle = (start.y() + end.y()) / 2
    loop = 30.0
    path.cubicTo(QPointF(start.x() + loop, start.y()), QPointF(start.x() + loop, middle),
                 QPointF(start.x(), middle))
    path.lineTo(QPointF(end.x(), middle))
    path.cubicTo(QPointF(end.x() - loop, middle), QPointF(end.x() - loop, end.y()), end)
    return path


class EdgeItem(QGraphicsPathItem):
    def __init__(self, source_item, target_item, index: int):
        super().__init__()
        self.source_item, self.target_item, self.index = source_item, target_item, index
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(-1)
        # The label is a top-level item (added to the scene with the edge) so it draws above the nodes.
        self._label_back = QGraphicsRectItem()
        self._label_back.setZValue(3)
        self._label = QGraphicsSimpleTextItem(self._label_back)
        self._label_text = ""
        self._label_ok = True
        self.drop_target = False   # a layer dragged from the palette is over this wire: drop splices it in
        theme.follow(self, EdgeItem._follow_theme)
        self.update_path()

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.source_item.node_id, self.target_item.node_id, self.index)

    @property
    def label_text(self) -> str:
        return self._label_text

    def set_label(self, text: str, ok: bool = True) -> None:
        self._label_text, self._label_ok = text, ok
        self._label.setText(text)
        self._label.setBrush(theme.color("edge.label.text" if ok else "error.text"))
        self._place_label()

    def update_path(self) -> None:
        start = self.source_item.output_anchor()
        end = self.target_item.input_anchor(self.index)
        self.setPath(wire_path(start, end))
        self._place_label()

    def _place_label(self) -> None:
        middle = self.path().pointAtPercent(0.5)
        rect = self._label.boundingRect()
        self._label_back.setRect(QRectF(0, 0, rect.width() + 8, rect.height() + 2))
        self._label_back.setPos(middle.x() - rect.width() / 2 - 4, middle.y() - rect.height() / 2 - 1)
        self._label.setPos(4, 1)
        self._label_back.setVisible(bool(self._label_text))

    def shape(self) -> QPainterPath:
        # A wide invisible band around the curve so a wire is easy to click.
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        return stroker.createStroke(self.path())

    @property
    def label_item(self) -> QGraphicsRectItem:
        return self._label_back

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self._apply_pen()
        elif change == QGraphicsItem.GraphicsItemChange.ItemSceneHasChanged:
            if self._label_back.scene() is not None:
                self._label_back.scene().removeItem(self._label_back)
            if self.scene() is not None:
                self.scene().addItem(self._label_back)
        return super().itemChange(change, value)

    def _follow_theme(self) -> None:
        self._label_back.setBrush(theme.color("edge.label.back", 230))
        self._label_back.setPen(QPen(theme.color("edge.label.border"), 0.8))
        self._label.setBrush(theme.color("edge.label.text" if self._label_ok else "error.text"))
        self._apply_pen()

    def set_drop_target(self, on: bool) -> None:
        if on != self.drop_target:
            self.drop_target = on
            self._apply_pen()

    def _apply_pen(self) -> None:
        selected = self.isSelected()
        color = theme.color("edge.selected" if (selected or self.drop_target) else "edge.line")
        width = 5.0 if self.drop_target else (3.0 if selected else 2.0)
        style = Qt.PenStyle.DashLine if self.drop_target else Qt.PenStyle.SolidLine
        self.setPen(QPen(color, width, style, Qt.PenCapStyle.RoundCap))

    def paint(self, painter, option, widget=None) -> None:
        option.state &= ~QStyle.StateFlag.State_Selected  # our own highlight, not Qt's dashed box
        super().paint(painter, option, widget)
