"""File > Export diagram: the model on the canvas as an SVG or a PNG, for a paper or slides.

Only the model is drawn: its layers, wires and the shapes on them, in the light theme on white (what
prints well and reads on a projector, whichever theme the window shows), without the canvas's
background, the selection, focus, or the health badges of a run. The PNG is drawn at twice the
canvas's size. Both are written beside the target and renamed into place (``layerforge.atomic``).
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator

from ... import atomic
from .. import theme
from .edge_item import EdgeItem
from .health_badge import HealthBadge, HealthCard, UnitMapsItem
from .node_item import NodeItem

MARGIN = 24.0        # scene units of white around the model
PNG_SCALE = 2        # pixels per scene unit in the PNG
FORMATS = {".svg": "SVG", ".png": "PNG"}
HIDDEN_TYPES = (HealthBadge, HealthCard, UnitMapsItem)


class DiagramError(Exception):
    """The diagram could not be written; the message names the file and why."""


def model_rect(scene) -> QRectF:
    """The part of the scene the model covers (nodes, wires and their labels), with a margin."""
    rect = QRectF()
    for item in scene.items():
        if isinstance(item, (NodeItem, EdgeItem)) or _is_edge_label(item):
            if item.isVisible():
                rect = rect.united(item.sceneBoundingRect())
    return rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN) if not rect.isNull() else rect


def _is_edge_label(item) -> bool:
    return any(getattr(edge, "_label_back", None) is item for edge in getattr(item.scene(), "edges", {}).values())


@contextmanager
def clean_scene(scene):
    """The scene as a figure shows it, for the time of the block: light theme, white, nothing
    selected or focused, no run overlays; everything put back after."""
    selected = [item for item in scene.selectedItems()]
    focus = scene.focusItem()
    hidden = [item for item in scene.items() if isinstance(item, HIDDEN_TYPES) and item.isVisible()]
    previous_theme = theme.name()
    background = scene.backgroundBrush()
    try:
        theme.set_theme("light")
        for item in selected:
            item.setSelected(False)
        scene.clearFocus()
        for item in hidden:
            item.setVisible(False)
        scene.setBackgroundBrush(QColor("#ffffff"))
        yield scene
    finally:
        for item in hidden:
            item.setVisible(True)
        theme.set_theme(previous_theme)
        scene.setBackgroundBrush(background)
        for item in selected:
            item.setSelected(True)
        if focus is not None:
            focus.setFocus()


def export_diagram(scene, path, title: str = "") -> Path:
    """Write the model in ``scene`` to ``path``: SVG for a .svg name, PNG for .png; returns the path.

    DiagramError for another suffix, an empty model, or a file that cannot be written.
    """
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DiagramError(f"{path.name}: a diagram is saved as .svg or .png; choose one of those endings")
    with clean_scene(scene):
        source = model_rect(scene)
        if source.isEmpty():
            raise DiagramError("the canvas is empty: add layers to draw a diagram")
        write = _svg_writer(scene, source, title) if kind == "SVG" else _png_writer(scene, source)
        try:
            atomic.write_with(path, write, suffix=path.suffix)
        except OSError as error:
            raise DiagramError(f"{path}: could not be written ({error.strerror or error})") from None
    return path


def _svg_writer(scene, source: QRectF, title: str):
    def write(temporary: Path) -> None:
        generator = QSvgGenerator()
        generator.setFileName(str(temporary))
        size = QSize(round(source.width()), round(source.height()))
        generator.setSize(size)
        generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
        generator.setTitle(title or "Layerforge model")
        generator.setDescription("A model drawn by Layerforge")
        painter = QPainter()
        if not painter.begin(generator):
            raise OSError(f"cannot write SVG to {temporary}")
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
            scene.render(painter, QRectF(0, 0, size.width(), size.height()), source)
        finally:
            painter.end()
        if not temporary.exists() or temporary.stat().st_size == 0:
            raise OSError(f"nothing was written to {temporary}")
    return write


def _png_writer(scene, source: QRectF):
    def write(temporary: Path) -> None:
        image = QImage(round(source.width()) * PNG_SCALE, round(source.height()) * PNG_SCALE,
                       QImage.Format.Format_ARGB32_Premultiplied)
        if image.isNull():
            raise OSError("the image is too large to draw")
        image.fill(QColor("#ffffff"))
        painter = QPainter(image)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            scene.render(painter, QRectF(0, 0, image.width(), image.height()), source,
                         Qt.AspectRatioMode.KeepAspectRatio)
        finally:
            painter.end()
        if not image.save(str(temporary), "PNG"):
            raise OSError("the PNG encoder failed")
    return write


def png_size(scene) -> QSize:
    """The pixel size ``export_diagram`` gives a PNG of ``scene`` now."""
    with clean_scene(scene):
        rect = model_rect(scene)
    return QSize(round(rect.width()) * PNG_SCALE, round(rect.height()) * PNG_SCALE)
