"""A layer's health on its card: a warning badge while the layer is unhealthy, and on hover a card
with what it means, what to try, its figures and two small histograms (activations, gradients);
for a model of two input features, its units' outputs over the input plane under the card.

The badge is a child of the node; the hover card is a top-level scene item above every node (a
child would be covered by the cards of the nodes after it). Both read the theme while they paint.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QFont, QImage, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QGraphicsTextItem

from .. import theme
from .layout import NODE_HEIGHT, NODE_WIDTH

BADGE_SIZE = 20.0
CARD_WIDTH = 300.0
CARD_PADDING = 8.0
HISTOGRAM_HEIGHT = 46.0
CAPTION_HEIGHT = 16.0
AXIS_HEIGHT = 13.0
VERDICT_TITLES = {"dead": "Dead units", "saturated": "Saturated units", "vanishing": "Vanishing gradients",
                  "exploding": "Exploding gradients"}


class HealthBadge(QGraphicsObject):
    """The warning badge at the top right corner of a node's card; hidden while the layer is healthy
    (or has not been measured). Hovering it shows the :class:`HealthCard`."""

    def __init__(self, parent: QGraphicsItem):
        super().__init__(parent)
        self.setObjectName("healthBadge")
        self.setAcceptHoverEvents(True)
        self.setZValue(5)
        self.setPos(NODE_WIDTH - BADGE_SIZE / 2 - 2, -BADGE_SIZE / 2 + 1)
        self.report = None
        self.step = 0
        self.card: HealthCard | None = None
        self.setVisible(False)

    @property
    def text(self) -> str:
        """The sentence about the layer ("" while it is healthy)."""
        return self.report.text if self.report is not None else ""

    def show_report(self, report, step: int = 0) -> None:
        """Show ``report`` (a LayerReport): the badge appears for an unhealthy layer, goes for a healthy one."""
        self.report, self.step = report, step
        unhealthy = report is not None and not report.ok
        self.setVisible(unhealthy)
        self.setToolTip("")
        if not unhealthy:
            self.hide_card()
        elif self.card is not None:
            self.card.set_report(report, step)
        self.update()

    def clear(self) -> None:
        self.show_report(None)

    def show_card(self) -> "HealthCard | None":
        """Open the hover card beside the badge (what hovering does); None without a scene or report."""
        if self.scene() is None or self.report is None or self.report.ok:
            return None
        if self.card is None:
            self.card = HealthCard()
            self.scene().addItem(self.card)
        self.card.set_report(self.report, self.step)
        self.card.setPos(self.mapToScene(QPointF(BADGE_SIZE + 4, 0)))
        self.card.setVisible(True)
        return self.card

    def hide_card(self) -> None:
        if self.card is not None:
            if self.card.scene() is not None:
                self.card.scene().removeItem(self.card)
            self.card = None

    def hoverEnterEvent(self, event) -> None:
        self.show_card()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        self.hide_card()
        super().hoverLeaveEvent(event)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, BADGE_SIZE, BADGE_SIZE)

    def paint(self, painter, option, widget=None) -> None:
        if self.report is None:
            return
        fill = theme.color("node.error.border" if self.report.severity == "error" else "banner.warning.border")
        painter.setRenderHint(painter.RenderHint.Antialiasing)
        painter.setPen(QPen(theme.color("node.body"), 1.5))
        painter.setBrush(QBrush(fill))
        painter.drawEllipse(self.boundingRect().adjusted(1, 1, -1, -1))
        font = QFont(painter.font())
        font.setBold(True)
        font.setPixelSize(12)
        painter.setFont(font)
        painter.setPen(theme.text_on(fill))
        painter.drawText(self.boundingRect(), Qt.AlignmentFlag.AlignCenter, "!")


class HealthCard(QGraphicsItem):
    """The hover card: title, sentence, figures, and the activation and gradient histograms."""

    def __init__(self):
        super().__init__()
        self.setZValue(1000)
        self.report = None
        self._text = QGraphicsTextItem(self)
        self._text.setTextWidth(CARD_WIDTH - 2 * CARD_PADDING)
        self._text.setPos(CARD_PADDING - 4, CARD_PADDING - 4)

    @property
    def plain_text(self) -> str:
        return self._text.toPlainText()

    def set_report(self, report, step: int = 0) -> None:
        self.prepareGeometryChange()
        self.report = report
        title = VERDICT_TITLES.get(report.verdict, report.verdict)
        when = f" · step {step}" if step else ""
        self._text.setDefaultTextColor(theme.color("text"))
        self._text.setHtml(f"<b>{_escape(report.name)}</b> ({_escape(report.layer_type)}): {title}{when}"
                           f"<br>{_escape(_sentence(report.text))}"
                           f"<br><span style='color:{theme.hex_color('text.caption')}'>{_escape(figures(report))}</span>")
        self.update()

    def _histogram_top(self) -> float:
        return CARD_PADDING + self._text.boundingRect().height()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, CARD_WIDTH, self._histogram_top() + CAPTION_HEIGHT + HISTOGRAM_HEIGHT + AXIS_HEIGHT
                      + CARD_PADDING)

    def paint(self, painter, option, widget=None) -> None:
        rect = self.boundingRect()
        painter.setRenderHint(painter.RenderHint.Antialiasing)
        painter.setPen(QPen(theme.color("panel.border"), 1.0))
        painter.setBrush(QBrush(theme.color("tooltip")))
        painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), 5, 5)
        if self.report is None:
            return
        top = self._histogram_top()
        width = (CARD_WIDTH - 3 * CARD_PADDING) / 2
        for index, (caption, hist, token) in enumerate((("activations", self.report.activations, "highlight"),
                                                         ("gradients", self.report.gradients, "banner.warning.border"))):
            left = CARD_PADDING + index * (width + CARD_PADDING)
            painter.setPen(theme.color("text.caption"))
            painter.drawText(QRectF(left, top, width, CAPTION_HEIGHT),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, caption)
            bars = QRectF(left, top + CAPTION_HEIGHT, width, HISTOGRAM_HEIGHT)
            draw_histogram(painter, bars, hist, token)
            if hist is not None:   # the range under the bars, at their ends
                axis = QRectF(left, bars.bottom() + 1, width, AXIS_HEIGHT)
                painter.setPen(theme.color("text.caption"))
                small = QFont(painter.font())
                small.setPointSizeF(max(6.0, painter.font().pointSizeF() * 0.8))
                painter.save()
                painter.setFont(small)
                painter.drawText(axis, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, f"{hist.edges[0]:.2g}")
                painter.drawText(axis, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, f"{hist.edges[-1]:.2g}")
                painter.restore()


def draw_histogram(painter, rect: QRectF, hist, token: str) -> None:
    """Bars of ``hist`` (a Histogram, or None: "none") in ``rect``, on a thin base line."""
    painter.setPen(QPen(theme.color("chart.axis"), 1.0))
    painter.drawLine(rect.bottomLeft(), rect.bottomRight())
    if hist is None or not np.any(hist.counts):
        painter.setPen(theme.color("text.caption"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "none reached it")
        return
    counts = np.asarray(hist.counts, dtype=float)
    # Square-root heights: a spike at 0 (dead units) leaves the rest of the shape visible.
    heights = np.sqrt(counts / counts.max())
    bar = rect.width() / len(counts)
    path = QPainterPath()
    for i, height in enumerate(heights):
        if height > 0:
            h = max(1.0, height * (rect.height() - 2))
            path.addRect(QRectF(rect.left() + i * bar + 0.5, rect.bottom() - h, max(1.0, bar - 1.0), h))
    painter.fillPath(path, QBrush(theme.color(token)))


def figures(report) -> str:
    """The measured figures of a report in a line: "gradient norm 0.12 · update/weight 0.004"."""
    parts = []
    if report.grad_norm is not None:
        parts.append(f"gradient norm {report.grad_norm:.3g}")
    if report.update_ratio is not None:
        parts.append(f"update/weight {report.update_ratio:.2g}")
    if report.dead_share is not None:
        parts.append(f"dead units {report.dead_share:.0%}")
    if report.saturated_share is not None:
        parts.append(f"saturated units {report.saturated_share:.0%}")
    return " · ".join(parts)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".") if text else ""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


MAP_TILE = 22.0
MAP_GAP = 2.0


class UnitMapsItem(QGraphicsItem):
    """Each unit's output over the input plane, as TensorFlow Playground draws its neurons: a small
    heatmap per unit under the node's card (blue positive, amber negative, one scale per layer).
    Shown while ``shown`` is set (the node's context menu) and maps have arrived."""

    def __init__(self, parent: QGraphicsItem):
        super().__init__(parent)
        self.shown = False
        self.maps: np.ndarray | None = None
        self.images: list[QImage] = []   # one per unit, as drawn
        self.setPos(0, NODE_HEIGHT + 6)
        self.setVisible(False)
        theme.follow(self, UnitMapsItem._recolour)

    def _recolour(self) -> None:
        if self.maps is not None and self.shown:
            self.images = unit_images(self.maps)
            self.update()

    @property
    def per_row(self) -> int:
        return max(1, int((NODE_WIDTH + MAP_GAP) // (MAP_TILE + MAP_GAP)))

    def set_shown(self, shown: bool) -> None:
        self.prepareGeometryChange()
        self.shown = bool(shown)
        # Drawn only while shown: a report every 50 steps must not cost the window an image per unit.
        self.images = unit_images(self.maps) if self.shown and self.maps is not None else []
        self._follow()

    def set_maps(self, maps: np.ndarray | None, features: tuple = ()) -> None:
        """``maps`` (units, G, G), rows from the plane's bottom up, over the plane of ``features``
        (the names across and up); None: no maps (yet)."""
        self.prepareGeometryChange()
        across, up = features if len(features) == 2 else ("the first input", "the second")
        self.setToolTip(f"Each unit's output over the plane of {across} (across) and {up} (up), other inputs "
                        f"at their means: blue positive, amber negative")
        self.maps = None if maps is None else np.asarray(maps, dtype=np.float32)
        self.images = unit_images(self.maps) if self.shown and self.maps is not None else []
        self._follow()
        self.update()

    def _follow(self) -> None:
        self.setVisible(self.shown and self.maps is not None)

    def boundingRect(self) -> QRectF:
        count = len(self.images)
        rows = -(-count // self.per_row) if count else 0
        return QRectF(0, 0, NODE_WIDTH, rows * (MAP_TILE + MAP_GAP))

    def paint(self, painter, option, widget=None) -> None:
        painter.setPen(QPen(theme.color("node.border"), 1.0))
        for index, image in enumerate(self.images):
            row, column = divmod(index, self.per_row)
            tile = QRectF(column * (MAP_TILE + MAP_GAP), row * (MAP_TILE + MAP_GAP), MAP_TILE, MAP_TILE)
            painter.drawImage(tile, image)
            painter.drawRect(tile)


def unit_images(maps: np.ndarray) -> list[QImage]:
    """One QImage per unit: blue for positive outputs, amber for negative, the canvas colour for 0,
    on one scale for the layer (its largest magnitude), so that the units compare."""
    scale = float(np.max(np.abs(maps))) if maps.size else 0.0
    share = np.clip(maps / scale, -1.0, 1.0) if scale > 0 else np.zeros_like(maps)
    mid, positive, negative = (np.array(theme.color(token).getRgb()[:3], dtype=np.float32)
                               for token in ("chart.background", "confusion.right", "banner.warning.border"))
    weight = np.abs(share)[..., None]
    colour = np.where(share[..., None] >= 0, positive, negative)
    rgb = (mid + (colour - mid) * weight).astype(np.uint8)[:, ::-1]   # the plane's top row first
    images = []
    for unit in rgb:
        unit = np.ascontiguousarray(unit)
        height, width = unit.shape[:2]
        images.append(QImage(unit.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy())
    return images
