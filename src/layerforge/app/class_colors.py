"""One colour per class, shared by every view that colours by class (boundary, points, sequences,
the data panel's thumbnail), so a class looks the same everywhere."""
from __future__ import annotations

from PySide6.QtGui import QColor

CLASS_COLORS = ["#1e88e5", "#e53935", "#43a047", "#fb8c00", "#8e24aa", "#00acc1", "#6d4c41", "#d81b60",
                "#7cb342", "#3949ab"]


def class_color(index: int) -> QColor:
    return QColor(CLASS_COLORS[int(index) % len(CLASS_COLORS)])
