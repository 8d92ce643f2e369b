"""The sources of the import dialog: a CSV file, an image folder, a .npz/.npy file, IDX files.

Each tab reads through ``layerforge.data`` (never parsing anything itself) and offers
``load() -> (source dict, ArrayDataset)``, raising ``DataError`` with the file, line and column;
the dialog shows that message in place. ``changed`` fires whenever what ``load`` returns may differ.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFormLayout, QGridLayout,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QSpinBox,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ...data import DataError, preview_csv, read_arrays, read_csv, read_image_folder
from ...data.idx import read_idx_dataset
from ..file_dialogs import existing_folder, open_file
from ..image_grid import to_pixmap

PREVIEW_ROWS = 20
GRID_PER_CLASS = 6
TASK_CHOICES = (("Detect from the target", None), ("Classification", "classification"),
                ("Regression", "regression"))


class PathEdit(QLineEdit):
    """A typed path: Enter reads it (``entered``) and goes no further, so it neither opens the
    Browse… dialog nor imports before the person has seen what was read."""

    entered = Signal()

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.entered.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class PathRow(QWidget):
    """A path field with a Browse… button; ``pathChanged`` when the text changes or Enter is pressed
    in it (the file is read again: it may have been written since)."""

    pathChanged = Signal(str)

    def __init__(self, name: str, placeholder: str, browse, parent=None):
        super().__init__(parent)
        self.edit = PathEdit()
        self.edit.setObjectName(name)
        self.edit.setPlaceholderText(placeholder)
        self.edit.setClearButtonEnabled(True)
        self.button = QPushButton("Browse…")
        self.button.setObjectName(name + "Browse")
        self.button.setAutoDefault(False)   # Enter in the dialog never opens a second one
        self.button.clicked.connect(lambda: self._browse(browse))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.button)
        self.edit.textChanged.connect(self.pathChanged)
        self.edit.entered.connect(lambda: self.pathChanged.emit(self.edit.text()))

    def _browse(self, browse) -> None:
        chosen = browse(self)
        if chosen:
            self.edit.setText(chosen)

    def path(self) -> str:
        return self.edit.text().strip()


def summary_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def class_summary(dataset) -> str:
    if dataset.task == "classification":
        counts = dataset.class_counts()
        listed = ", ".join(f"{name} ({n})" for name, n in list(counts.items())[:12])
        more = f", … {len(counts) - 12} more" if len(counts) > 12 else ""
        return f"Classification: {len(counts)} classes — {listed}{more}"
    return f"Regression: {dataset.output_dim} value(s) to predict"


class CsvTab(QWidget):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("csvTab")
        self.path_row = PathRow("csvPathEdit", "A .csv file: one row per sample, the target in one column",
                                lambda w: open_file(w, "Choose a CSV file", "CSV files (*.csv *.txt);;All files (*)"))
        self.header_check = QCheckBox("First row holds the column names")
        self.header_check.setObjectName("csvHeaderCheck")
        self.detected_label = summary_label("csvDetectedLabel")
        self.table = QTableWidget()
        self.table.setObjectName("csvPreviewTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(150)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.verticalHeader().setToolTip("Line in the file")
        self.target_combo = QComboBox()
        self.target_combo.setObjectName("targetColumnCombo")
        self.target_combo.setToolTip("The column the model learns to predict")
        self.feature_list = QListWidget()
        self.feature_list.setObjectName("featureColumnList")
        self.feature_list.setToolTip("The columns the model sees (tick the ones to use)")
        self.feature_list.setMaximumHeight(84)
        self.task_combo = QComboBox()
        self.task_combo.setObjectName("taskCombo")
        for label, task in TASK_CHOICES:
            self.task_combo.addItem(label, task)
        self.missing_combo = QComboBox()
        self.missing_combo.setObjectName("missingCombo")
        self.missing_combo.addItem("Stop and list them", "error")
        self.missing_combo.addItem("Skip rows with a missing value", "drop")
        self.missing_label = summary_label("missingLabel")
        self.task_label = summary_label("csvTaskLabel")

        form = QFormLayout()
        form.addRow("Target column", self.target_combo)
        form.addRow("Feature columns", self.feature_list)
        form.addRow("Task", self.task_combo)
        form.addRow("Missing values", self.missing_combo)
        layout = QVBoxLayout(self)
        layout.addWidget(self.path_row)
        top = QHBoxLayout()
        top.addWidget(self.header_check)
        top.addWidget(self.detected_label, 1)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        layout.addWidget(self.missing_label)
        layout.addWidget(self.task_label)

        self.preview = None
        self._filling = False
        self.path_row.pathChanged.connect(lambda _: self.read_preview(detect_header=True))
        self.header_check.toggled.connect(lambda _: self.read_preview(detect_header=False))
        self.target_combo.currentIndexChanged.connect(self._target_changed)
        self.feature_list.itemChanged.connect(lambda _: self._emit())
        self.task_combo.currentIndexChanged.connect(lambda _: self._emit())
        self.missing_combo.currentIndexChanged.connect(lambda _: self._emit())

    def _emit(self) -> None:
        if not self._filling:
            self.changed.emit()

    def read_preview(self, detect_header: bool) -> None:
        """Read the first rows; the dialog's error line shows what is wrong with the file."""
        self.preview = None
        path = self.path_row.path()
        self._filling = True
        try:
            self.table.clear()
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            self.target_combo.clear()
            self.feature_list.clear()
            self.detected_label.setText("")
            self.missing_label.setText("")
            if path and Path(path).is_file():
                self.preview = preview_csv(path, PREVIEW_ROWS, None if detect_header else
                                           self.header_check.isChecked())
                self._fill(self.preview)
        except DataError:
            self.preview = None   # load() raises it again, with its place in the file, for the dialog
        finally:
            self._filling = False
        self.changed.emit()

    def _fill(self, preview) -> None:
        self.header_check.blockSignals(True)
        self.header_check.setChecked(preview.has_header)
        self.header_check.blockSignals(False)
        names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
        self.detected_label.setText(f"{preview.n_rows:,} rows · {len(preview.columns)} columns · separated by "
                                    f"{names.get(preview.delimiter, repr(preview.delimiter))}")
        self.table.setColumnCount(len(preview.columns))
        self.table.setRowCount(len(preview.rows))
        self.table.setHorizontalHeaderLabels(preview.columns)
        self.table.setVerticalHeaderLabels([str(n) for n in preview.line_numbers])
        for r, row in enumerate(preview.rows):
            for c, cell in enumerate(row):
                item = QTableWidgetItem(cell)
                if not cell.strip():
                    item.setBackground(Qt.GlobalColor.yellow)
                    item.setToolTip("missing value")
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        for column in preview.columns:
            self.target_combo.addItem(column, column)
            item = QListWidgetItem(column)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            self.feature_list.addItem(item)
        self.target_combo.setCurrentIndex(max(0, self.target_combo.findData(preview.suggested_target)))
        self._tick_features()
        holes = [f"'{name}': {n}" for name, n in zip(preview.columns, preview.missing_counts) if n]
        self.missing_label.setText("Missing values: " + ("none" if not holes else
                                                         ", ".join(holes) + " (highlighted in yellow)"))

    def _tick_features(self) -> None:
        """Every numeric column except the target is a feature unless the user says otherwise."""
        target = self.target_combo.currentData()
        for i in range(self.feature_list.count()):
            item = self.feature_list.item(i)
            numeric = self.preview.numeric_columns[i] if self.preview else True
            wanted = item.text() != target and numeric
            item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)

    def _target_changed(self) -> None:
        if self._filling:
            return
        self._filling = True
        self._tick_features()
        self._filling = False
        self.changed.emit()

    def features(self) -> list[str]:
        return [self.feature_list.item(i).text() for i in range(self.feature_list.count())
                if self.feature_list.item(i).checkState() == Qt.CheckState.Checked]

    def load(self):
        self.task_label.setText("")
        try:
            return self._load()
        except DataError as error:   # the data layer names its API option; say where it is in this dialog
            text = str(error).replace("drop those rows (missing='drop')",
                                      "choose 'Skip rows with a missing value' below")
            raise DataError(text) from None

    def _load(self):
        path = self.path_row.path()
        if not path:
            raise DataError("Choose a CSV file (Browse…) or type its path.")
        if not Path(path).is_file():
            raise DataError(f"{path} does not exist or is not a file.")
        if self.preview is None:   # the preview failed: read again to report where
            preview_csv(path, PREVIEW_ROWS)
            raise DataError(f"{Path(path).name}: could not be read as CSV.")
        source = {"kind": "csv", "path": str(Path(path).resolve()), "target_column": self.target_combo.currentData(),
                  "feature_columns": self.features(), "has_header": self.header_check.isChecked(),
                  "task": self.task_combo.currentData(), "delimiter": self.preview.delimiter,
                  "missing": self.missing_combo.currentData()}
        dataset = read_csv(source["path"], target_column=source["target_column"],
                           feature_columns=source["feature_columns"], has_header=source["has_header"],
                           task=source["task"], delimiter=source["delimiter"], missing=source["missing"])
        detected = "" if source["task"] else " (detected)"
        notes = "".join(f"\nNote: {note}" for note in dataset.notes)
        self.task_label.setText(f"{class_summary(dataset)}{detected}; {len(dataset):,} samples with "
                                f"{dataset.input_shape[0]} feature(s).{notes}")
        return source, dataset


class ImageFolderTab(QWidget):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("imageFolderTab")
        self.path_row = PathRow("imageFolderEdit", "A folder with one subfolder of images per class",
                                lambda w: existing_folder(w, "Choose an image folder"))
        self.height_spin = self._size_spin("imageHeightSpin", "Height every image is resized to (pixels)")
        self.width_spin = self._size_spin("imageWidthSpin", "Width every image is resized to (pixels)")
        self.mode_combo = QComboBox()
        self.mode_combo.setObjectName("colorModeCombo")
        self.mode_combo.addItem("Grayscale (1 channel)", "L")
        self.mode_combo.addItem("Colour (RGB, 3 channels)", "RGB")
        size = QHBoxLayout()
        size.addWidget(self.width_spin)
        size.addWidget(QLabel("×"))
        size.addWidget(self.height_spin)
        size.addWidget(QLabel("pixels (width × height)"))
        size.addStretch(1)
        form = QFormLayout()
        form.addRow("Folder", self.path_row)
        form.addRow("Image size", size)
        form.addRow("Colour", self.mode_combo)
        self.counts_label = summary_label("classCountsLabel")
        self.grid_host = QWidget()
        self.grid_host.setObjectName("imagePreviewGrid")
        self.grid = QGridLayout(self.grid_host)
        self.grid.setSpacing(3)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.counts_label)
        layout.addWidget(self.grid_host, 1)
        self.path_row.pathChanged.connect(lambda _: self.changed.emit())
        self.mode_combo.currentIndexChanged.connect(lambda _: self.changed.emit())
        self.height_spin.valueChanged.connect(lambda _: self.changed.emit())
        self.width_spin.valueChanged.connect(lambda _: self.changed.emit())

    def _size_spin(self, name: str, tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setObjectName(name)
        spin.setRange(4, 512)
        spin.setValue(28)
        spin.setToolTip(tip)
        spin.setKeyboardTracking(False)
        return spin

    def _clear_grid(self) -> None:
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()

    def load(self):
        self._clear_grid()
        self.counts_label.setText("")
        path = self.path_row.path()
        if not path:
            raise DataError("Choose a folder (Browse…) that holds one subfolder of images per class.")
        source = {"kind": "image_folder", "path": str(Path(path).resolve()),
                  "size": [self.height_spin.value(), self.width_spin.value()], "mode": self.mode_combo.currentData()}
        dataset = read_image_folder(source["path"], size=tuple(source["size"]), mode=source["mode"])
        notes = "".join(f"\nNote: {note}" for note in dataset.notes)
        self.counts_label.setText(f"{len(dataset):,} images · {class_summary(dataset)}{notes}")
        self._fill_grid(dataset)
        return source, dataset

    def _fill_grid(self, dataset) -> None:
        """One row per class (its name and count, then its first images)."""
        counts = dataset.class_counts()
        for row, (index, name) in enumerate(list(enumerate(dataset.class_names))[:8]):
            caption = QLabel(f"{name}\n{counts[name]} image(s)")
            caption.setObjectName("classCaption")
            self.grid.addWidget(caption, row, 0)
            members = np.flatnonzero(dataset.y == index)[:GRID_PER_CLASS]
            for column, sample in enumerate(members, start=1):
                cell = QLabel()
                cell.setPixmap(to_pixmap(dataset.x[sample], 56))
                cell.setToolTip(f"{name}, image {column}")
                self.grid.addWidget(cell, row, column)


class ArraysTab(QWidget):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("arraysTab")
        self.path_row = PathRow("arraysPathEdit", "A .npz with arrays x and y, or a .npy of inputs",
                                lambda w: open_file(w, "Choose a numpy file", "NumPy arrays (*.npz *.npy)"))
        self.targets_row = PathRow("targetsPathEdit", "Only for a .npy of inputs: a .npy of targets",
                                   lambda w: open_file(w, "Choose the targets", "NumPy arrays (*.npy)"))
        self.task_combo = QComboBox()
        self.task_combo.setObjectName("arraysTaskCombo")
        for label, task in TASK_CHOICES:
            self.task_combo.addItem(label, task)
        self.summary = summary_label("arraysSummaryLabel")
        form = QFormLayout()
        form.addRow("Inputs (and targets)", self.path_row)
        form.addRow("Targets", self.targets_row)
        form.addRow("Task", self.task_combo)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addStretch(1)
        for row in (self.path_row, self.targets_row):
            row.pathChanged.connect(lambda _: self.changed.emit())
        self.task_combo.currentIndexChanged.connect(lambda _: self.changed.emit())

    def load(self):
        self.summary.setText("")
        path = self.path_row.path()
        if not path:
            raise DataError("Choose a .npz file holding inputs x and targets y (or a .npy of inputs).")
        targets = self.targets_row.path() or None
        source = {"kind": "arrays", "path": str(Path(path).resolve()),
                  "targets_path": str(Path(targets).resolve()) if targets else None,
                  "task": self.task_combo.currentData()}
        dataset = read_arrays(source["path"], targets_path=source["targets_path"], task=source["task"])
        shape = "×".join(str(d) for d in dataset.input_shape)
        self.summary.setText(f"{len(dataset):,} samples of shape {shape}. {class_summary(dataset)}")
        return source, dataset


class IdxTab(QWidget):
    """IDX files, MNIST's format: an images file (``*-images-idx3-ubyte[.gz]``) and a labels file."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("idxTab")
        pattern = "IDX files (*.gz *ubyte *.idx*);;All files (*)"
        self.path_row = PathRow("idxImagesPathEdit", "Images, e.g. train-images-idx3-ubyte.gz",
                                lambda w: open_file(w, "Choose the IDX images", pattern))
        self.labels_row = PathRow("idxLabelsPathEdit", "Labels, e.g. train-labels-idx1-ubyte.gz (none: the "
                                  "images are their own targets)",
                                  lambda w: open_file(w, "Choose the IDX labels", pattern))
        self.summary = summary_label("idxSummaryLabel")
        self.preview = QLabel()
        self.preview.setObjectName("idxPreview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        form = QFormLayout()
        form.addRow("Images", self.path_row)
        form.addRow("Labels", self.labels_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(self.preview)
        layout.addStretch(1)
        for row in (self.path_row, self.labels_row):
            row.pathChanged.connect(lambda _: self.changed.emit())

    def load(self):
        self.summary.setText("")
        self.preview.clear()
        path = self.path_row.path()
        if not path:
            raise DataError("Choose an IDX images file (MNIST's format, .gz or not) and its labels file.")
        labels = self.labels_row.path() or None
        source = {"kind": "idx", "path": str(Path(path).resolve()),
                  "targets_path": str(Path(labels).resolve()) if labels else None}
        dataset = read_idx_dataset(source["path"], source["targets_path"])
        shape = "×".join(str(d) for d in dataset.input_shape)
        what = class_summary(dataset) if labels else "No labels: each image is its own target (an autoencoder's data)."
        self.summary.setText(f"{len(dataset):,} images of {shape}. {what}")
        if dataset.kind == "images" and len(dataset):
            x = dataset.x
            strip = np.concatenate([x[i, 0] if x.shape[1] == 1 else x[i].mean(axis=0)
                                    for i in range(min(12, len(x)))], axis=1)
            self.preview.setPixmap(to_pixmap(strip, 1000).scaledToHeight(56))
        return source, dataset
