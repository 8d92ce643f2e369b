"""A picture of each shipped example, drawn from the example itself when it is asked for: its data on
top (the points by class, the curve, a few images or sequences) and a miniature of its model below
(one block per layer in its category's colour, a skip connection as an arc), in the theme's colours.

Drawn rather than shipped as PNGs, so a picture can never disagree with the example it shows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPixmap

from ..data import DataError, load_dataset
from ..graph import SpecError, get_layer
from ..training import ProjectError, example_project_path, load_project
from . import theme
from .class_colors import class_color
from .icons import category_color

WIDTH, HEIGHT, STRIP = 240, 150, 34


@dataclass
class Example:
    name: str
    line: str          # one line that says what the example does
    description: str   # the whole description and its layers (a tooltip)
    picture: QPixmap


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    end = text.find(". ")
    return text if end < 0 else text[:end + 1]


_cache: dict[tuple[str, str], Example] = {}


def example(name: str) -> Example:
    """The example ``name`` with its one line and its picture (drawn once per theme)."""
    key = (name, theme.name())
    if key not in _cache:
        try:
            project, _weights = load_project(example_project_path(name))
        except ProjectError as error:
            _cache[key] = Example(name, f"{name}: cannot be read ({error})", str(error), _blank())
        else:
            description = project.description or name
            layers = " → ".join(node.type for node in _in_order(project.spec))
            _cache[key] = Example(name, _first_sentence(description), f"{description}\n\nLayers: {layers}",
                                  _draw(project))
    return _cache[key]


def _blank() -> QPixmap:
    pixmap = QPixmap(WIDTH, HEIGHT)
    pixmap.fill(theme.color("chart.background"))
    return pixmap


def _draw(project) -> QPixmap:
    pixmap = _blank()
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    data_area = QRectF(8, 6, WIDTH - 16, HEIGHT - STRIP - 12)
    try:
        source = project.data_source
        dataset = load_dataset(source["name"], **source.get("options", {})) if source.get("kind") == "builtin" else None
    except (DataError, KeyError, TypeError):
        dataset = None
    if dataset is not None:
        _draw_data(painter, data_area, dataset)
    painter.setPen(QPen(theme.color("panel.border"), 1))
    painter.drawLine(QPointF(8, HEIGHT - STRIP - 2), QPointF(WIDTH - 8, HEIGHT - STRIP - 2))
    _draw_model(painter, QRectF(8, HEIGHT - STRIP + 2, WIDTH - 16, STRIP - 6), project.spec)
    painter.end()
    return pixmap


# -- the data ------------------------------------------------------------------------------------

def _draw_data(painter: QPainter, area: QRectF, dataset) -> None:
    kind = dataset.kind
    if kind == "images":
        _draw_images(painter, area, dataset)
    elif kind == "sequence":
        _draw_sequences(painter, area, dataset)
    elif dataset.x.ndim == 2 and dataset.x.shape[1] == 2 and dataset.task == "classification":
        _draw_points(painter, area, dataset.x, dataset.y)
    elif dataset.x.ndim == 2 and dataset.x.shape[1] == 1 and dataset.task == "regression":
        _draw_curve(painter, area, dataset.x[:, 0], dataset.y[:, 0])


def _scale(values: np.ndarray, low: float, high: float) -> np.ndarray:
    lo, hi = float(np.min(values)), float(np.max(values))
    return np.full_like(values, (low + high) / 2, dtype=np.float64) if hi <= lo else low + (values - lo) / (hi - lo) * (high - low)


def _draw_points(painter: QPainter, area: QRectF, x: np.ndarray, y: np.ndarray) -> None:
    side = min(area.width(), area.height())
    square = QRectF(area.center().x() - side / 2, area.top(), side, side)
    px = _scale(x[:, 0], square.left() + 3, square.right() - 3)
    py = _scale(-x[:, 1], square.top() + 3, square.bottom() - 3)
    painter.setPen(Qt.PenStyle.NoPen)
    for label in np.unique(y):
        painter.setBrush(class_color(int(label)))
        for cx, cy in zip(px[y == label], py[y == label]):
            painter.drawEllipse(QPointF(cx, cy), 2.2, 2.2)


def _draw_curve(painter: QPainter, area: QRectF, x: np.ndarray, y: np.ndarray) -> None:
    order = np.argsort(x)
    px = _scale(x[order], area.left() + 4, area.right() - 4)
    py = _scale(-y[order], area.top() + 4, area.bottom() - 4)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(theme.color("chart.data"))
    for cx, cy in zip(px, py):
        painter.drawEllipse(QPointF(cx, cy), 1.8, 1.8)


def _one_per_class(y: np.ndarray, count: int) -> list[int]:
    chosen: list[int] = []
    for label in np.unique(y):
        chosen.append(int(np.flatnonzero(y == label)[0]))
    return chosen[:count]


def _draw_images(painter: QPainter, area: QRectF, dataset) -> None:
    picks = _one_per_class(dataset.y, 10) if dataset.task == "classification" else list(range(10))
    columns = 5
    rows = (len(picks) + columns - 1) // columns
    cell = min((area.width() - 4 * (columns - 1)) / columns, (area.height() - 4 * (rows - 1)) / rows)
    left = area.center().x() - (columns * cell + 4 * (columns - 1)) / 2
    for index, sample in enumerate(picks):
        image = np.asarray(dataset.x[sample], dtype=np.float32)
        image = image[0] if image.ndim == 3 else image
        scaled = np.ascontiguousarray((_scale(image, 0, 255)).astype(np.uint8))
        qimage = QImage(scaled.data, scaled.shape[1], scaled.shape[0], scaled.strides[0],
                        QImage.Format.Format_Grayscale8).copy()
        target = QRectF(left + (index % columns) * (cell + 4), area.top() + (index // columns) * (cell + 4), cell, cell)
        painter.drawImage(target, qimage)


def _draw_sequences(painter: QPainter, area: QRectF, dataset) -> None:
    picks = _one_per_class(dataset.y, 4) if dataset.task == "classification" else [0, 1, 2]
    band = area.height() / max(len(picks), 1)
    for row, sample in enumerate(picks):
        values = np.asarray(dataset.x[sample], dtype=np.float64).reshape(dataset.x.shape[1], -1)[:, 0]
        px = _scale(np.arange(len(values), dtype=np.float64), area.left() + 2, area.right() - 2)
        py = _scale(-values, area.top() + row * band + 3, area.top() + (row + 1) * band - 3)
        path = QPainterPath(QPointF(px[0], py[0]))
        for cx, cy in zip(px[1:], py[1:]):
            path.lineTo(cx, cy)
        label = int(dataset.y[sample]) if dataset.task == "classification" else row
        painter.setPen(QPen(class_color(label), 1.6))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)


# -- the model -----------------------------------------------------------------------------------

def _in_order(spec) -> list:
    """The layers left to right as they sit on the canvas."""
    return sorted(spec.nodes.values(), key=lambda node: (node.position[0], node.position[1]))


def _draw_model(painter: QPainter, area: QRectF, spec) -> None:
    nodes = _in_order(spec)
    if not nodes:
        return
    gap = 3.0
    width = min(26.0, (area.width() - gap * (len(nodes) - 1)) / len(nodes))
    total = len(nodes) * width + gap * (len(nodes) - 1)
    left = area.center().x() - total / 2
    block_top, block_height = area.top() + 10, area.height() - 12
    boxes = {node.id: QRectF(left + index * (width + gap), block_top, width, block_height)
             for index, node in enumerate(nodes)}
    order = {node.id: index for index, node in enumerate(nodes)}
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(theme.color("edge.line"), 1.2))
    for edge in spec.edges:
        if edge.source in boxes and edge.target in boxes and order[edge.target] - order[edge.source] > 1:
            start, end = boxes[edge.source], boxes[edge.target]   # a skip connection: an arc above the chain
            path = QPainterPath(QPointF(start.center().x(), start.top()))
            path.cubicTo(QPointF(start.center().x(), area.top()), QPointF(end.center().x(), area.top()),
                         QPointF(end.center().x(), end.top()))
            painter.drawPath(path)
    painter.setPen(Qt.PenStyle.NoPen)
    for node in nodes:
        try:
            fill = category_color(get_layer(node.type).category)
        except SpecError:   # a layer type this version does not know: drawn grey
            fill = QColor("#607d8b")
        painter.setBrush(fill)
        painter.drawRoundedRect(boxes[node.id], 3, 3)
