"""A wire between two nodes, drawn as a curve, labelled with the tensor shape it carries."""
from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsPathItem, QGraphicsRectItem, QGraphicsSimpleTextItem,
                               QStyle)

from .. import theme
from .layout import LANE_CLEAR, LANE_STEP

RISE = 14.0          # how far from its port a wire routed around nodes turns to its lane
CORNER = 8.0         # the radius of its corners
PREFER_OVER = 30.0   # px of detour worth paying to run over the nodes (where skips are drawn) not under
LABEL_SPOTS = (0.5, 0.58, 0.42, 0.66, 0.34, 0.74, 0.26, 0.82, 0.18)


def wire_path(start: QPointF, end: QPointF, obstacles: Sequence[QRectF] = (), level: int = 0) -> QPainterPath:
    """A wire from an output port to an input port.

    Forwards, a horizontal S-curve; where that would cross a node in ``obstacles`` (the rectangles of
    the other nodes), the wire runs around them instead, on a lane over (or under) the nodes it
    passes, ``level`` lanes further out (a skip connection with others nested inside it). Backwards
    (to a row further down, after wrapping), it loops out to the right, runs back along the gap
    between the rows and enters the input from the left.
    """
    path = QPainterPath(start)
    if end.x() >= start.x() - 20 or abs(end.y() - start.y()) < 40:
        bend = max(40.0, abs(end.x() - start.x()) * 0.5)
        path.cubicTo(QPointF(start.x() + bend, start.y()), QPointF(end.x() - bend, end.y()), end)
        if obstacles and end.x() - start.x() > 2 * RISE:
            stroke = stroke_of(path)
            blocking = [rect for rect in obstacles if stroke.intersects(rect)]
            if blocking:
                return _around(start, end, blocking, obstacles, level)
        return path
    middle = (start.y() + end.y()) / 2
    loop = 30.0
    path.cubicTo(QPointF(start.x() + loop, start.y()), QPointF(start.x() + loop, middle),
                 QPointF(start.x(), middle))
    path.lineTo(QPointF(end.x(), middle))
    path.cubicTo(QPointF(end.x() - loop, middle), QPointF(end.x() - loop, end.y()), end)
    return path


def stroke_of(path: QPainterPath, width: float = 3.0) -> QPainterPath:
    """The area a drawn wire covers (a path's own ``intersects`` would count the area it encloses)."""
    stroker = QPainterPathStroker()
    stroker.setWidth(width)
    return stroker.createStroke(path)


def _around(start: QPointF, end: QPointF, blocking, obstacles, level: int) -> QPainterPath:
    """A wire over or under the nodes in its way, whichever is the shorter detour (over, on a tie)."""
    left, right = start.x(), end.x()

    def lane(y: float, step: float) -> float:
        # Move the lane on until no node stands on it between the wire's ends.
        for _ in range(len(obstacles) + 1):
            hits = [r for r in obstacles if r.left() < right and r.right() > left
                    and r.top() - 4 < y < r.bottom() + 4]
            if not hits:
                break
            y = (min(r.top() for r in hits) if step < 0 else max(r.bottom() for r in hits)) + step * LANE_CLEAR
        return y

    offset = LANE_CLEAR + LANE_STEP * level
    over = lane(min(r.top() for r in blocking) - offset, -1)
    under = lane(max(r.bottom() for r in blocking) + offset, 1)
    detour_over = (start.y() - over) + (end.y() - over)
    detour_under = (under - start.y()) + (under - end.y())
    return lane_path(start, end, over if detour_over <= detour_under + PREFER_OVER else under)


def lane_path(start: QPointF, end: QPointF, lane: float) -> QPainterPath:
    """Out of the port, up (or down) to ``lane``, along it, and down (or up) into the input port,
    with rounded corners."""
    rise, fall = start.x() + RISE, end.x() - RISE
    radius = max(1.0, min(CORNER, abs(lane - start.y()) / 2, abs(lane - end.y()) / 2))
    up_out = -1.0 if lane < start.y() else 1.0
    up_in = -1.0 if lane < end.y() else 1.0
    path = QPainterPath(start)
    path.lineTo(rise - radius, start.y())
    path.quadTo(rise, start.y(), rise, start.y() + up_out * radius)
    path.lineTo(rise, lane - up_out * radius)
    path.quadTo(rise, lane, rise + radius, lane)
    path.lineTo(fall - radius, lane)
    path.quadTo(fall, lane, fall, lane - up_in * radius)
    path.lineTo(fall, end.y() + up_in * radius)
    path.quadTo(fall, end.y(), fall + radius, end.y())
    path.lineTo(end)
    return path


def label_spot(path: QPainterPath, size: QSizeF, nodes: Sequence[QRectF], wires: Sequence[QPainterPath]) -> QPointF:
    """Where on ``path`` a label of ``size`` goes (its centre): the point nearest the middle whose
    label covers no node and no other wire; the middle if there is none."""
    middle = path.pointAtPercent(0.5)
    for t in LABEL_SPOTS:
        centre = path.pointAtPercent(t)
        rect = QRectF(centre.x() - size.width() / 2, centre.y() - size.height() / 2, size.width(), size.height())
        if not any(node.intersects(rect) for node in nodes) and not any(w.intersects(rect) for w in wires):
            return centre
    return middle


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
        self.lane_level = 0        # skip connections nested inside this one (its lane runs that much higher)
        self.stroke = QPainterPath()
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
        self.place_label()

    def update_path(self) -> None:
        """Redraw the wire between its ports, around the other nodes in its way (the scene's)."""
        start = self.source_item.output_anchor()
        end = self.target_item.input_anchor(self.index)
        scene = self.scene()
        obstacles = (scene.node_rects(exclude=(self.source_item, self.target_item))
                     if hasattr(scene, "node_rects") else ())
        self.setPath(wire_path(start, end, obstacles, self.lane_level))
        self.stroke = stroke_of(self.path())

    def place_label(self, nodes: Sequence[QRectF] = (), wires: Sequence[QPainterPath] = ()) -> None:
        """Put the shape label on the wire where it covers none of ``nodes`` and ``wires`` (the scene
        places every label at once, once every wire is drawn)."""
        rect = self._label.boundingRect()
        size = QSizeF(rect.width() + 8, rect.height() + 2)
        centre = label_spot(self.path(), size, nodes, wires)
        self._label_back.setRect(QRectF(0, 0, size.width(), size.height()))
        self._label_back.setPos(centre.x() - size.width() / 2, centre.y() - size.height() / 2)
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
