"""Dataset choice [datasetCombo] among the built-ins and what was imported, with a one-line summary
and a small preview plot; for images, the augmentation of training batches [augmentRow: augmentCropCheck,
augmentPaddingSpin, augmentFlipCheck], asked for with ``augmentChanged(settings)``. A view of the workspace's data: a choice in the box asks for it
(``builtinChosen`` / ``importedChosen``); ``show_data`` shows what the workspace then holds (DataChanged),
data that could not be loaded included."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGroupBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from ..data import list_datasets
from ..data.augment import MAX_CROP_PADDING
from ..data.remote_datasets import is_remote_dataset, remote_dataset, remote_datasets
from .class_colors import class_color
from . import theme
from .image_grid import to_pixmap
from .plot_theme import follow_plot_widget
from .table_rows import RowTable, column_names, number_text


IMPORTED_PREFIX = "imported:"
DOWNLOAD_PREFIX = "download:"


class DatasetPanel(QGroupBox):
    """``builtinChosen(name, options)`` / ``importedChosen(source, dataset)`` when the person picks
    an entry; the workspace's DataChanged comes back to ``show_data``."""

    builtinChosen = Signal(str, dict)
    importedChosen = Signal(dict, object)
    downloadChosen = Signal(str)
    augmentChanged = Signal(dict)

    def __init__(self, parent=None):
        super().__init__("Data", parent)
        self.setObjectName("datasetPanel")
        self.combo = QComboBox()
        self.combo.setObjectName("datasetCombo")
        self.combo.setAccessibleName("Dataset")
        for info in list_datasets():
            self.combo.addItem(f"{info.name} — {info.task}", info.name)
            self.combo.setItemData(self.combo.count() - 1, info.description, role=3)  # Qt.ToolTipRole
        self.combo.insertSeparator(self.combo.count())
        for info in remote_datasets():   # choosing one opens Get dataset… on it (downloadChosen)
            self.combo.addItem(f"{info.title} — download…", DOWNLOAD_PREFIX + info.name)
            self.combo.setItemData(self.combo.count() - 1, f"{info.description} Downloaded once, kept for "
                                   "every project (Data > Get dataset…)", role=3)
        self.summary = QLabel()
        self.summary.setObjectName("datasetSummary")
        self.summary.setWordWrap(True)
        theme.follow(self.summary, lambda label: label.setStyleSheet(f"color: {theme.hex_color('text.caption')};"))
        self.preview = pg.PlotWidget()
        follow_plot_widget(self.preview)
        self.preview.setObjectName("datasetPreview")
        self.preview.setFixedHeight(110)
        self.preview.hideAxis("left")
        self.preview.hideAxis("bottom")
        self.preview.setMouseEnabled(False, False)
        self.preview.hideButtons()
        self.preview_image = QLabel()
        self.preview_image.setFixedHeight(56)
        self.preview_image.setMinimumWidth(10)
        self.preview_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # A table reads as its first rows: scattering two columns of it says little.
        self.preview_rows = RowTable("datasetPreviewRows", point_size=8)
        self.preview_rows.setFixedHeight(110)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addWidget(self.combo)
        layout.addWidget(self.summary)
        layout.addWidget(self.preview)
        layout.addWidget(self.preview_image)
        layout.addWidget(self.preview_rows)
        layout.addWidget(self._augment_row())
        self.dataset = None
        self._shown_index = 0
        self.imported: dict[str, tuple[dict, object]] = {}   # combo key -> (source, dataset)
        theme.follow(self, DatasetPanel._redraw_preview)   # the data's own colours follow the theme too
        self.combo.currentIndexChanged.connect(self._changed)

    def _augment_row(self) -> QWidget:
        self.augment_row = QWidget()
        self.augment_row.setObjectName("augmentRow")
        self.crop_check = QCheckBox("Random crop")
        self.crop_check.setObjectName("augmentCropCheck")
        self.crop_check.setToolTip("Training batches only: pad each image, then crop a random window of its size")
        self.padding_spin = QSpinBox()
        self.padding_spin.setObjectName("augmentPaddingSpin")
        self.padding_spin.setRange(1, MAX_CROP_PADDING)
        self.padding_spin.setValue(4)
        self.padding_spin.setSuffix(" px")
        self.padding_spin.setAccessibleName("Crop padding")
        self.padding_spin.setToolTip("Padding around the image before the random crop")
        self.flip_check = QCheckBox("Flip")
        self.flip_check.setObjectName("augmentFlipCheck")
        self.flip_check.setToolTip("Training batches only: flip half of the images left-right (not for digits "
                                   "or text, whose mirror image is another thing)")
        row = QHBoxLayout(self.augment_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Augment:"))
        row.addWidget(self.crop_check)
        row.addWidget(self.padding_spin)
        row.addWidget(self.flip_check)
        row.addStretch(1)
        self.crop_check.toggled.connect(self._augment_edited)
        self.flip_check.toggled.connect(self._augment_edited)
        self.padding_spin.valueChanged.connect(lambda _: self.crop_check.isChecked() and self._augment_edited())
        self.augment_row.setVisible(False)
        return self.augment_row

    def augment_settings(self) -> dict:
        settings = {}
        if self.crop_check.isChecked():
            settings["crop_padding"] = self.padding_spin.value()
        if self.flip_check.isChecked():
            settings["hflip"] = True
        return settings

    def _augment_edited(self) -> None:
        self.padding_spin.setEnabled(self.crop_check.isChecked())
        self.augmentChanged.emit(self.augment_settings())

    def _show_augment(self, source: dict, dataset) -> None:
        augment = source.get("augment") or {}
        for widget in (self.crop_check, self.flip_check, self.padding_spin):
            widget.blockSignals(True)
        self.crop_check.setChecked(bool(augment.get("crop_padding")))
        self.padding_spin.setValue(int(augment.get("crop_padding") or self.padding_spin.value()))
        self.padding_spin.setEnabled(self.crop_check.isChecked())
        self.flip_check.setChecked(bool(augment.get("hflip")))
        for widget in (self.crop_check, self.flip_check, self.padding_spin):
            widget.blockSignals(False)
        self.augment_row.setVisible(dataset is not None and len(dataset.input_shape) == 3)

    @property
    def dataset_name(self) -> str:
        return self.combo.currentData()

    def select(self, name: str, options: dict | None = None) -> None:
        """Ask for built-in dataset ``name`` (as choosing it in the box does)."""
        self.builtinChosen.emit(name, dict(options or {}))

    def _changed(self, index: int) -> None:
        key = self.combo.itemData(index)
        if isinstance(key, str) and key in self.imported:
            source, dataset = self.imported[key]
            self.importedChosen.emit(dict(source), dataset)
        elif isinstance(key, str) and key.startswith(DOWNLOAD_PREFIX):
            self.combo.blockSignals(True)   # the box keeps showing the data in use until it changes
            self.combo.setCurrentIndex(self._shown_index)
            self.combo.blockSignals(False)
            self.downloadChosen.emit(key[len(DOWNLOAD_PREFIX):])
        elif isinstance(key, str) and not key.startswith(IMPORTED_PREFIX):
            self.builtinChosen.emit(key, {})

    def show_data(self, source: dict, dataset, unavailable: str = "", description: str = "") -> None:
        """Show the workspace's data: choose its entry in the box (adding one for imported data) and
        describe it, or say why it could not be loaded."""
        if source.get("kind") == "builtin":
            index = self.combo.findData(source.get("name"))
        elif source.get("kind") == "download" and is_remote_dataset(source.get("name")):
            key = DOWNLOAD_PREFIX + source["name"]
            index = self.combo.findData(key)
            title = remote_dataset(source["name"]).title
            if dataset is not None:
                self.imported[key] = (dict(source), dataset)
            self.combo.setItemText(index, f"{title} — {dataset.task} (downloaded)" if dataset is not None
                                   else f"{title} (not downloaded)")
        else:
            key = IMPORTED_PREFIX + description
            if dataset is not None:
                self.imported[key] = (dict(source), dataset)
            index = self.combo.findData(key)
            name = dataset.name if dataset is not None else description
            label = f"{name} — {dataset.task} (imported)" if dataset is not None else f"{name} (not found)"
            self.combo.blockSignals(True)
            if index < 0:
                self.combo.addItem(label, key)
                index = self.combo.count() - 1
            self.combo.setItemText(index, label)
            self.combo.setItemData(index, description, 3)   # Qt.ToolTipRole
            self.combo.blockSignals(False)
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(max(index, 0) if index >= 0 else self.combo.currentIndex())
        self.combo.blockSignals(False)
        self._shown_index = self.combo.currentIndex()
        self.dataset = dataset
        self.options = dict(source.get("options") or {})
        self._show_augment(source, dataset)
        if dataset is None:
            self.summary.setText(f"<span style='color:{theme.hex_color('error.text')}'>The data could not be loaded: "
                                 f"{unavailable}</span>")
            self.summary.setToolTip(description)
            self.preview.getPlotItem().clear()
            self.preview_image.clear()
            self.preview_rows.setRowCount(0)
            return
        self._describe(dataset)
        self._draw_preview(dataset)

    def _redraw_preview(self) -> None:
        if self.dataset is not None:
            self._draw_preview(self.dataset)

    def _describe(self, dataset) -> None:
        shape = "x".join(str(d) for d in dataset.input_shape)
        what = (f"{len(dataset.class_names)} classes" if dataset.task == "classification"
                else f"{dataset.y.shape[1] if dataset.y.ndim > 1 else 1} output value(s)")
        self.summary.setText(f"{len(dataset.x):,} samples · input {shape} · {what}")
        self.summary.setToolTip(dataset.description)

    def _draw_preview(self, dataset) -> None:
        plot = self.preview.getPlotItem()
        plot.clear()
        images, table = dataset.kind == "images", dataset.kind == "table"
        self.preview.setVisible(not images and not table)
        self.preview_image.setVisible(images)
        self.preview_rows.setVisible(table)
        x, y = dataset.x, dataset.y
        if table:
            self._show_first_rows(dataset)
            return
        if images:
            strip = np.concatenate([x[i, 0] if x.shape[1] == 1 else x[i].mean(axis=0) for i in range(min(8, len(x)))],
                                   axis=1)
            width = max(120, self.preview.width() - 10)
            self.preview_image.setPixmap(to_pixmap(strip, 600).scaled(width, 48, Qt.AspectRatioMode.KeepAspectRatio))
            return
        if dataset.kind == "points2d":
            for label in np.unique(y.astype(int)):
                mask = y.astype(int) == label
                plot.addItem(pg.ScatterPlotItem(x[mask, 0], x[mask, 1], size=4, pen=None,
                                                brush=pg.mkBrush(class_color(label))))
        elif dataset.kind == "curve1d":
            plot.addItem(pg.ScatterPlotItem(x[:, 0], y.reshape(len(y), -1)[:, 0], size=3, pen=None,
                                            brush=pg.mkBrush(theme.color("chart.data"))))
        elif dataset.kind == "sequence":
            for i in range(min(4, len(x))):
                plot.plot(x[i, :, 0], pen=pg.mkPen(class_color(int(y[i])) if dataset.task == "classification"
                                                   else theme.color("chart.data"), width=1.5))
        plot.autoRange()

    def _show_first_rows(self, dataset, rows: int = 5) -> None:
        """The table's first rows under its column names, the target last."""
        rows = min(rows, len(dataset))
        x = np.asarray(dataset.x[:rows]).reshape(rows, -1)
        if dataset.task == "classification":
            target = ("class", [dataset.class_names[int(t)] for t in dataset.y[:rows]])
        else:
            values = np.asarray(dataset.y[:rows]).reshape(rows, -1)
            target = ("target", [", ".join(number_text(v) for v in row) for row in values])
        self.preview_rows.show_rows(x, column_names(dataset.feature_names, x.shape[1]),
                                    extra=[(*target, [None] * rows)])
