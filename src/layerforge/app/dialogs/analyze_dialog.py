"""Model > Analyze [analyzeDialog]: every layer's output shape, parameters, activation memory and
FLOPs per sample [analyzeTable], the totals [analyzeTotals] and how FLOPs are counted, copyable as
text [copyTextButton] or CSV [copyCsvButton]; double-clicking a row selects its layer on the canvas.
The numbers are :mod:`layerforge.graph.analyze`'s, the same that ``layerforge analyze PROJECT``
prints; the table follows the model while the dialog is open.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ...graph.analyze import COLUMNS, FLOPS_NOTE, MEMORY_NOTE, ModelAnalysis, analyze, human_bytes
from ...workspace import events as ev
from .. import theme

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
NODE_ROLE = Qt.ItemDataRole.UserRole + 2
MAX_HEIGHT = 720   # px; a longer model scrolls


class _Item(QTableWidgetItem):
    """A cell that sorts by its value (bytes, counts), not by the text it shows ("4.0 KiB")."""

    def __lt__(self, other) -> bool:
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if mine is None or theirs is None:
            return self.text().casefold() < other.text().casefold()   # (QTableWidgetItem's would call back here)
        return mine < theirs


class AnalyzeDialog(QDialog):
    layerActivated = Signal(str)   # a row double-clicked (or Enter): that layer's node id

    def __init__(self, workspace, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("analyzeDialog")
        self.setWindowTitle("Analyze model")
        self.workspace = workspace
        self.analysis = ModelAnalysis()
        self.heading = QLabel()
        self.heading.setObjectName("analyzeHeading")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("analyzeTable")
        self.table.setHorizontalHeaderLabels(["Layer", "Type", "Output shape", "Parameters",
                                              "Activations / sample", "FLOPs / sample"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.itemActivated.connect(self._activated)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.totals = QLabel()
        self.totals.setObjectName("analyzeTotals")
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLabel(f"{FLOPS_NOTE}\n{MEMORY_NOTE}")
        self.note.setObjectName("analyzeNote")
        self.note.setWordWrap(True)
        self.problems = QLabel()
        self.problems.setObjectName("analyzeProblems")
        self.problems.setWordWrap(True)
        self.copy_text_button = QPushButton("Copy as text")
        self.copy_text_button.setObjectName("copyTextButton")
        self.copy_text_button.setToolTip("The table as aligned text, with its totals and notes")
        self.copy_text_button.clicked.connect(self.copy_text)
        self.copy_csv_button = QPushButton("Copy as CSV")
        self.copy_csv_button.setObjectName("copyCsvButton")
        self.copy_csv_button.setToolTip("The table as CSV (bytes and FLOPs as plain numbers), for a spreadsheet")
        self.copy_csv_button.clicked.connect(self.copy_csv)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.copy_text_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.copy_csv_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.heading, self.table, self.totals, self.note, self.problems, buttons):
            layout.addWidget(widget, 1 if widget is self.table else 0)
        self._listening = False
        theme.follow(self.problems, lambda label: label.setStyleSheet(f"color: {theme.hex_color('error.text')}"))
        self.refresh()
        self.resize(*self._natural_size())

    def _natural_size(self) -> tuple[int, int]:
        """Every column and, up to MAX_HEIGHT, every row in view."""
        width = sum(self.table.columnWidth(column) for column in range(self.table.columnCount()))
        rows = sum(self.table.rowHeight(row) for row in range(self.table.rowCount()))
        height = rows + self.table.horizontalHeader().height() + 180
        return min(max(width + 60, 560), 1000), min(max(height, 320), MAX_HEIGHT)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._listening:
            self._listening = True
            self.workspace.events.connect(self._model_changed, ev.ModelChanged)
            self.refresh()

    def done(self, result: int) -> None:
        self._stop_listening()
        super().done(result)

    def _stop_listening(self) -> None:
        if self._listening:
            self._listening = False
            try:
                self.workspace.events.disconnect(self._model_changed)
            except ValueError:   # the window closed and dropped every subscription already
                pass

    def _model_changed(self, event) -> None:
        if event.structure_changed and self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        workspace = self.workspace
        self.analysis = analysis = analyze(workspace.spec, workspace.report)
        self.heading.setText(f"<b>{_escape(workspace.name)}</b>: {len(analysis.layers)} layers, per sample "
                             f"(batch size 1)")
        sorting = self.table.isSortingEnabled()
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(analysis.layers))
        for row, layer in enumerate(analysis.layers):
            cells = ((layer.name, None), (layer.type, None), (layer.shape_text, None),
                     (f"{layer.params:,}", layer.params), (human_bytes(layer.activation_bytes), layer.activation_bytes),
                     ("?" if layer.flops is None else f"{layer.flops:,}", -1 if layer.flops is None else layer.flops))
            for column, (text, value) in enumerate(cells):
                item = _Item(text)
                item.setData(NODE_ROLE, layer.node_id)
                if value is not None:
                    item.setData(SORT_ROLE, value)
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if layer.error:
                    item.setToolTip(layer.error)
                self.table.setItem(row, column, item)
        self.table.setSortingEnabled(True)
        self.table.setCurrentCell(-1, -1)   # no cell marked until one is clicked
        if not sorting:
            self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)   # model order until a header is clicked
        flops = f"{analysis.total_flops:,}" + (" (+ layers without a count)" if analysis.uncounted else "")
        self.totals.setText(f"<b>Total</b>: {analysis.total_params:,} trainable parameters "
                            f"({human_bytes(analysis.total_params * 4)}), {human_bytes(analysis.total_activation_bytes)} "
                            f"of activations and {flops} FLOPs per sample")
        problems = list(analysis.errors)
        if analysis.uncounted:
            problems.append(f"No FLOPs count for: {', '.join(analysis.uncounted)}.")
        self.problems.setText("\n".join(problems))
        self.problems.setVisible(bool(problems))

    def _activated(self, item: QTableWidgetItem) -> None:
        node_id = item.data(NODE_ROLE)
        if node_id:
            self.layerActivated.emit(node_id)

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(self.analysis.text())

    def copy_csv(self) -> None:
        QGuiApplication.clipboard().setText(self.analysis.csv())


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
