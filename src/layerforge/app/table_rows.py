"""Rows of a table of numbers as a person reads them: a header per column, values to four
significant digits, and (for predictions) a predicted column in green when right, red when wrong.
The target (or the prediction) comes first, where a narrow table still shows it; a value is never
cut, a long column name is elided with the full name in its tooltip.

The data panel shows a table's first rows in it; the prediction view lists a table classifier's
rows with what the model made of each.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from . import theme


MAX_COLUMNS = 40   # feature columns listed; a wider table (pixels of an image as a CSV) says how many more


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
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.horizontalHeader().setTextElideMode(Qt.TextElideMode.ElideRight)
        if point_size:
            font = self.font()
            font.setPointSize(point_size)
            self.setFont(font)
            for header in (self.horizontalHeader(), self.verticalHeader()):
                header.setFont(font)
            self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 2)
        self._shown = None   # the last show_rows arguments, shown again in a new theme's colours
        theme.follow(self, RowTable._recolor)

    def _recolor(self) -> None:
        if self._shown is not None:
            self.show_rows(*self._shown)

    def show_rows(self, x: np.ndarray, names: list[str], row_labels: list[str] | None = None,
                  extra: list[tuple[str, list[str], list[bool | None]]] = ()) -> None:
        """``x`` (R, F) numbers under ``names``, after each ``extra`` column (header, texts, and per
        row True/False to colour it right/wrong, or None to leave it plain)."""
        self._shown = (x, names, row_labels, extra)
        x = np.asarray(x).reshape(len(x), -1)
        rows, features = x.shape
        names = list(names)
        if features > MAX_COLUMNS:
            names = names[:MAX_COLUMNS] + [f"… {features - MAX_COLUMNS:,} more columns"]
            x, features = x[:, :MAX_COLUMNS], MAX_COLUMNS
        first = len(extra)
        self.clear()
        self.setRowCount(rows)
        self.setColumnCount(first + len(names))
        for col, header in enumerate([header for header, _, _ in extra] + names):
            item = QTableWidgetItem(header)
            item.setToolTip(header)
            self.setHorizontalHeaderItem(col, item)
        self.setVerticalHeaderLabels(row_labels if row_labels is not None else [str(i + 1) for i in range(rows)])
        for row in range(rows):
            for offset, (_, texts, marks) in enumerate(extra):
                self._put(row, offset, texts[row], marks[row])
            for col in range(features):
                self._put(row, first + col, number_text(x[row, col]), None)
        self._fit_columns()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Every column as wide as its values; as wide as its name too where the view has room for all
        the names, else a fair share of the view (the name elided, never the values)."""
        count = self.columnCount()
        if not count:
            return
        pad = 14
        values = [max([self.fontMetrics().horizontalAdvance(self.cell_text(r, c)) for r in range(self.rowCount())]
                      or [0]) + pad for c in range(count)]
        header = self.horizontalHeader()
        names = [header.fontMetrics().horizontalAdvance(text) + pad for text in self.header_texts()]
        room = max(self.viewport().width(), 1)
        natural = [max(v, n) for v, n in zip(values, names)]
        share = room / count
        widths = natural if sum(natural) <= room else [max(v, min(n, share)) for v, n in zip(values, names)]
        for col, width in enumerate(widths):
            if header.sectionSize(col) != int(width):
                header.resizeSection(col, int(width))

    def _put(self, row: int, col: int, text: str, right: bool | None) -> None:
        item = QTableWidgetItem(text)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setToolTip(f"{self.horizontalHeaderItem(col).text()}: {text}")
        if right is not None:
            item.setForeground(QBrush(theme.color("label.right" if right else "label.wrong")))
            font = item.font()
            font.setBold(not right)
            item.setFont(font)
        self.setItem(row, col, item)

    def header_texts(self) -> list[str]:
        items = [self.horizontalHeaderItem(c) for c in range(self.columnCount())]
        return [item.text() if item is not None else "" for item in items]

    def cell_text(self, row: int, col: int) -> str:
        item = self.item(row, col)
        return item.text() if item is not None else ""
