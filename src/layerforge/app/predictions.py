"""Live predictions [predictionView], drawn by task from the Trainer's PredictionSnapshot:

- 1-D regression: the fitted curve over the data points;
- 2-D classification: the decision boundary (class colour, paler where unsure) under the points;
- images: a grid of samples with predicted and true labels (green right, red wrong);
- sequences / tables: the first samples with predicted and true labels.
A confusion matrix sits beside it for classification. Only the latest snapshot is drawn, when the
window's frame clock calls ``draw_pending``.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from .charts import cache_painting
from .confusion import ConfusionMatrixView
from .image_grid import ImageGrid

CLASS_COLORS = ["#1e88e5", "#e53935", "#43a047", "#fb8c00", "#8e24aa", "#00acc1", "#6d4c41", "#d81b60",
                "#7cb342", "#3949ab"]


def class_color(index: int) -> QColor:
    return QColor(CLASS_COLORS[int(index) % len(CLASS_COLORS)])


def boundary_image(grid: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """RGBA (H, W, 4) uint8: each class's colour, faded towards white where the model is unsure."""
    palette = np.array([[class_color(i).red(), class_color(i).green(), class_color(i).blue()]
                        for i in range(len(CLASS_COLORS))], dtype=np.float32)
    rgb = palette[np.asarray(grid, dtype=np.int64) % len(CLASS_COLORS)]
    strength = np.clip(np.asarray(confidence, dtype=np.float32), 0.0, 1.0)[..., None] * 0.55
    rgb = 255.0 * (1.0 - strength) + rgb * strength
    alpha = np.full(rgb.shape[:2] + (1,), 255.0, dtype=np.float32)
    return np.concatenate([rgb, alpha], axis=-1).astype(np.uint8)


class PredictionView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("predictionView")
        self.setAccessibleName("Predictions")
        self.title = QLabel("Predictions")
        self.title.setObjectName("predictionTitle")
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot = self.plot_widget.getPlotItem()
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        cache_painting(self.plot.getAxis("left"), self.plot.getAxis("bottom"))
        self.image_item = pg.ImageItem()
        self.image_item.setZValue(-10)
        self.plot.addItem(self.image_item)
        # One scatter per class with a single brush: pyqtgraph draws that fast, while a brush per point
        # costs ~1 s for a few thousand points. Points are only re-sent when the data changes.
        self.point_layers: list[pg.ScatterPlotItem] = []
        self._points_key = None
        self.fit_curve = self.plot.plot(pen=pg.mkPen("#e65100", width=3), name="model")
        self.image_grid = ImageGrid()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.plot_widget)
        self.stack.addWidget(self.image_grid)
        self.confusion = ConfusionMatrixView()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.stack, 5)
        row.addWidget(self.confusion, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.title)
        layout.addLayout(row, 1)
        self.snapshots_shown = 0
        self.last_kind: str | None = None
        self.last_epoch: int | None = None
        self._pending = None
        self._pending_confusion = None
        self._pending_kept = False
        self._range_fresh = True   # the next predictions drawn set the plot's range (else it only grows)
        self.shows = "nothing"     # "data", "predictions", "stale" or "nothing"

    # -- before training: the data alone ---------------------------------------------------------

    def show_dataset(self, dataset) -> None:
        """Show the data before any model exists (points, curve samples, or labelled images)."""
        self._pending = self._pending_confusion = None
        self.last_kind, self.last_epoch = None, None
        self._range_fresh, self.shows = True, "data"
        self.confusion.set_matrix(None, dataset.class_names)
        self.confusion.setVisible(dataset.task == "classification")
        x, y = dataset.x, dataset.y
        self.image_item.clear()
        self.fit_curve.setData([], [])
        if dataset.kind == "points2d":
            self.stack.setCurrentWidget(self.plot_widget)
            self._set_points(x[:, 0], x[:, 1], y)
            self.title.setText(f"<b>{dataset.name}</b>: the data (press Train to see the decision boundary)")
        elif dataset.kind == "curve1d":
            self.stack.setCurrentWidget(self.plot_widget)
            self._set_points(x[:, 0], np.asarray(y).reshape(len(y), -1)[:, 0], None)
            self.title.setText(f"<b>{dataset.name}</b>: the data (press Train to see the fitted curve)")
        elif dataset.kind == "images":
            self.stack.setCurrentWidget(self.image_grid)
            count = min(len(x), self.image_grid.capacity)
            names = dataset.class_names
            self.image_grid.set_images(x[:count], [names[int(t)] if names else str(t) for t in y[:count]])
            self.title.setText(f"<b>{dataset.name}</b>: sample images with their labels")
        else:
            self.stack.setCurrentWidget(self.plot_widget)
            self._set_points(np.arange(len(x)), np.asarray(x).reshape(len(x), -1)[:, 0],
                             y if dataset.task == "classification" else None)
            self.title.setText(f"<b>{dataset.name}</b>: first input feature per sample")
        self.plot.autoRange()

    def show_nothing(self, why: str) -> None:
        """No data to show (it could not be loaded): an empty plot and ``why``."""
        self._pending = self._pending_confusion = None
        self.last_kind, self.last_epoch = None, None
        self._range_fresh, self.shows = True, "nothing"
        self.image_item.clear()
        self.fit_curve.setData([], [])
        self._set_points(np.zeros(0), np.zeros(0), None)
        self.confusion.set_matrix(None, [])
        self.stack.setCurrentWidget(self.plot_widget)
        self.title.setText(why)

    def show_stale(self, dataset, reason: str) -> None:
        """The predictions no longer describe the model: show the data alone, and say why."""
        if dataset is not None:
            self.show_dataset(dataset)
        self.shows = "stale"
        self.title.setText(f"<b>Predictions cleared</b>: {reason}")

    def _set_points(self, xs, ys, labels) -> None:
        xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
        key = (xs.shape, hash(xs.tobytes()), hash(ys.tobytes()),
               None if labels is None else hash(np.asarray(labels).tobytes()))
        if key == self._points_key:
            return
        self._points_key = key
        groups = [(xs, ys, None)] if labels is None else [
            (xs[mask], ys[mask], label) for label in np.unique(np.asarray(labels).astype(int))
            for mask in [np.asarray(labels).astype(int) == label]]
        while len(self.point_layers) < len(groups):
            layer = pg.ScatterPlotItem()
            cache_painting(layer)  # the data stays put while the boundary under it changes
            self.plot.addItem(layer)
            self.point_layers.append(layer)
        for layer, (gx, gy, label) in zip(self.point_layers, groups):
            if label is None:
                layer.setData(gx, gy, brush=pg.mkBrush(96, 125, 139, 170), pen=pg.mkPen(None), size=5)
            else:
                layer.setData(gx, gy, brush=pg.mkBrush(class_color(label)), pen=pg.mkPen("w", width=0.8), size=7)
        for layer in self.point_layers[len(groups):]:
            layer.setData([], [])

    def point_count(self) -> int:
        return sum(len(layer.data) for layer in self.point_layers)

    # -- during training -------------------------------------------------------------------------

    def set_snapshot(self, snapshot, kept: bool = False) -> None:
        """Remember the newest snapshot; the next frame draws it (older undrawn ones are skipped).
        ``kept``: the predictions of the weights the run keeps (its title says so)."""
        self._pending, self._pending_kept = snapshot, kept

    def set_confusion(self, matrix, class_names, epoch: int | None = None, kept: bool = False) -> None:
        self._pending_confusion = (matrix, class_names, epoch, kept)

    def draw_pending(self) -> bool:
        """Draw what arrived since the last frame; True when something was drawn."""
        snapshot, self._pending = self._pending, None
        confusion, self._pending_confusion = self._pending_confusion, None
        if snapshot is not None:
            self.draw_snapshot(snapshot, self._pending_kept)
        if confusion is not None:
            self.confusion.set_matrix(*confusion)
        return snapshot is not None or confusion is not None

    def draw_snapshot(self, snapshot, kept: bool = False) -> None:
        data, kind = snapshot.data, snapshot.kind
        when = "before training" if snapshot.epoch == 0 else f"after epoch {snapshot.epoch}"
        if kept:
            when += " (the kept weights)"
        self.shows = "predictions"
        if kind == "boundary2d":
            self._draw_boundary(data)
            self.title.setText(f"Decision boundary {when}: colour = predicted class (pale where unsure), "
                               f"dots = data in their true class")
        elif kind == "curve1d":
            self._draw_curve(data)
            self.title.setText(f"Fitted curve {when} (orange: model, grey: data)")
        elif kind == "reconstruction":
            self._draw_images(data, kind)
            self.title.setText(f"Reconstructions {when}: each input, then what the model rebuilt from it")
        elif kind == "images":
            self._draw_images(data, kind)
            self.title.setText(f"Predicted labels {when}: green right, red wrong (true label in brackets)")
        else:
            self._draw_samples(data)
            self.title.setText(f"Predictions {when} on the first samples")
        self.snapshots_shown += 1
        self.last_kind, self.last_epoch = kind, snapshot.epoch
        if self.stack.currentWidget() is self.plot_widget:
            self._cover_plotted()

    def _cover_plotted(self) -> None:
        """Keep every plotted point in view: the first predictions after the data set the range;
        later ones only widen it (a range that changes every frame would rebuild the axes)."""
        xs, ys = [], []
        for item in [self.fit_curve] + self.point_layers:
            x, y = (item.xData, item.yData) if item is self.fit_curve else (item.data["x"], item.data["y"])
            if x is not None and len(x):
                xs.append(np.asarray(x, dtype=np.float64))
                ys.append(np.asarray(y, dtype=np.float64))
        if self.image_item.image is not None:
            rect = self.image_item.mapRectToParent(self.image_item.boundingRect())
            xs.append(np.array([rect.left(), rect.right()]))
            ys.append(np.array([rect.top(), rect.bottom()]))
        if not xs:
            return
        x, y = np.concatenate(xs), np.concatenate(ys)
        x, y = x[np.isfinite(x)], y[np.isfinite(y)]
        if not len(x) or not len(y):
            return
        (x0, x1), (y0, y1) = self.plot.viewRange()
        low_x, high_x, low_y, high_y = float(x.min()), float(x.max()), float(y.min()), float(y.max())
        if self._range_fresh or low_x < x0 or high_x > x1 or low_y < y0 or high_y > y1:
            if not self._range_fresh:
                low_x, high_x = min(low_x, x0), max(high_x, x1)
                low_y, high_y = min(low_y, y0), max(high_y, y1)
            self.plot.setRange(xRange=(low_x, high_x), yRange=(low_y, high_y), padding=0.05)
            self._range_fresh = False

    def _draw_boundary(self, data) -> None:
        self.stack.setCurrentWidget(self.plot_widget)
        xx, yy = np.asarray(data["xx"]), np.asarray(data["yy"])
        image = boundary_image(data["grid"], data["confidence"])
        # ImageItem indexes [x, y]; the meshgrid is [row=y, col=x].
        self.image_item.setImage(np.transpose(image, (1, 0, 2)), autoLevels=False)
        x0, x1, y0, y1 = float(xx.min()), float(xx.max()), float(yy.min()), float(yy.max())
        self.image_item.setRect(pg.QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
        points = np.asarray(data["x"])
        self._set_points(points[:, 0], points[:, 1], data["labels"])
        self.fit_curve.setData([], [])

    def _draw_curve(self, data) -> None:
        self.stack.setCurrentWidget(self.plot_widget)
        self.image_item.clear()
        y_data = np.asarray(data["y_data"]).reshape(len(data["x_data"]), -1)[:, 0]
        y_pred = np.asarray(data["y_pred"]).reshape(len(data["x_grid"]), -1)[:, 0]
        self._set_points(np.asarray(data["x_data"]).ravel(), y_data, None)
        self.fit_curve.setData(np.asarray(data["x_grid"]).ravel(), y_pred)

    def _draw_images(self, data, kind) -> None:
        self.stack.setCurrentWidget(self.image_grid)
        if kind == "reconstruction":
            self.confusion.setVisible(False)  # nothing is classified
            originals, rebuilt = np.asarray(data["images"]), np.asarray(data["reconstructions"])
            pairs = min(len(originals), self.image_grid.capacity // 2)
            images = [image for index in range(pairs) for image in (originals[index], rebuilt[index])]
            self.image_grid.set_images(images, ["input", "rebuilt"] * pairs)
            return
        names = list(data.get("class_names", []))
        def label(index):
            return names[int(index)] if names else str(int(index))
        captions, correct, tips = [], [], []
        for true, pred in zip(data["true"], data["pred"]):
            right = int(true) == int(pred)
            captions.append(label(pred) if right else f"{label(pred)} (is {label(true)})")
            correct.append(right)
            tips.append(f"predicted {label(pred)}, true {label(true)}")
        self.image_grid.set_images(np.asarray(data["images"]), captions, correct, tips)

    def _draw_samples(self, data) -> None:
        self.stack.setCurrentWidget(self.plot_widget)
        self.image_item.clear()
        true, pred = np.asarray(data["true"]), np.asarray(data["pred"])
        index = np.arange(len(true))
        if true.ndim == 1 and "class_names" in data:
            self._set_points(index, pred.astype(float), pred)
            self.fit_curve.setData(index, true.astype(float))
        else:
            self._set_points(index, true.reshape(len(true), -1)[:, 0], None)
            self.fit_curve.setData(index, pred.reshape(len(pred), -1)[:, 0])
