"""Rows of a table of numbers as a person reads them: a header per column, values to four
significant digits, and (for predictions) a predicted column in green when right, red when wrong.

The data panel shows a table's first rows in it; the prediction view lists a table classifier's
rows with what the model made of each.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from .class_colors import RIGHT_COLOR, WRONG_COLOR


def number_text(value) -> str:
    value = float(value)
    return f"{value:.4g}" if np.isfinite(value) else str(value)


def column_names(feature_names, count: int) -> list[str]:
    """The features' own names where the data has them (a CSV header), else x1, x2, ..."""
    names = [str(name) for name in feature_names]
    return names if len(names) == count else [f"x{i + 1}" for i in range(count)]


class RowTable(QTableWidget):
    """A read-only table; ``show_rows`` replaces what it shows."""

    def __init__(self, object_name: str, point_size: int = 0, parent=None):
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setTabKeyNavigation(False)   # Tab moves on to the next control, not around the cells
        self.setWordWrap(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 4)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        if point_size:
            font = self.font()
            font.setPointSize(point_size)
            self.setFont(font)
            for header in (self.horizontalHeader(), self.verticalHeader()):
                header.setFont(font)
            self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 2)

    def show_rows(self, x: np.ndarray, names: list[str], row_labels: list[str] | None = None,
                  extra: list[tuple[str, list[str], list[bool | None]]] = ()) -> None:
        """``x`` (R, F) numbers under ``names``; then each ``extra`` column (header, texts, and per
        row True/False to colour it right/wrong, or None to leave it plain)."""
        x = np.asarray(x).reshape(len(x), -1)
        rows, features = x.shape
        self.clear()
        self.setRowCount(rows)
        self.setColumnCount(features + len(extra))
        self.setHorizontalHeaderLabels(list(names) + [header for header, _, _ in extra])
        self.setVerticalHeaderLabels(row_labels if row_labels is not None else [str(i + 1) for i in range(rows)])
        for row in range(rows):
            for col in range(features):
                self._put(row, col, number_text(x[row, col]), None)
            for offset, (_, texts, marks) in enumerate(extra):
                self._put(row, features + offset, texts[row], marks[row])

    def _put(self, row: int, col: int, text: str, right: bool | None) -> None:
        item = QTableWidgetItem(text)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setToolTip(f"{self.horizontalHeaderItem(col).text()}: {text}")
        if right is not None:
            item.setForeground(QBrush(QColor(RIGHT_COLOR if right else WRONG_COLOR)))
            font = item.font()
            font.setBold(not right)
            item.setFont(font)
        self.setItem(row, col, item)

    def header_texts(self) -> list[str]:
        return [self.horizontalHeaderItem(c).text() for c in range(self.columnCount())]

    def cell_text(self, row: int, col: int) -> str:
        item = self.item(row, col)
        return item.text() if item is not None else ""
