"""Predict [predictDialog] with the trained weights: one input typed in (or drawn on a sketch pad for
image models), or a whole file of inputs (.csv, .npy, .npz); results in a table, savable as CSV.

The numbers come from ``Workspace.predict`` (``training.inference.Predictor`` underneath): the
project's own standardisation and class names, exactly as the CLI's ``layerforge predict``.

An input that cannot be predicted on (a word, a NaN, the wrong count) clears the last result and
says why beside the input [predictInputError]; a file's problem shows beside its buttons
[predictFileError]. The sketch pad predicts as it is drawn on: when a stroke ends, and every
``DRAWING_PREDICT_MS`` while it goes on.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from ... import atomic

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QMessageBox, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout)

from ...data import DataError, read_inputs
from ...data.ink import Ink, ink_of
from ...training import TrainingError
from ...workspace import WorkspaceError
from .. import theme
from ..file_dialogs import open_file, save_file
from .sketch_pad import SketchPad

SHOWN_ROWS = 1000
INVALID_INPUT_STYLE = "border: 1px solid #d32f2f; background: #ffebee; color: #b71c1c;"
DRAWING_PREDICT_MS = 150   # while a stroke goes on, at most this often


def error_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    theme.follow(label, lambda shown: shown.setStyleSheet(f"color: {theme.hex_color('error.text')};"))
    label.setVisible(False)
    return label


class PredictDialog(QDialog):
    def __init__(self, parent, predictor: WorkspacePredictor, feature_names=(), title: str = "Predict",
                 ink: Ink | None = None):
        super().__init__(parent)
        self.setObjectName("predictDialog")
        self.setWindowTitle(title)
        self.predictor = predictor
        self.feature_names = list(feature_names)
        self.header: list[str] = []
        self.rows: list[list] = []
        shape = predictor.input_shape
        self.is_image = len(shape) == 3

        single = QGroupBox("One input")
        single_layout = QVBoxLayout(single)
        self.sketch = None
        self.input_edit = QLineEdit()
        self.input_edit.setObjectName("predictInputEdit")
        if self.is_image:
            self.sketch = SketchPad(shape[1], shape[2], ink=ink)
            clear = QPushButton("Clear")
            clear.setObjectName("sketchClearButton")
            clear.clicked.connect(self.sketch.clear)
            self.sketch.drawn.connect(self._drawing)
            self.sketch.strokeFinished.connect(self.predict_single)
            pad_row = QHBoxLayout()
            pad_row.addWidget(self.sketch)
            pad_row.addWidget(clear, 0, Qt.AlignmentFlag.AlignTop)
            pad_row.addStretch(1)
            single_layout.addWidget(QLabel(f"Draw with the mouse ({shape[2]}×{shape[1]} pixels, as the model "
                                           "sees them); the prediction follows as you draw:"))
            single_layout.addLayout(pad_row)
            self.input_edit.setVisible(False)
        else:
            size = int(np.prod(shape))
            names = self.feature_names if len(self.feature_names) == size else [f"x{i + 1}" for i in range(size)]
            self.input_edit.setPlaceholderText(", ".join(names))
            self.input_edit.setToolTip(f"{size} number(s) separated by commas: {', '.join(names)}")
            single_layout.addWidget(QLabel(f"Type {size} value(s), separated by commas ({', '.join(names[:8])}"
                                           f"{', …' if size > 8 else ''}):"))
            single_layout.addWidget(self.input_edit)
            self.input_edit.returnPressed.connect(self.predict_single)
        self.input_error = error_label("predictInputError")
        single_layout.addWidget(self.input_error)
        self.drawing_timer = QTimer(self)
        self.drawing_timer.setSingleShot(True)
        self.drawing_timer.setInterval(DRAWING_PREDICT_MS)
        self.drawing_timer.timeout.connect(self.predict_single)
        self.predict_button = QPushButton("Predict")
        self.predict_button.setObjectName("predictButton")
        self.predict_button.setDefault(True)
        self.predict_button.clicked.connect(self.predict_single)
        self.result_label = QLabel("")
        self.result_label.setObjectName("predictResultLabel")
        self.result_label.setWordWrap(True)
        self.result_label.setStyleSheet("font-size: 12pt; font-weight: bold;")
        row = QHBoxLayout()
        row.addWidget(self.predict_button)
        row.addWidget(self.result_label, 1)
        single_layout.addLayout(row)

        many = QGroupBox("A file of inputs")
        many_layout = QVBoxLayout(many)
        buttons = QHBoxLayout()
        self.file_button = QPushButton("Predict a file…")
        self.file_button.setObjectName("predictFileButton")
        self.file_button.setToolTip("A .csv of numbers (one sample per row), or a .npy / .npz of inputs")
        self.file_button.clicked.connect(lambda: self.predict_file())
        self.save_button = QPushButton("Save results…")
        self.save_button.setObjectName("predictSaveButton")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(lambda: self.save_results())
        self.file_label = QLabel("")
        self.file_label.setObjectName("predictFileLabel")
        buttons.addWidget(self.file_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.file_label, 1)
        self.table = QTableWidget()
        self.table.setObjectName("predictResultTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(140)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.file_error = error_label("predictFileError")
        many_layout.addLayout(buttons)
        many_layout.addWidget(self.file_error)
        many_layout.addWidget(self.table, 1)

        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(single)
        layout.addWidget(many, 1)
        layout.addWidget(close)
        self.resize(560, 560)

    # -- predicting ------------------------------------------------------------------------------

    def single_input(self) -> np.ndarray:
        shape = self.predictor.input_shape
        if self.sketch is not None:
            pixels = self.sketch.pixels()
            return np.repeat(pixels[None, None], shape[0], axis=1).astype(np.float32)
        text = self.input_edit.text().replace(";", ",")
        parts = [p for p in text.replace("\t", ",").split(",") if p.strip()] if "," in text else text.split()
        values = []
        for position, part in enumerate(parts, start=1):
            try:
                values.append(float(part))
            except ValueError:
                raise DataError(f"value {position} ({part.strip()!r}) is not a number") from None
            if not math.isfinite(values[-1]):
                raise DataError(f"value {position} ({part.strip()!r}) is not a finite number: the model "
                                f"cannot predict on NaN or infinity")
        size = int(np.prod(shape))
        if len(values) != size:
            raise DataError(f"the model takes {size} value(s) per input; {len(values)} were typed")
        return np.asarray(values, dtype=np.float32).reshape((1,) + tuple(shape))

    def _drawing(self) -> None:
        """The pad changed: predict soon (not on every mouse move); a cleared pad has no result."""
        if self.sketch.empty:
            self.drawing_timer.stop()
            self.result_label.setText("")
            self._input_error("")
        elif not self.drawing_timer.isActive():
            self.drawing_timer.start()

    def predict_single(self) -> str:
        self.drawing_timer.stop()
        try:
            result = self.predictor.predict(self.single_input())
        except (DataError, TrainingError, ValueError) as error:
            self.result_label.setText("")   # the last result belongs to another input
            self._input_error(str(error))
            return ""
        self._input_error("")
        if result.labels is not None:
            probs = result.probabilities[0]
            ranked = np.argsort(probs)[::-1][:3]
            others = ", ".join(f"{result.class_names[i]} {probs[i]:.0%}" for i in ranked[1:])
            text = f"{result.names[0]} ({probs.max():.0%} sure)" + (f" · then {others}" if others else "")
        else:
            values = result.outputs.reshape(-1)
            text = ", ".join(f"{v:.6g}" for v in values[:8])
        self.result_label.setText(text)
        return text

    def predict_file(self, path: str | None = None) -> bool:
        if path is None:
            path = open_file(self, "Predict on a file of inputs", "Inputs (*.csv *.npy *.npz);;All files (*)")
            if not path:
                return False
        try:
            x = self._read(Path(path))
            result = self.predictor.predict(x)
        except (DataError, TrainingError, ValueError, OSError) as error:
            self._file_error(str(error))
            return False
        self._file_error("")
        header, rows = result.rows()
        flat = x.reshape(len(x), -1)
        inputs = flat.shape[1] <= 8   # show small inputs beside their predictions
        names = self.feature_names if len(self.feature_names) == flat.shape[1] else [
            f"x{i + 1}" for i in range(flat.shape[1])]
        self.header = (names if inputs else ["row"]) + header
        self.rows = [([f"{v:.6g}" for v in flat[i]] if inputs else [str(i + 1)]) + rows[i] for i in range(len(rows))]
        self._fill_table()
        self.save_button.setEnabled(True)
        more = f" (the first {SHOWN_ROWS:,} shown; Save keeps all)" if len(rows) > SHOWN_ROWS else ""
        self.file_label.setText(f"{len(rows):,} prediction(s) from {Path(path).name}{more}")
        return True

    def _read(self, path: Path) -> np.ndarray:
        if path.suffix.lower() == ".csv" and self.feature_names:
            try:   # a CSV like the training data: pick the same columns by name
                return read_inputs(path, feature_columns=self.feature_names)
            except DataError:
                pass
        return read_inputs(path)

    def _fill_table(self) -> None:
        shown = self.rows[:SHOWN_ROWS]
        self.table.clear()
        self.table.setColumnCount(len(self.header))
        self.table.setRowCount(len(shown))
        self.table.setHorizontalHeaderLabels(self.header)
        for r, row in enumerate(shown):
            for c, cell in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(str(cell)))
        self.table.resizeColumnsToContents()

    def save_results(self, path: str | None = None) -> Path | None:
        if not self.rows:
            return None
        if path is None:
            path, _ = save_file(self, "Save predictions", "predictions.csv", "CSV (*.csv)")
            if not path:
                return None
        target = Path(path)
        if target.suffix.lower() != ".csv":
            target = target.with_name(target.name + ".csv")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        try:
            atomic.write_bytes(target, buffer.getvalue().encode("utf-8"))
        except OSError as error:
            self._file_error(f"{target}: cannot write ({error.strerror or error})")
            return None
        self.file_label.setText(f"Saved {len(self.rows):,} prediction(s) to {target.name}")
        return target

    def _input_error(self, text: str) -> None:
        self.input_error.setText(f"⚠ {text}" if text else "")
        self.input_error.setVisible(bool(text))
        self.input_edit.setStyleSheet(INVALID_INPUT_STYLE if text else "")

    def _file_error(self, text: str) -> None:
        self.file_error.setText(f"⚠ {text}" if text else "")
        self.file_error.setVisible(bool(text))


class WorkspacePredictor:
    """What the dialog predicts with: the workspace's kept weights (``Workspace.predict``), which
    refuses, with the reason, while a run trains or after the model was edited."""

    def __init__(self, workspace):
        self.workspace = workspace
        self.input_shape = tuple(workspace.report.input_shape or ())

    def predict(self, inputs):
        try:
            return self.workspace.predict(inputs)
        except WorkspaceError as error:
            raise ValueError(error.reason) from None


def make_predict_action(window, workspace) -> QAction:
    """[actionPredict]: opens the dialog on the trained weights (or says to train first)."""
    action = QAction("&Predict…", window)
    action.setObjectName("actionPredict")
    action.setShortcut(QKeySequence("Ctrl+R"))
    action.setStatusTip("Use the trained model on inputs you type, draw or load from a file")
    action.last_dialog = None

    def open_dialog() -> PredictDialog | None:
        project, weights = workspace.project()
        if weights is None or workspace.busy:
            why = ("a run is in progress: wait for it to end, or stop it" if workspace.busy else
                   "the model has no trained weights (or it was edited after training)")
            QMessageBox.information(window, "Train first", f"Cannot predict yet: {why}. Press Train, then Predict.")
            return None
        dataset = workspace.dataset
        trained_on = (project.data_info or {}).get("dataset")
        same_data = dataset is not None and trained_on in (None, dataset.name)
        names = list(dataset.feature_names) if same_data else []   # column names of the data it learned from
        # The sketch pad draws as the training images are drawn (light on dark, or dark on light).
        ink = ink_of(dataset.x) if same_data and dataset.kind == "images" else None
        dialog = PredictDialog(window, WorkspacePredictor(workspace), names, f"Predict with {project.name}", ink)
        action.last_dialog = dialog
        dialog.show()
        return dialog

    action.triggered.connect(lambda _=False: open_dialog())
    action.open_dialog = open_dialog
    return action
