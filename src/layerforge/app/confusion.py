"""A confusion matrix as a small table: rows are true classes, columns predicted; darker is more."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from . import theme


class ConfusionMatrixView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("confusionMatrix")
        self.caption = QLabel("Confusion matrix (validation)\nrows: true class, columns: predicted")
        theme.follow(self.caption, lambda caption: caption.setStyleSheet(
            f"color: {theme.hex_color('text.caption')}; font-size: 9pt;"))
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        for header in (self.table.horizontalHeader(), self.table.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            header.setMinimumSectionSize(14)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)
        self.matrix: np.ndarray | None = None
        self.epoch: int | None = None
        self._shown = None  # (class names, counts) the table shows now
        self.setMaximumWidth(230)
        self.table.setMinimumWidth(60)
        theme.follow(self, ConfusionMatrixView._recolor_cells)

    def _recolor_cells(self) -> None:
        if self.matrix is None:
            return
        peak = max(1, int(self.matrix.max()))
        for row in range(self.table.rowCount()):
            for col in range(self.table.columnCount()):
                item = self.table.item(row, col)
                if item is not None:
                    _color_cell(item, row == col, int(self.matrix[row, col]) / peak)

    def set_matrix(self, matrix, class_names, epoch: int | None = None, kept: bool = False) -> None:
        """Show ``matrix`` (None: an empty table); ``epoch`` names the epoch it was measured after."""
        which = "" if epoch is None or matrix is None else f" · epoch {epoch}" + (" (kept)" if kept else "")
        self.caption.setText(f"Validation confusion{which}\nrows: true class, columns: predicted")
        self.epoch = None if matrix is None else epoch
        names = [str(n) for n in class_names]
        matrix = None if matrix is None else np.asarray(matrix)
        count = len(names) if matrix is None else int(matrix.shape[0])
        names = names if len(names) == count else [str(i) for i in range(count)]
        shown = (names, None if matrix is None else matrix.tolist())
        if shown == self._shown:
            return  # late in a run most epochs end with the same counts: keep the table as it is
        self._shown = shown
        self.table.setRowCount(count)
        self.table.setColumnCount(count)
        self.table.setHorizontalHeaderLabels(names)
        self.table.setVerticalHeaderLabels(names)
        self.matrix = matrix
        peak = 1 if self.matrix is None else max(1, int(self.matrix.max()))
        small = count > 6
        for row in range(count):
            for col in range(count):
                value = 0 if self.matrix is None else int(self.matrix[row, col])
                item = QTableWidgetItem("" if self.matrix is None else str(value))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                _color_cell(item, row == col, value / peak)
                if small:
                    font = item.font()
                    font.setPointSize(7)
                    item.setFont(font)
                self.table.setItem(row, col, item)

def _color_cell(item: QTableWidgetItem, diagonal: bool, shade: float) -> None:
    """Darker is more: from the theme's empty cell towards blue (right) or red (wrong), the count in
    whichever text colour reads on it."""
    color = theme.mix(theme.color("confusion.empty"), theme.color("confusion.right" if diagonal else "confusion.wrong"),
                      shade)
    item.setBackground(QBrush(color))
    item.setForeground(QBrush(theme.text_on(color)))
