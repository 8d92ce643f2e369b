"""The prediction view's x-y plot [predictionPlot]: a decision boundary under the data points, a
fitted curve over them, or predicted against actual values around the identity line.

Its range follows what it shows: the first drawing after ``reset_range`` (new data, another task,
a new run) fits it; later ones widen it when something falls outside, and fit it again when what is
drawn has shrunk to under half the view (a range that changed at every frame would rebuild the axes).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from . import theme
from .charts import cache_painting
from .class_colors import CLASS_COLORS, class_color
from .plot_theme import style_plot_widget

FIT_COLOR = "#e65100"   # the model's line (the data and the identity line take the theme's colours)
SHRUNK = 0.5   # refit when the drawn extent is under this share of the view (per axis)


def boundary_image(grid: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """RGBA (H, W, 4) uint8: each class's colour, faded towards the chart's background (white, or the
    dark theme's) where the model is unsure."""
    palette = np.array([[class_color(i).red(), class_color(i).green(), class_color(i).blue()]
                        for i in range(len(CLASS_COLORS))], dtype=np.float32)
    rgb = palette[np.asarray(grid, dtype=np.int64) % len(CLASS_COLORS)]
    strength = np.clip(np.asarray(confidence, dtype=np.float32), 0.0, 1.0)[..., None] * 0.55
    back = theme.color("chart.background")
    rgb = np.array([back.red(), back.green(), back.blue()], dtype=np.float32) * (1.0 - strength) + rgb * strength
    alpha = np.full(rgb.shape[:2] + (1,), 255.0, dtype=np.float32)
    return np.concatenate([rgb, alpha], axis=-1).astype(np.uint8)


class PredictionPlot(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("predictionPlot")
        self.plot = self.getPlotItem()
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        cache_painting(self.plot.getAxis("left"), self.plot.getAxis("bottom"))
        self.image_item = pg.ImageItem()
        self.image_item.setZValue(-10)
        self.plot.addItem(self.image_item)
        # One scatter per class with a single brush: pyqtgraph draws that fast, while a brush per point
        # costs ~1 s for a few thousand points. Points are only re-sent when the data changes.
        self.point_layers: list[pg.ScatterPlotItem] = []
        self._points_key = None
        self._layer_labels: list[int | None] = []   # the class each point layer shows (None: unlabelled)
        self.identity_line = self.plot.plot()
        self.identity_line.setZValue(-5)
        self.fit_curve = self.plot.plot(pen=pg.mkPen(FIT_COLOR, width=3), name="model")
        self._range_fresh = True
        theme.follow(self, PredictionPlot._restyle)

    def _restyle(self) -> None:
        style_plot_widget(self)
        self.identity_line.setPen(pg.mkPen(theme.color("chart.muted"), width=1.2,
                                           style=pg.QtCore.Qt.PenStyle.DashLine))
        for layer, label in zip(self.point_layers, self._layer_labels):
            self._paint_layer(layer, label)

    @staticmethod
    def _paint_layer(layer: pg.ScatterPlotItem, label: int | None) -> None:
        if label is None:
            layer.setBrush(pg.mkBrush(theme.color("chart.data", 170)))
            layer.setPen(pg.mkPen(None))
            layer.setSize(5)
        else:
            layer.setBrush(pg.mkBrush(class_color(label)))
            layer.setPen(pg.mkPen(theme.color("chart.point.outline"), width=0.8))
            layer.setSize(7)

    # -- what it draws ---------------------------------------------------------------------------

    def clear_drawing(self) -> None:
        self.image_item.clear()
        self.fit_curve.setData([], [])
        self.identity_line.setData([], [])
        self.set_points(np.zeros(0), np.zeros(0), None)
        self.set_axis_labels("", "")

    def show_points(self, xs, ys, labels, x_label: str = "", y_label: str = "") -> None:
        """The data alone (before training): points, in their class's colour when ``labels``."""
        self.clear_drawing()
        self.set_points(xs, ys, labels)
        self.set_axis_labels(x_label, y_label)
        self.reset_range()
        self.cover_plotted()

    def draw_boundary(self, data) -> None:
        xx, yy = np.asarray(data["xx"]), np.asarray(data["yy"])
        image = boundary_image(data["grid"], data["confidence"])
        # ImageItem indexes [x, y]; the meshgrid is [row=y, col=x].
        self.image_item.setImage(np.transpose(image, (1, 0, 2)), autoLevels=False)
        x0, x1, y0, y1 = float(xx.min()), float(xx.max()), float(yy.min()), float(yy.max())
        self.image_item.setRect(pg.QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
        points = np.asarray(data["x"])
        self.set_points(points[:, 0], points[:, 1], data["labels"])
        self.fit_curve.setData([], [])
        self.identity_line.setData([], [])
        axes = data.get("axes")   # a table's plane: the two features it spans, the rest at their means
        if axes is not None and len(axes) == 2:
            self.set_axis_labels(f"{axes[0]}  (other features at their means)", str(axes[1]))
        else:
            self.set_axis_labels("", "")
        self.cover_plotted()

    def draw_curve(self, data) -> None:
        self.image_item.clear()
        self.identity_line.setData([], [])
        y_data = np.asarray(data["y_data"]).reshape(len(data["x_data"]), -1)[:, 0]
        y_pred = np.asarray(data["y_pred"]).reshape(len(data["x_grid"]), -1)[:, 0]
        self.set_points(np.asarray(data["x_data"]).ravel(), y_data, None)
        self.fit_curve.setData(np.asarray(data["x_grid"]).ravel(), y_pred)
        self.set_axis_labels("", "")
        self.cover_plotted()

    def draw_predicted_vs_actual(self, true, pred) -> None:
        """One dot per row at (actual, predicted), a colour per output when there are several; the
        dashed identity line is where a prediction is exact. Both axes span data and predictions."""
        true, pred = np.asarray(true, dtype=np.float64), np.asarray(pred, dtype=np.float64)
        true, pred = true.reshape(len(true), -1), pred.reshape(len(pred), -1)
        outputs = true.shape[1]
        labels = None if outputs == 1 else np.tile(np.arange(outputs), len(true))
        self.image_item.clear()
        self.fit_curve.setData([], [])
        self.set_points(true.ravel(), pred.ravel(), labels)
        both = np.concatenate([true.ravel(), pred.ravel()])
        both = both[np.isfinite(both)]
        if len(both):
            low, high = float(both.min()), float(both.max())
            margin = 0.05 * max(high - low, 1e-9)
            self.identity_line.setData([low - margin, high + margin], [low - margin, high + margin])
        else:
            self.identity_line.setData([], [])
        self.set_axis_labels("actual", "predicted")
        self.cover_plotted()

    def set_axis_labels(self, bottom: str, left: str) -> None:
        for name, text in (("bottom", bottom), ("left", left)):
            axis = self.plot.getAxis(name)
            if (axis.labelText or "") != text:
                axis.setLabel(text)
                axis.showLabel(bool(text))

    def set_points(self, xs, ys, labels) -> None:
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
        self._layer_labels = [label for _, _, label in groups] + [None] * (len(self.point_layers) - len(groups))
        for layer, (gx, gy, label) in zip(self.point_layers, groups):
            layer.setData(gx, gy)
            self._paint_layer(layer, label)
        for layer in self.point_layers[len(groups):]:
            layer.setData([], [])

    def point_count(self) -> int:
        return sum(len(layer.data) for layer in self.point_layers)

    # -- its range -------------------------------------------------------------------------------

    def reset_range(self) -> None:
        """The next drawing sets the range afresh (the data, the task or the run changed)."""
        self._range_fresh = True

    def drawn_extent(self) -> tuple[float, float, float, float] | None:
        """(x0, x1, y0, y1) of every finite point, curve and image drawn; None when nothing is."""
        xs, ys = [], []
        for item in [self.fit_curve, self.identity_line] + self.point_layers:
            if isinstance(item, pg.ScatterPlotItem):
                x, y = item.data["x"], item.data["y"]
            else:
                x, y = item.xData, item.yData
            if x is not None and len(x):
                xs.append(np.asarray(x, dtype=np.float64))
                ys.append(np.asarray(y, dtype=np.float64))
        if self.image_item.image is not None:
            rect = self.image_item.mapRectToParent(self.image_item.boundingRect())
            xs.append(np.array([rect.left(), rect.right()]))
            ys.append(np.array([rect.top(), rect.bottom()]))
        if not xs:
            return None
        x, y = np.concatenate(xs), np.concatenate(ys)
        x, y = x[np.isfinite(x)], y[np.isfinite(y)]
        if not len(x) or not len(y):
            return None
        return float(x.min()), float(x.max()), float(y.min()), float(y.max())

    def cover_plotted(self) -> None:
        extent = self.drawn_extent()
        if extent is None:
            return
        low_x, high_x, low_y, high_y = extent
        (x0, x1), (y0, y1) = self.plot.viewRange()
        outside = low_x < x0 or high_x > x1 or low_y < y0 or high_y > y1
        # A single value (no extent) is kept in view by ``outside``; it never counts as shrunk.
        shrunk = (0 < high_x - low_x < SHRUNK * (x1 - x0)) or (0 < high_y - low_y < SHRUNK * (y1 - y0))
        if self._range_fresh or outside or shrunk:
            if outside and not (self._range_fresh or shrunk):
                low_x, high_x = min(low_x, x0), max(high_x, x1)
                low_y, high_y = min(low_y, y0), max(high_y, y1)
            self.plot.setRange(xRange=(low_x, high_x), yRange=(low_y, high_y), padding=0.05)
            self._range_fresh = False
