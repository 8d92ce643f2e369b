"""The Runs panel [runsList] (issue #16): every run of the project with its best metric, epochs and
time. Select two or more to overlay their curves on the charts; exactly two also list what changed
between them (model, data, settings). Restore brings a run's model, settings and weights back
(undoable); Rename, Note and Delete; how many runs keep their weights. Selecting one run replays it
with the epoch slider."""
from __future__ import annotations

import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QInputDialog, QLabel, QPushButton, QSpinBox,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from ..workspace import WorkspaceError
from ..workspace import events as ev
from ..workspace.run_history import MAX_KEEP_WEIGHTS
from ..workspace.run_record import best_metric
from .chart_overlay import run_color
from .run_views import format_duration

COLUMNS = ("Run", "Best", "Epochs", "Time")   # when it ran, its device and note: in the tooltip


class RunsPanel(QWidget):
    # The run the person picked to look at (one selected), or None: the epoch slider follows it.
    runPicked = Signal(object)

    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.setObjectName("runsPanel")
        self.window = window
        self.workspace = window.workspace
        self.list = QTreeWidget()
        self.list.setObjectName("runsList")
        self.list.setAccessibleName("Runs")
        self.list.setHeaderLabels(COLUMNS)
        self.list.setRootIsDecorated(False)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setAlternatingRowColors(True)
        header = self.list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)   # the name takes what is left
        header.setMinimumSectionSize(40)
        self.list.itemSelectionChanged.connect(self._selection_changed)
        self.list.itemDoubleClicked.connect(lambda _item, _column: self.restore())
        self.diff = QLabel()
        self.diff.setObjectName("runDiff")
        self.diff.setWordWrap(True)
        self.diff.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = {}
        row = QHBoxLayout()
        for name, text, slot, tip in (("restore", "&Restore", self.restore, "Bring this run's model, settings "
                                       "and weights back to the canvas (Undo takes them back)"),
                                      ("rename", "Re&name…", self.rename, "Give the run a name"),
                                      ("note", "N&ote…", self.edit_note, "Write a note on the run"),
                                      ("delete", "&Delete", self.delete, "Forget the run and its weights")):
            button = QPushButton(text)
            button.setObjectName(f"run{name.capitalize()}Button")
            button.setToolTip(tip)
            button.clicked.connect(slot)
            row.addWidget(button)
            self.buttons[name] = button
        keep_row = QHBoxLayout()
        keep_row.addWidget(QLabel("Keep the weights of"))
        self.keep_spin = QSpinBox()
        self.keep_spin.setObjectName("keepRunWeightsSpin")
        self.keep_spin.setRange(1, MAX_KEEP_WEIGHTS)
        self.keep_spin.setToolTip("How many runs keep their weights (in files beside the project); older runs "
                                  "keep their record and curves")
        self.keep_spin.valueChanged.connect(self._keep_changed)
        keep_row.addWidget(self.keep_spin)
        keep_row.addWidget(QLabel("runs"))
        keep_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        hint = QLabel("Select two or more runs to compare their curves; two, to see what changed.")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.diff)
        layout.addLayout(row)
        layout.addLayout(keep_row)
        self.workspace.events.connect(self._runs_changed, ev.RunsChanged)
        self.workspace.events.connect(lambda _event: self.refresh(), ev.RunEnded)
        self.refresh()

    # -- what it shows ---------------------------------------------------------------------------

    def refresh(self) -> None:
        selected = set(self.selected_numbers())
        self.list.blockSignals(True)
        self.list.clear()
        for run in self.workspace.runs:
            when = datetime.datetime.fromtimestamp(run.started_at).strftime("%d %b %H:%M") if run.started_at else ""
            status = "" if run.status in ("finished",) else f" · {run.status}"
            item = QTreeWidgetItem([run.name, _short(best_metric(run)) + status, str(run.last_epoch),
                                    _duration(run.duration_s)])
            if run is self.workspace.run:   # the one on the canvas and the charts: in bold
                font = item.font(0)
                font.setBold(True)
                item.setFont(0, font)
            item.setData(0, Qt.ItemDataRole.UserRole, run.number)
            tip = [run.name + (" (current)" if run is self.workspace.run else ""), best_metric(run),
                   f"trained {when} on {run.device or '?'}" if when else f"trained on {run.device or '?'}",
                   "weights kept" if run.has_weights else "weights not kept"]
            if run.note:
                tip.append(run.note)
            item.setToolTip(0, "\n".join(tip))
            self.list.addTopLevelItem(item)
            item.setSelected(run.number in selected)
        for column in range(1, len(COLUMNS)):
            self.list.resizeColumnToContents(column)
        self.list.blockSignals(False)
        self.keep_spin.blockSignals(True)
        self.keep_spin.setValue(self.workspace.keep_run_weights)
        self.keep_spin.blockSignals(False)
        self._selection_changed()

    def selected_numbers(self) -> list[int]:
        numbers = [item.data(0, Qt.ItemDataRole.UserRole) for item in self.list.selectedItems()]
        order = [run.number for run in self.workspace.runs]
        return sorted((n for n in numbers if n in order), key=order.index)

    def select(self, numbers) -> None:
        """Select the runs ``numbers`` (as a person's clicks do)."""
        for index in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(index)
            item.setSelected(item.data(0, Qt.ItemDataRole.UserRole) in numbers)

    def _runs_changed(self, _event) -> None:
        self.refresh()

    def _selection_changed(self) -> None:
        numbers = self.selected_numbers()
        runs = [self.workspace.run_by_number(n) for n in numbers]
        busy = self.workspace.busy
        self.buttons["restore"].setEnabled(len(runs) == 1 and not busy)
        self.buttons["rename"].setEnabled(len(runs) == 1)
        self.buttons["note"].setEnabled(len(runs) == 1)
        self.buttons["delete"].setEnabled(bool(runs) and not (busy and self.workspace.run in runs))
        for index in range(self.list.topLevelItemCount()):   # a compared run shows its curves' colour
            item = self.list.topLevelItem(index)
            number = item.data(0, Qt.ItemDataRole.UserRole)
            colour = run_color(numbers.index(number)) if len(runs) >= 2 and number in numbers else None
            item.setIcon(0, swatch(colour) if colour else QIcon())
        metric = "accuracy" if all(r.task == "classification" for r in runs) else "r2"
        self.window.charts.compare([(r.name, r.history, metric) for r in runs] if len(runs) >= 2 else [])
        if len(runs) == 2:
            lines = self.workspace.compare_runs(numbers[0], numbers[1])
            title = f"<b>{runs[0].name} → {runs[1].name}</b>"
            self.diff.setText(title + ("<br>" + "<br>".join(_escape(line) for line in lines) if lines
                                       else "<br>the same model, data and settings"))
        else:
            self.diff.setText("")
        self.diff.setVisible(len(runs) == 2)
        self.runPicked.emit(runs[0] if len(runs) == 1 else None)

    # -- what it does ----------------------------------------------------------------------------

    def _one(self):
        numbers = self.selected_numbers()
        return self.workspace.run_by_number(numbers[0]) if len(numbers) == 1 else None

    def restore(self) -> None:
        run = self._one()
        if run is None:
            return
        try:
            self.workspace.restore_run(run.number)
        except WorkspaceError:
            return   # the Refused event says why
        self.window.show_status(f"Restored {run.name}: its model, settings" +
                                (" and weights" if run.has_weights else " (its weights were not kept)") +
                                ". Undo takes the model and settings back.")

    def rename(self) -> None:
        run = self._one()
        if run is None:
            return
        name, ok = self.ask_text("Rename run", "Name:", run.name)
        if ok:
            try:
                self.workspace.rename_run(run.number, name)
            except WorkspaceError:
                pass

    def edit_note(self) -> None:
        run = self._one()
        if run is None:
            return
        note, ok = self.ask_text("Note on the run", f"Note on {run.name}:", run.note)
        if ok:
            self.workspace.note_run(run.number, note)

    def delete(self) -> None:
        for number in self.selected_numbers():
            try:
                self.workspace.delete_run(number)
            except WorkspaceError:
                pass

    def ask_text(self, title: str, label: str, text: str) -> tuple[str, bool]:
        """Asks the person for a text (tests replace this)."""
        return QInputDialog.getText(self, title, label, text=text)

    def _keep_changed(self, value: int) -> None:
        try:
            self.workspace.set_keep_run_weights(value)
        except WorkspaceError:
            self.refresh()


def swatch(colour: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


def _duration(seconds: float) -> str:
    if not seconds:
        return ""
    return f"{seconds:.1f} s" if seconds < 60 else format_duration(seconds)


def _short(metric: str) -> str:
    """ "validation accuracy 96.7%" -> "val acc 96.7%": the list is narrow; the tooltip has it whole."""
    return (metric.replace("validation", "val").replace("training", "train").replace("accuracy", "acc"))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
