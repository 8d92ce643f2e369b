"""A small drawing surface [sketchPad] for image models: draw with the mouse, read it as an array.

The pad holds the image at the model's own resolution (e.g. 8x8 or 28x28) and shows it enlarged, so
what a person sees is exactly what the model gets. The pen is a soft round brush, and it draws the way
the training images are drawn (``data.ink``): light on dark for the digits, dark on light for a scan.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...data.ink import Ink

DISPLAY_SIDE = 224


class SketchPad(QWidget):
    """``pixels()`` gives a (height, width) float array in the training data's values: ``ink.background``
    where nothing is drawn, ``ink.ink`` where a stroke passed. ``drawn`` fires as the picture changes
    (often, while a stroke goes on), ``strokeFinished`` when the button is released."""

    drawn = Signal()
    strokeFinished = Signal()

    def __init__(self, height: int, width: int, parent=None, ink: Ink | None = None):
        super().__init__(parent)
        self.setObjectName("sketchPad")
        self.setAccessibleName("Sketch pad")
        self.setToolTip("Draw with the mouse (left button); Clear starts again")
        self.ink = ink or Ink()
        self.grid = np.zeros((height, width), dtype=np.float32)   # the amount of ink, 0 to 1
        self.brush_radius = max(0.6, min(height, width) / 10.0)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._last: QPointF | None = None

    def sizeHint(self) -> QSize:
        h, w = self.grid.shape
        scale = max(1, DISPLAY_SIDE // max(h, w))
        return QSize(w * scale, h * scale)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    # -- the picture -----------------------------------------------------------------------------

    def pixels(self) -> np.ndarray:
        return self.ink.values(self.grid)

    @property
    def empty(self) -> bool:
        return not self.grid.any()

    def clear(self) -> None:
        self.grid[:] = 0.0
        self.update()
        self.drawn.emit()

    def stroke(self, points) -> None:
        """Draw a line through ``points`` given in the pad's own pixel units (rows, columns as x, y)."""
        points = [QPointF(*p) if not isinstance(p, QPointF) else p for p in points]
        for start, end in zip(points, points[1:] or points):
            self._segment(start, end)
        self.update()
        self.drawn.emit()

    def _segment(self, start: QPointF, end: QPointF) -> None:
        h, w = self.grid.shape
        length = max(abs(end.x() - start.x()), abs(end.y() - start.y()))
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
        for t in np.linspace(0.0, 1.0, int(length * 3) + 2):
            cx = start.x() + (end.x() - start.x()) * t
            cy = start.y() + (end.y() - start.y()) * t
            distance = np.hypot(xs - cx, ys - cy)
            ink = np.clip(1.0 - (distance - self.brush_radius) / 0.8, 0.0, 1.0)
            np.maximum(self.grid, ink, out=self.grid)

    def _to_grid(self, position: QPointF) -> QPointF:
        h, w = self.grid.shape
        return QPointF(position.x() * w / max(1, self.width()), position.y() * h / max(1, self.height()))

    # -- mouse -----------------------------------------------------------------------------------

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._last = self._to_grid(event.position())
            self.stroke([self._last])

    def mouseMoveEvent(self, event) -> None:
        if self._last is not None:
            point = self._to_grid(event.position())
            self.stroke([self._last, point])
            self._last = point

    def mouseReleaseEvent(self, event) -> None:
        if self._last is not None and event.button() == Qt.MouseButton.LeftButton:
            self._last = None
            self.strokeFinished.emit()

    def paintEvent(self, event) -> None:
        # Shown as an image of these values is shown: the lower value dark, the higher light.
        brightness = self.grid if self.ink.light_on_dark else 1.0 - self.grid
        data = np.ascontiguousarray((255 * brightness).astype(np.uint8))
        image = QImage(data.data, data.shape[1], data.shape[0], data.strides[0], QImage.Format.Format_Grayscale8)
        painter = QPainter(self)
        painter.drawImage(self.rect(), image)
        painter.setPen(QColor("#90a4ae"))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        painter.end()
