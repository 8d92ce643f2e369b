"""Icons and colours per layer category, read from the shipped SVGs in resources/icons/."""
from __future__ import annotations

import functools
from importlib import resources

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QColor, QIcon, QPixmap, QPainter
from PySide6.QtSvg import QSvgRenderer

# Activations were red, the colour that means "error" on the canvas (a failing node's header and border):
# a dark gold instead, with white header text at 4.9:1.
ACTIVATION_COLOR = "#8c6d00"
# One colour per category; node headers and palette icons share it so a layer looks the same everywhere.
CATEGORY_COLORS = {
    "Input/Output": "#2e7d32", "Dense": "#1565c0", "Convolution": "#6a1b9a", "Pooling": "#ad1457",
    "Recurrent": "#ef6c00", "Attention": "#3949ab", "Normalization": "#00838f", "Activation": ACTIVATION_COLOR,
    "Regularization": "#5d4037", "Reshape": "#455a64", "Merge": "#827717",
}


def icon_file_name(category: str) -> str:
    """``"Input/Output"`` -> ``"input-output.svg"``."""
    return category.lower().replace("/", "-").replace(" ", "-") + ".svg"


@functools.lru_cache(maxsize=None)
def svg_bytes(name: str) -> bytes:
    # One name per joinpath: Python 3.11's MultiplexedPath (what a PyInstaller bundle hands back) takes one.
    path = resources.files("layerforge.resources").joinpath("icons")
    for part in name.split("/"):
        path = path.joinpath(part)
    return path.read_bytes()


def _render(name: str, size: int) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg_bytes(name)))
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    renderer.render(painter)
    painter.end()
    return pixmap


@functools.lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    """An icon from resources/icons/<name> (rendered at several sizes so it stays sharp)."""
    result = QIcon()
    for size in (16, 24, 32, 48):
        result.addPixmap(_render(name, size))
    return result


def category_icon(category: str) -> QIcon:
    return icon(icon_file_name(category))


def category_pixmap(category: str, size: int = 16) -> QPixmap:
    return _render(icon_file_name(category), size)


def category_color(category: str) -> QColor:
    return QColor(CATEGORY_COLORS.get(category, "#607d8b"))


def app_icon() -> QIcon:
    """The same icon the desktop entry and the bundle carry (resources/icons/app/)."""
    return icon("app/layerforge.svg")
