"""A layer on the canvas: a card with its name, type and key settings, ports, and its error if any."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QGraphicsSimpleTextItem, QGraphicsTextItem, QStyle

from ...graph import GraphError, Node, get_layer
from .. import theme
from ..icons import category_color, category_pixmap
from .health_badge import HealthBadge, UnitMapsItem
from .layout import NODE_HEIGHT, NODE_WIDTH
from .port_item import PortItem

HEADER_HEIGHT = 20.0
PORT_SPACING = 18.0


def param_summary(node: Node) -> str:
    """The one or two settings worth reading on the card: "16 units", "8 ch, 3x3", "p=0.5", "4 heads";
    empty for a layer with nothing to set (ReLU)."""
    p = node.params
    if node.type == "Input":
        return "shape " + "x".join(str(d) for d in p["shape"])
    if "out_features" in p:
        return f"{p['out_features']} units"
    if "out_channels" in p:
        return f"{p['out_channels']} ch, {'x'.join(map(str, p['kernel_size']))}"
    if "hidden_size" in p:
        return f"{p['hidden_size']} hidden"
    if "num_heads" in p:
        feed_forward = p.get("dim_feedforward")
        return f"{p['num_heads']} heads" + (f", ff {feed_forward}" if feed_forward else "")
    if "embedding_dim" in p:
        return f"{p['num_embeddings']} → {p['embedding_dim']}"
    if "max_len" in p:
        return f"max {p['max_len']}"
    if "mode" in p:
        return str(p["mode"])
    if "kernel_size" in p:
        return "x".join(map(str, p["kernel_size"]))
    if "output_size" in p:
        size = p["output_size"]
        return "→ " + ("x".join(map(str, size)) if isinstance(size, (list, tuple)) else str(size))
    if "p" in p:
        return f"p={p['p']}"
    return ""


def card_subtitle(node: Node, fits: Callable[[str], bool]) -> tuple[str, str]:
    """(the full subtitle, for the tooltip; the text the card shows). The card is read for its
    settings: where "Type · settings" is too wide, the settings stand alone (the type is in the
    tooltip, the inspector and the header's icon) rather than being cut off after the type."""
    summary = param_summary(node)
    full = f"{node.type} · {summary}" if summary else node.type
    return full, (summary if summary and not fits(full) else full)


class QuickFixItem(QGraphicsTextItem):
    """A clickable "Fix: insert Flatten" link under a failing node."""

    def __init__(self, parent: "NodeItem"):
        super().__init__(parent)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.fix: dict | None = None

    def mousePressEvent(self, event) -> None:
        if self.fix is not None and event.button() == Qt.MouseButton.LeftButton:
            self.parentItem().quickFixClicked.emit(dict(self.fix))
            event.accept()
            return
        super().mousePressEvent(event)


class NodeItem(QGraphicsObject):
    quickFixClicked = Signal(dict)

    def __init__(self, node: Node):
        super().__init__()
        self.node_id = node.id
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.error: GraphError | None = None
        self.output_shape_text = ""
        self._title = QGraphicsSimpleTextItem(self)
        bold = QFont()
        bold.setBold(True)
        self._title.setFont(bold)
        self._title.setPos(24, 2)
        self._subtitle = QGraphicsSimpleTextItem(self)
        self._subtitle.setPos(8, HEADER_HEIGHT + 4)
        self._error_text = QGraphicsTextItem(self)
        self._error_text.setTextWidth(NODE_WIDTH + 40)
        theme.follow(self, NodeItem._follow_theme)
        self._error_text.setPos(-20, NODE_HEIGHT + 2)
        self.quick_fix_item = QuickFixItem(self)
        self._health_badge: HealthBadge | None = None
        self._unit_maps: UnitMapsItem | None = None
        self.input_ports: list[PortItem] = []
        self.output_port: PortItem | None = None
        self._type = ""
        self._color = QColor("#607d8b")
        self._icon = None
        self.update_from(node, None)

    @property
    def health_badge(self) -> HealthBadge:
        """The layer's health badge (app.health_views shows it while the layer is unhealthy), made
        when first asked for: a model that never trains has none."""
        if self._health_badge is None:
            self._health_badge = HealthBadge(self)
        return self._health_badge

    @property
    def unit_maps(self) -> UnitMapsItem:
        """Its units' outputs over the input plane (the context menu shows them), made when first asked for."""
        if self._unit_maps is None:
            self._unit_maps = UnitMapsItem(self)
        return self._unit_maps

    # -- content ---------------------------------------------------------------------------------

    def update_from(self, node: Node, error: GraphError | None, output_shape: str = "",
                    connected_inputs: int = 0) -> None:
        layer = get_layer(node.type)
        if node.type != self._type:
            self._type = node.type
            self._color = category_color(layer.category)
            self._icon = category_pixmap(layer.category, 16)
        self.node_name = node.name
        self._title.setText(_elide(node.name, 12))
        # Elided to the card's width in pixels (the full text is its tooltip), never cut by the edge.
        width = NODE_WIDTH - 2 * 8 - PORT_SPACING / 2
        metrics = QFontMetricsF(self._subtitle.font())
        self.subtitle_text, shown = card_subtitle(node, lambda text: metrics.horizontalAdvance(text) <= width)
        self._subtitle.setText(metrics.elidedText(shown, Qt.TextElideMode.ElideRight, width))
        self._subtitle.setToolTip(self.subtitle_text)
        self.output_shape_text = output_shape
        self._set_ports(layer, connected_inputs)
        self.set_error(error)
        self.setToolTip(self._tooltip(node, layer))
        self.update()

    def _tooltip(self, node: Node, layer) -> str:
        lines = [f"<b>{node.name}</b> ({node.type})", layer.description]
        if self.output_shape_text:
            lines.append(f"output shape: {self.output_shape_text}")
        if self.error is not None:
            lines.append(f"<span style='color:{theme.hex_color('error.text')}'>{self.error.message}</span>")
        return "<br>".join(lines)

    def _follow_theme(self) -> None:
        self._subtitle.setBrush(theme.color("node.subtitle"))
        self._error_text.setDefaultTextColor(theme.color("error.text"))
        self.update()

    def set_error(self, error: GraphError | None) -> None:
        self.error = error
        # The name on the header reads in white or dark text, whichever the header's colour needs.
        self._title.setBrush(theme.text_on(theme.color("node.error.header") if error is not None else self._color))
        self._error_text.setVisible(error is not None)
        fix = error.quick_fix if error is not None else None
        if error is not None:
            self._error_text.setPlainText(_elide(error.message, 110))
        self.quick_fix_item.fix = fix
        self.quick_fix_item.setVisible(fix is not None)
        if fix is not None:
            self.quick_fix_item.setHtml(f"<a href='#'>Fix: insert {fix.get('type')}</a>")
            below = self._error_text.boundingRect().height() if error is not None else 0
            self.quick_fix_item.setPos(-20, NODE_HEIGHT + 2 + below)

    def _set_ports(self, layer, connected_inputs: int) -> None:
        if layer.max_inputs is None:
            count = max(layer.min_inputs, connected_inputs + 1)
        else:
            count = layer.max_inputs
        while len(self.input_ports) > count:
            port = self.input_ports.pop()
            port.setParentItem(None)
            if port.scene() is not None:
                port.scene().removeItem(port)
        while len(self.input_ports) < count:
            self.input_ports.append(PortItem(self, is_output=False, index=len(self.input_ports)))
        for index, port in enumerate(self.input_ports):
            port.setPos(self.input_anchor_local(index))
        if self.output_port is None:
            self.output_port = PortItem(self, is_output=True)
        self.output_port.setPos(NODE_WIDTH, NODE_HEIGHT / 2)

    # -- geometry --------------------------------------------------------------------------------

    def input_anchor_local(self, index: int) -> QPointF:
        count = max(1, len(self.input_ports))
        top = NODE_HEIGHT / 2 - PORT_SPACING * (count - 1) / 2
        return QPointF(0.0, top + PORT_SPACING * index)

    def input_anchor(self, index: int) -> QPointF:
        return self.mapToScene(self.input_anchor_local(index))

    def output_anchor(self) -> QPointF:
        return self.mapToScene(QPointF(NODE_WIDTH, NODE_HEIGHT / 2))

    def input_port(self, index: int) -> PortItem | None:
        return self.input_ports[index] if 0 <= index < len(self.input_ports) else None

    def boundingRect(self) -> QRectF:
        return QRectF(-PORT_SPACING / 2, -2, NODE_WIDTH + PORT_SPACING, NODE_HEIGHT + 4)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT), 6, 6)
        return path

    def paint(self, painter, option, widget=None) -> None:
        rect = QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        failing = self.error is not None
        border = theme.color("node.error.border" if failing else ("node.selected" if selected else "node.border"))
        painter.setPen(QPen(border, 3.0 if (selected or failing) else 1.2))
        painter.setBrush(QBrush(theme.color("node.error.body" if failing else "node.body")))
        painter.drawRoundedRect(rect, 6, 6)
        header = QPainterPath()
        header.addRoundedRect(QRectF(1, 1, NODE_WIDTH - 2, HEADER_HEIGHT), 5, 5)
        painter.fillPath(header, QBrush(theme.color("node.error.header") if failing else self._color))
        if self._icon is not None:
            painter.fillRect(QRectF(4, 2, 17, 17), QColor(255, 255, 255, 235))
            painter.drawPixmap(4.5, 2.5, self._icon)
        if self.output_shape_text:
            painter.setPen(theme.color("node.shape"))
            painter.drawText(QRectF(8, HEADER_HEIGHT + 20, NODE_WIDTH - 14, 14),
                             Qt.AlignmentFlag.AlignRight, "→ " + self.output_shape_text)

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged and self.scene() is not None:
            self.scene().node_moved(self)
        return super().itemChange(change, value)


def _elide(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
