"""Dataset choice [datasetCombo] among the built-ins, with a one-line summary and a small preview plot."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QLabel, QVBoxLayout

from ..data import DataError, list_datasets, load_dataset
from .image_grid import to_pixmap
from .predictions import class_color


class DatasetPanel(QGroupBox):
    """Emits ``datasetChanged(dataset)`` with the loaded ArrayDataset when the choice changes."""

    datasetChanged = Signal(object)
    message = Signal(str)

    def __init__(self, parent=None):
        super().__init__("Data", parent)
        self.setObjectName("datasetPanel")
        self.combo = QComboBox()
        self.combo.setObjectName("datasetCombo")
        self.combo.setAccessibleName("Dataset")
        for info in list_datasets():
            self.combo.addItem(f"{info.name} — {info.task}", info.name)
            self.combo.setItemData(self.combo.count() - 1, info.description, role=3)  # Qt.ToolTipRole
        self.summary = QLabel()
        self.summary.setObjectName("datasetSummary")
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color: #455a64;")
        self.preview = pg.PlotWidget(background="w")
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addWidget(self.combo)
        layout.addWidget(self.summary)
        layout.addWidget(self.preview)
        layout.addWidget(self.preview_image)
        self.dataset = None
        self.combo.currentIndexChanged.connect(self._changed)

    @property
    def dataset_name(self) -> str:
        return self.combo.currentData()

    def select(self, name: str, options: dict | None = None) -> None:
        """Show dataset ``name`` (emitting ``datasetChanged`` even when it is already selected)."""
        index = self.combo.findData(name)
        if index < 0:
            self.message.emit(f"Unknown built-in dataset {name!r}")
            return
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        self._load(name, options or {})

    def _changed(self, index: int) -> None:
        self._load(self.combo.itemData(index), {})

    def _load(self, name: str, options: dict) -> None:
        try:
            dataset = load_dataset(name, **options)
        except DataError as error:
            self.message.emit(str(error))
            return
        self.dataset = dataset
        self.options = dict(options)
        self._describe(dataset)
        self._draw_preview(dataset)
        self.datasetChanged.emit(dataset)

    def _describe(self, dataset) -> None:
        shape = "x".join(str(d) for d in dataset.input_shape)
        what = (f"{len(dataset.class_names)} classes" if dataset.task == "classification"
                else f"{dataset.y.shape[1] if dataset.y.ndim > 1 else 1} output value(s)")
        self.summary.setText(f"{len(dataset.x):,} samples · input {shape} · {what}")
        self.summary.setToolTip(dataset.description)

    def _draw_preview(self, dataset) -> None:
        plot = self.preview.getPlotItem()
        plot.clear()
        images = dataset.kind == "images"
        self.preview.setVisible(not images)
        self.preview_image.setVisible(images)
        x, y = dataset.x, dataset.y
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
                                            brush=pg.mkBrush("#546e7a")))
        elif dataset.kind == "sequence":
            for i in range(min(4, len(x))):
                plot.plot(x[i, :, 0], pen=pg.mkPen(class_color(int(y[i])) if dataset.task == "classification"
                                                   else "#546e7a", width=1.5))
        else:
            labels = y.astype(int) if dataset.task == "classification" else np.zeros(len(y), int)
            for label in np.unique(labels):
                mask = labels == label
                plot.addItem(pg.ScatterPlotItem(x[mask, 0], x[mask, min(1, x.shape[1] - 1)], size=4, pen=None,
                                                brush=pg.mkBrush(class_color(label))))
        plot.autoRange()
