"""A confusion matrix as a small table: rows are true classes, columns predicted; darker is more.

A class name longer than its header has room for is elided ("rising saw…"), never cut, and the
header's tooltip gives it in full. Where the columns are too narrow for a readable part of every
name, the classes are numbered in both headers and a legend under the table names the numbers.

A cell shows its count; where the largest count is wider than the cells (MNIST's 1,000 images a
class in a narrow column), every cell shows its share of its true class in percent instead, the
caption says so, and the tooltip keeps the count.

A cell is a way in to its samples: clicking it, or Enter on the cell with the keyboard focus, emits
``cellActivated(true, predicted)`` (``app.cell_errors`` lists them)."""
from __future__ import annotations

import html
import re

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QFontMetrics
from PySide6.QtWidgets import QHeaderView, QLabel, QStyle, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from . import theme


MIN_SHOWN = 3     # characters of an elided class name that still say which class it is
LEGEND_LINES = 6  # classes the legend lists one per line
SMALL_POINTS = 6   # the type of a matrix of shares too narrow for two digits in the usual 7 pt
PERFECT = "✓"      # a cell that holds all of its true class, where shares are shown


class ConfusionMatrixView(QWidget):
    cellActivated = Signal(int, int)   # (true class, predicted class) of a cell clicked or entered

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("confusionMatrix")
        self.caption = QLabel("Confusion matrix (validation)\nrows: true class, columns: predicted")
        theme.follow(self.caption, lambda caption: caption.setStyleSheet(
            f"color: {theme.hex_color('text.caption')}; font-size: 9pt;"))
        self.caption.setWordWrap(True)   # a narrow column wraps the caption instead of cutting it
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setTabKeyNavigation(False)   # Tab leaves the table instead of walking its cells forever
        self.table.setAccessibleName("Confusion matrix: click a cell, or press Enter on it, to list its samples")
        self.table.cellClicked.connect(self.cellActivated)
        self.table.installEventFilter(self)
        for header in (self.table.horizontalHeader(), self.table.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            header.setMinimumSectionSize(14)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)
        self.legend = QLabel()
        self.legend.setObjectName("confusionLegend")
        self.legend.setWordWrap(True)
        self.legend.setVisible(False)
        theme.follow(self.legend, lambda legend: legend.setStyleSheet(
            f"color: {theme.hex_color('text.caption')}; font-size: 8pt;"))
        layout.addWidget(self.legend)
        self.matrix: np.ndarray | None = None
        self.epoch: int | None = None
        self._shown = None  # (class names, counts) the table shows now
        self.percent = False   # the cells show each one's share of its true class, not its count
        self._cells_fitted = None   # (what the cells show, their type size) as last fitted
        self._caption_head = ""
        self.setMaximumWidth(340)   # room for class names on a large screen; a small one numbers them
        self.table.setMinimumWidth(60)
        theme.follow(self, ConfusionMatrixView._recolor_cells)
        self.names: list[str] = []
        # Owned by the view, so it never fires for a view that is gone (a closed window's).
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)
        self._fit_timer.timeout.connect(self._fit_headers)
        self.table.horizontalHeader().sectionResized.connect(self._fit_headers_later)

    def eventFilter(self, watched, event) -> bool:
        if (watched is self.table and event.type() == QEvent.Type.KeyPress
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.table.currentRow() >= 0
                and self.table.currentColumn() >= 0):
            self.cellActivated.emit(self.table.currentRow(), self.table.currentColumn())
            return True
        return super().eventFilter(watched, event)

    def cell_rect(self, true: int, predicted: int):
        """Where the cell of ``true`` and ``predicted`` is drawn, in the table's viewport."""
        return self.table.visualItemRect(self.table.item(true, predicted))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_headers_later()

    @property
    def fit_pending(self) -> bool:
        """The headers wait to be fitted to a size that changed."""
        return self._fit_timer.isActive()

    def _fit_headers_later(self, *_) -> None:
        # Header texts change the headers' widths, which resize the sections: fit once, after the layout.
        self._fit_timer.start()

    def _fit_headers(self) -> None:
        """Each class name as much of it as its header shows, elided, with the full name as tooltip.
        Row names may take up to 40% of the width; column names get their column's width. Columns
        too narrow for a readable part of every name number the classes instead (both headers), and
        the legend names the numbers."""
        columns, rows = self.table.horizontalHeader(), self.table.verticalHeader()
        elide = Qt.TextElideMode.ElideRight
        if self.legend.isVisible():   # the room the names would have without the numbers' narrow row header
            room = (self.table.viewport().width() + rows.width()) - self._named_row_width()
            widths = [room / max(len(self.names), 1)] * len(self.names)
        else:
            widths = [columns.sectionSize(i) for i in range(len(self.names))]
        fitted = [columns.fontMetrics().elidedText(name, elide, max(int(width) - 8, 1))
                  for name, width in zip(self.names, widths)]
        numbered = any(text != name and len(text.rstrip("…")) < MIN_SHOWN for text, name in zip(fitted, self.names))
        row_room = self._row_room()
        for index, name in enumerate(self.names):
            number = str(index + 1)
            row_text = number if numbered else rows.fontMetrics().elidedText(name, elide, row_room)
            column_text = number if numbered else fitted[index]
            for text, put, get in ((column_text, self.table.setHorizontalHeaderItem, self.table.horizontalHeaderItem),
                                   (row_text, self.table.setVerticalHeaderItem, self.table.verticalHeaderItem)):
                item = get(index)
                if item is None or item.text() != text or item.toolTip() != name:
                    item = QTableWidgetItem(text)
                    item.setToolTip(name)
                    put(index, item)
        # A few classes one per line; many run on, or the legend would push the table out of sight.
        joint = "<br>" if len(self.names) <= LEGEND_LINES else " · "
        legend = joint.join(f"<b>{i + 1}</b>&nbsp;{html.escape(name)}" for i, name in enumerate(self.names))
        if numbered and self.legend.text() != legend:
            self.legend.setText(legend)
        if numbered != self.legend.isVisible():
            self.legend.setVisible(numbered)
        self._fit_cells()

    def _fit_cells(self, force: bool = False) -> None:
        """Counts where the largest fits its cell, else each cell's share of its row in percent (in a
        smaller type where "100" needs it); where not even that fits, the colours alone (and the
        tooltips) tell, rather than an "…" in every cell."""
        count = self.table.columnCount()
        if (self.matrix is None or count == 0 or self.matrix.shape[0] != count
                or any(self.table.item(r, c) is None for r in range(count) for c in range(count))):
            return   # set_matrix is filling the table: it fits the cells when it is done
        # What the style leaves a cell's text (Qt's item views keep a focus-frame margin each side).
        margin = 2 * (self.table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self.table) + 1)
        room = min(self.table.visualItemRect(self.table.item(0, c)).width() for c in range(count)) - margin
        font = self.table.item(0, 0).font()
        base = font.pointSize() if font.pointSize() > 0 else 9
        totals = np.maximum(self.matrix.sum(axis=1, keepdims=True), 1)
        shares = np.rint(100.0 * self.matrix / totals).astype(int)
        shares[(shares == 100) & (self.matrix < totals)] = 99   # "100" only where every one is there
        mode = "blank"
        partial = shares[shares < 100]   # a class all right reads "✓", narrower than "100"
        widest_share = str(int(partial.max())) if partial.size else PERFECT
        for candidate, widest, size in (("counts", str(int(self.matrix.max())), base), ("percent", widest_share, base),
                                        ("percent", widest_share, min(base, SMALL_POINTS))):
            font.setPointSize(size)
            if room > 0 and QFontMetrics(font).horizontalAdvance(widest) <= room:
                mode = candidate
                break
        state = (mode, font.pointSize())
        if state == self._cells_fitted and not force:
            return
        self._cells_fitted = state
        self.percent = mode != "counts"
        for row in range(count):
            for col in range(count):
                item = self.table.item(row, col)
                item.setFont(font)
                item.setText("" if mode == "blank" else _cell_text(int(self.matrix[row, col]), int(shares[row, col]),
                                                                    self.percent))
        self._show_caption()

    def _show_caption(self) -> None:
        mode = (self._cells_fitted or ("counts",))[0]
        columns = {"counts": "columns: predicted", "percent": f"columns: predicted; cells: % of the row, {PERFECT} all (hover: count)",
                   "blank": "columns: predicted; darker is more (hover: count)"}[mode]
        self.caption.setText(f"{self._caption_head}\nrows: true class, {columns}")

    def _row_room(self) -> int:
        return max(24, int(0.4 * self.width()) - 8)

    def _named_row_width(self) -> int:
        """How wide the row header is with the class names in it (elided to their room)."""
        rows = self.table.verticalHeader()
        widest = max((rows.fontMetrics().horizontalAdvance(name) for name in self.names), default=0)
        return min(widest, self._row_room()) + 12

    def legend_text(self) -> str:
        """The legend's words (empty while the headers name the classes themselves)."""
        if not self.legend.isVisible():
            return ""
        lines = self.legend.text().replace("<br>", "\n")
        return html.unescape(re.sub(r"<[^>]+>", "", lines)).replace("\xa0", " ")

    def _recolor_cells(self) -> None:
        if self.matrix is None:
            return
        peak = max(1, int(self.matrix.max()))
        for row in range(self.table.rowCount()):
            for col in range(self.table.columnCount()):
                item = self.table.item(row, col)
                if item is not None:
                    _color_cell(item, row == col, int(self.matrix[row, col]) / peak)

    def header_texts(self, orientation: str = "columns") -> list[tuple[str, str]]:
        """(shown text, tooltip) of each class's column (or row) header."""
        get = self.table.horizontalHeaderItem if orientation == "columns" else self.table.verticalHeaderItem
        return [(get(i).text(), get(i).toolTip()) for i in range(len(self.names)) if get(i) is not None]

    def set_matrix(self, matrix, class_names, epoch: int | None = None, kept: bool = False) -> None:
        """Show ``matrix`` (None: an empty table); ``epoch`` names the epoch it was measured after."""
        which = "" if epoch is None or matrix is None else f" · epoch {epoch}" + (" (kept)" if kept else "")
        self._caption_head = f"Validation confusion{which}"
        if matrix is None:
            self._cells_fitted = None   # an empty table: no cells to read
        self._show_caption()
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
        self.names = names
        self._fit_headers()
        self.matrix = matrix
        peak = 1 if self.matrix is None else max(1, int(self.matrix.max()))
        small = count > 6
        for row in range(count):
            for col in range(count):
                value = 0 if self.matrix is None else int(self.matrix[row, col])
                item = QTableWidgetItem("" if self.matrix is None else str(value))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if self.matrix is not None:
                    item.setToolTip(f"{value:,} sample{'s' if value != 1 else ''} of class {names[row]} predicted as "
                                    f"{names[col]}: click to list {'them' if value != 1 else 'it'}")
                _color_cell(item, row == col, value / peak)
                if small:
                    font = item.font()
                    font.setPointSize(7)
                    item.setFont(font)
                self.table.setItem(row, col, item)
        self._fit_cells(force=True)


def _cell_text(count: int, share: int, percent: bool) -> str:
    if not percent:
        return str(count)
    return PERFECT if share == 100 else str(share)


def _color_cell(item: QTableWidgetItem, diagonal: bool, shade: float) -> None:
    """Darker is more: from the theme's empty cell towards blue (right) or red (wrong), the count in
    whichever text colour reads on it."""
    color = theme.mix(theme.color("confusion.empty"), theme.color("confusion.right" if diagonal else "confusion.wrong"),
                      shade)
    item.setBackground(QBrush(color))
    item.setForeground(QBrush(theme.text_on(color)))
