"""The computational graph's scene items: op, parameter and input nodes, layer frames, edges, the
"× k" badge of a folded run, and the log-scale colours of gradient norms."""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QLinearGradient, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from . import theme

LOG_LOW, LOG_HIGH = -7.0, 3.0      # the colour scale of gradient norms, in powers of ten
VANISHING, EXPLODING = 1e-6, 1e2   # norms outside these are called out in the tooltip
_STOPS = ((0.0, "#7b1fa2"), (0.3, "#3949ab"), (0.5, "#1e88e5"), (0.65, "#26a69a"), (0.78, "#9ccc65"),
          (0.88, "#ffb300"), (1.0, "#e53935"))


def grad_position(norm: float) -> float:
    """Where ``norm`` sits on the log colour scale, 0 (1e-7 or less, or zero) to 1 (1e3 or more)."""
    if not norm > 0 or not math.isfinite(norm):
        return 1.0 if norm == math.inf or norm != norm else 0.0
    return min(1.0, max(0.0, (math.log10(norm) - LOG_LOW) / (LOG_HIGH - LOG_LOW)))


def grad_color(norm: float) -> QColor:
    t = grad_position(norm)
    for (t0, c0), (t1, c1) in zip(_STOPS, _STOPS[1:]):
        if t <= t1:
            return theme.mix(QColor(c0), QColor(c1), (t - t0) / (t1 - t0) if t1 > t0 else 0.0)
    return QColor(_STOPS[-1][1])


def legend_pixmap(width: int, height: int) -> QPixmap:
    pixmap = QPixmap(width, height)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    gradient = QLinearGradient(0, 0, width, 0)
    for t, color in _STOPS:
        gradient.setColorAt(t, QColor(color))
    painter.fillRect(0, 0, width, height, QBrush(gradient))
    painter.end()
    return pixmap


def format_norm(norm: float | None) -> str:
    if norm is None:
        return ""
    if norm == 0:
        return "0"
    return f"{norm:.3g}" if 1e-3 <= abs(norm) < 1e4 else f"{norm:.2e}"


def shape_text(shape: tuple) -> str:
    return "scalar" if not shape else "(" + ", ".join(str(s) for s in shape) + ")"


class GraphNodeItem(QGraphicsItem):
    """One node: its name, its output shape, and (after a step) the norm of its output's gradient."""

    def __init__(self, node, rect: tuple, folded_norms: list[float] | None = None):
        super().__init__()
        self.node = node
        self.folded_norms = folded_norms or []
        x, y, w, h = rect
        self.setPos(x, y)
        self._rect = QRectF(0, 0, w, h)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAcceptHoverEvents(True)
        self.setToolTip(self._tooltip())

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 2, 2)

    def anchor_in(self) -> QPointF:
        return self.mapToScene(QPointF(0, self._rect.height() / 2))

    def anchor_out(self) -> QPointF:
        return self.mapToScene(QPointF(self._rect.width(), self._rect.height() / 2))

    def _tooltip(self) -> str:
        node = self.node
        lines = [f"<b>{node.name}</b>"]
        kind = {"op": "operation (grad_fn)", "loss": "the loss's grad_fn", "param": "parameter (AccumulateGrad leaf)",
                "input": "input batch (no gradient)" if node.grad is None else "input"}[node.kind]
        lines.append(f"{kind}, {'shape' if node.kind in ('param', 'input') else 'output'} {shape_text(node.shape)}")
        from layerforge.training.autograd_graph import FUSED_IN_TORCH
        if node.name in FUSED_IN_TORCH:
            lines.append("PyTorch builds " + " → ".join(FUSED_IN_TORCH[node.name]) + " for this one node")
        if node.grad_norm is not None:
            lines.append(f"‖∂loss/∂output‖ = {format_norm(node.grad_norm)}")
            if node.grad_norm < VANISHING:
                lines.append("a vanishing gradient: layers before this one hardly learn")
            elif node.grad_norm > EXPLODING:
                lines.append("an exploding gradient: lower the learning rate or clip gradients")
        if self.folded_norms:
            norms = [n for n in self.folded_norms if n is not None]
            if norms:
                lines.append(f"over the {len(norms) + 1} repetitions: "
                             f"{format_norm(min(norms + [node.grad_norm or 0]))} to "
                             f"{format_norm(max(norms + [node.grad_norm or 0]))}")
        lines.append("Click to inspect the tensor")
        return "<br>".join(lines)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        node = self.node
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        body = theme.color("node.body")
        if node.kind == "param":
            body = theme.mix(body, QColor("#1e88e5"), 0.16)
        elif node.kind == "input":
            body = theme.mix(body, QColor("#43a047"), 0.16)
        border = theme.color("node.selected") if self.isSelected() else theme.color("node.border")
        painter.setPen(QPen(border, 2.2 if self.isSelected() else 1.2))
        painter.setBrush(body)
        radius = 6 if node.kind in ("op", "loss") else 12
        painter.drawRoundedRect(self._rect, radius, radius)
        left = 10
        if node.grad_norm is not None:   # the gradient's colour on the node's left edge
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(grad_color(node.grad_norm))
            painter.drawRoundedRect(QRectF(1.5, 1.5, 9, self._rect.height() - 3), 4, 4)
            left = 16
        width = self._rect.width() - left - 6
        title = QFont(painter.font())
        title.setBold(True)
        title.setPointSizeF(max(7.5, title.pointSizeF()))
        painter.setFont(title)
        painter.setPen(theme.color("text"))
        metrics = QFontMetrics(title)
        if metrics.horizontalAdvance(node.name) > width:   # a long name: a smaller font before an ellipsis
            title.setPointSizeF(title.pointSizeF() * max(0.75, width / metrics.horizontalAdvance(node.name)))
            painter.setFont(title)
            metrics = QFontMetrics(title)
        painter.drawText(QRectF(left, 4, width, 18), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(node.name, Qt.TextElideMode.ElideRight, int(width)))
        small = QFont(painter.font())
        small.setBold(False)
        small.setPointSizeF(max(7.0, title.pointSizeF() - 1))
        painter.setFont(small)
        painter.setPen(theme.color("node.subtitle"))
        painter.drawText(QRectF(left, 21, width, 16), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         shape_text(node.shape))
        if node.grad_norm is not None and self._rect.height() >= 50:
            painter.drawText(QRectF(left, 37, width, 16), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             f"‖grad‖ {format_norm(node.grad_norm)}")
        elif node.grad_norm is not None:   # a leaf: the norm beside the shape
            painter.drawText(QRectF(left, 21, width, 16), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             f"‖g‖ {format_norm(node.grad_norm)}")


class GroupFrameItem(QGraphicsItem):
    """A light frame around the nodes one canvas layer built, with the layer's name on top."""

    def __init__(self, group: str, kind: str, rect: tuple, fold=None):
        super().__init__()
        self.group, self.kind, self.fold = group, kind, fold
        x, y, w, h = rect
        self.setPos(x, y)
        self._rect = QRectF(0, 0, w, h)
        self.setZValue(-2)
        tip = (f"Layer {group} ({kind}). Double-click to step through it on one sample" if group != "loss"
               else "The loss. Double-click to step through it on one sample")
        self.setToolTip(tip)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        border = theme.color("panel.border")
        fill = theme.mix(theme.color("canvas.background"), theme.color("panel"), 0.6)
        painter.setPen(QPen(border, 1.0, Qt.PenStyle.DashLine if self.fold is not None else Qt.PenStyle.SolidLine))
        painter.setBrush(fill)
        painter.drawRoundedRect(self._rect, 8, 8)
        font = QFont(painter.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 0.5))
        painter.setFont(font)
        painter.setPen(theme.color("text.caption"))
        label = self.group if self.group == "loss" else f"{self.group} · {self.kind}"
        metrics = QFontMetrics(font)
        painter.drawText(QRectF(8, 2, self._rect.width() - 16, 18), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(label, Qt.TextElideMode.ElideRight, int(self._rect.width() - 16)))


class FoldBadgeItem(QGraphicsItem):
    """"× k" on a folded run of layers; clicking it opens the run (or closes it again)."""

    def __init__(self, fold, at: QPointF, expanded: bool):
        super().__init__()
        self.fold, self.expanded = fold, expanded
        self.text = (f"× {fold.count}  ▸" if not expanded else f"× {fold.count}  ▾ fold")
        self.setPos(at)
        self.setZValue(3)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        names = ", ".join(fold.groups[:6]) + (" …" if len(fold.groups) > 6 else "")
        self.setToolTip(("Click to show every repetition" if not expanded else "Click to fold the repetitions")
                        + f": {names}")

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, 70, 20)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(theme.color("node.selected"), 1))
        painter.setBrush(theme.color("base"))
        painter.drawRoundedRect(self.boundingRect(), 9, 9)
        painter.setPen(theme.color("text"))
        painter.drawText(self.boundingRect(), Qt.AlignmentFlag.AlignCenter, self.text)


def edge_item(start: QPointF, end: QPointF, color: QColor, width: float = 1.4) -> QGraphicsPathItem:
    """A curve from an output to an input, with an arrow head at the input."""
    dx = max(30.0, (end.x() - start.x()) / 2)
    return _arrow_curve(start, QPointF(start.x() + dx, start.y()), QPointF(end.x() - dx, end.y()), end,
                        color, width, head=8.0)


def leaf_edge_item(start: QPointF, end: QPointF, color: QColor, width: float = 1.2) -> QGraphicsPathItem:
    """From a parameter stacked above its op, round the left of the column into the op's side."""
    bulge = 16.0
    return _arrow_curve(start, QPointF(start.x() - bulge, start.y()), QPointF(end.x() - bulge, end.y()), end,
                        color, width, head=7.0)


def _arrow_curve(start: QPointF, c1: QPointF, c2: QPointF, end: QPointF, color: QColor, width: float,
                 head: float) -> QGraphicsPathItem:
    """A cubic curve through the control points ``c1``, ``c2`` with an arrow head ``head`` px long at ``end``."""
    path = QPainterPath(start)
    path.cubicTo(c1, c2, end)
    arrow = QPainterPath(end)
    arrow.lineTo(end + QPointF(-head, -head / 2))
    arrow.moveTo(end)
    arrow.lineTo(end + QPointF(-head, head / 2))
    path.addPath(arrow)
    item = QGraphicsPathItem(path)
    item.setPen(QPen(color, width))
    item.setZValue(-1)
    return item
