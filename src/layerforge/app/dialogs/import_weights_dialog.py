"""[importWeightsDialog]: what importing a weights file would do, before it is done.

A headline (how many of the model's tensors the file gives, and how they were matched), a table
[importWeightsTable] of every tensor: the ones that did not match first (wrong shape, with both
shapes; missing from the file; not in the model), then the matched ones, and what the weights the
file does not give keep. Import [importWeightsApply] is disabled, with the reason, when nothing
matches. The dialog only shows a ``WeightsMatch``; the window's action applies it.
"""
from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

COLUMNS = ("Status", "Model weight", "In the file", "Shape in the model", "Shape in the file")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _shape(shape) -> str:
    return "" if shape is None else "[" + ", ".join(str(n) for n in shape) + "]"


def match_rows(result) -> list[tuple[str, str, str, str, str]]:
    """(status, model name, file name, model shape, file shape) for every tensor, problems first."""
    rows = [("Wrong shape", model, name, _shape(mine), _shape(theirs)) for model, name, mine, theirs in result.wrong_shape]
    rows += [("Missing from the file", name, "", _shape(shape), "") for name, shape in result.missing]
    rows += [("Not in the model", "", name, "", _shape(shape)) for name, shape in result.unexpected]
    rows += [("Matched", model, name, _shape(shape), _shape(shape)) for model, name, shape in result.matched]
    return rows


class ImportWeightsDialog(QDialog):
    """See the module docstring; accepted means "import them"."""

    def __init__(self, parent, result):
        super().__init__(parent)
        self.setObjectName("importWeightsDialog")
        self.setWindowTitle(f"Import weights from {result.path.name}")
        self.match = result
        self.headline = QLabel(self._headline_text())
        self.headline.setObjectName("importWeightsHeadline")
        self.headline.setWordWrap(True)
        font = QFont(self.headline.font())
        font.setBold(True)
        self.headline.setFont(font)
        self.explanation = QLabel(self._explanation_text())
        self.explanation.setObjectName("importWeightsExplanation")
        self.explanation.setWordWrap(True)
        self.table = self._make_table(match_rows(result))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.apply_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.apply_button.setObjectName("importWeightsApply")
        self.apply_button.setEnabled(result.any_matched)
        self.apply_button.setDefault(result.any_matched)
        if not result.any_matched:
            self.apply_button.setToolTip("No tensor of the file matches the model's weights by name or shape")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.explanation)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.buttons)
        self.table.setCurrentItem(None)   # nothing looks selected before the person picks a row
        self.apply_button.setFocus() if result.any_matched else None
        self.resize(760, 420)

    def _headline_text(self) -> str:
        result = self.match
        if not result.any_matched:
            return f"Nothing in {result.path.name} matches the model's weights"
        return f"{result.path.name}: {result.headline()}"

    def _explanation_text(self) -> str:
        result = self.match
        if not result.any_matched:
            return ("The file's tensors have other names and shapes than the model's (listed below). Import a "
                    "state dict saved from this model, e.g. by the PyTorch project Layerforge exports.")
        parts = []
        unmatched = len(result.missing) + len(result.wrong_shape)
        if unmatched:
            parts.append(f"The {_count(unmatched, 'weight')} the file does not give keep {result.kept}.")
        if result.unexpected:
            extra = len(result.unexpected)
            parts.append(f"{_count(extra, 'tensor')} of the file {'is' if extra == 1 else 'are'} not in the model "
                         "and left out.")
        parts.append("Importing adds a run, \u201cImported " + result.path.name + "\u201d: Predict and Export use its "
                     "weights, and Continue trains on from them. The earlier runs stay in the Runs list.")
        return " ".join(parts)

    def _make_table(self, rows) -> QTableWidget:
        table = QTableWidget(len(rows), len(COLUMNS), self)
        table.setObjectName("importWeightsTable")
        table.setHorizontalHeaderLabels(COLUMNS)
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setAlternatingRowColors(True)
        bold = QFont(table.font())
        bold.setBold(True)
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if values[0] != "Matched":
                    item.setFont(bold)
                if value:
                    item.setToolTip(value)
                table.setItem(row, column, item)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        return table

    def rows(self) -> list[tuple[str, ...]]:
        """The table as text, row by row (what a person reads)."""
        return [tuple(self.table.item(r, c).text() for c in range(self.table.columnCount()))
                for r in range(self.table.rowCount())]
