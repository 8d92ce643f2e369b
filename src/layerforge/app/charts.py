"""Live training charts [lossPlot]: loss per step (raw and smoothed) and per epoch on validation,
accuracy or R² per epoch, and the learning rate. The previous run stays on the plots, faded.

Events only append to buffers (:class:`~layerforge.app.buffers.Series`); the window's frame clock
(:mod:`~layerforge.app.frames`) calls ``redraw_if_dirty`` at most 30 times a second, so a fast run never
floods the GUI thread. Downsampling and clip-to-view keep 100,000 points smooth; during a run the
x axis spans the whole run, so its labels are not rebuilt at every frame.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from .buffers import Series, Smoother

TRAIN_COLOR, VAL_COLOR, LR_COLOR = "#1e88e5", "#e65100", "#6a1b9a"


def _pen(color: str, width: float = 2.0, alpha: int = 255, dashed: bool = False):
    qcolor = pg.mkColor(color)
    qcolor.setAlpha(alpha)
    style = pg.QtCore.Qt.PenStyle.DashLine if dashed else pg.QtCore.Qt.PenStyle.SolidLine
    return pg.mkPen(qcolor, width=width, style=style)


class TrainingCharts(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("lossPlot")
        self.setAccessibleName("Training charts")
        self.setBackground("w")
        self.ci.setSpacing(2)
        self.loss_plot = self._plot("Loss", 0)
        self.metric_plot = self._plot("Accuracy", 1)
        self.lr_plot = self._plot("Learning rate", 2)
        self.metric_plot.setXLink(self.loss_plot)
        self.lr_plot.setXLink(self.loss_plot)
        self.lr_plot.setLabel("bottom", "epoch")
        self.ci.layout.setRowStretchFactor(0, 5)
        self.ci.layout.setRowStretchFactor(1, 3)
        self.ci.layout.setRowStretchFactor(2, 2)
        # The previous run, faded, drawn first so the current run sits on top.
        self.previous_loss = self.loss_plot.plot(pen=_pen(TRAIN_COLOR, 1.5, 70))
        self.previous_val = self.loss_plot.plot(pen=_pen(VAL_COLOR, 1.5, 70, dashed=True))
        self.previous_metric = self.metric_plot.plot(pen=_pen(VAL_COLOR, 1.5, 70, dashed=True))
        self.raw_curve = self.loss_plot.plot(pen=_pen(TRAIN_COLOR, 1.0, 60))
        self.smooth_curve = self.loss_plot.plot(pen=_pen(TRAIN_COLOR, 2.2))
        self.val_curve = self.loss_plot.plot(pen=_pen(VAL_COLOR, 2.2), symbol="o", symbolSize=5,
                                             symbolBrush=VAL_COLOR, symbolPen=None)
        self.train_metric_curve = self.metric_plot.plot(pen=_pen(TRAIN_COLOR, 2.0))
        self.val_metric_curve = self.metric_plot.plot(pen=_pen(VAL_COLOR, 2.2), symbol="o", symbolSize=5,
                                                      symbolBrush=VAL_COLOR, symbolPen=None)
        self.lr_curve = self.lr_plot.plot(pen=_pen(LR_COLOR, 1.8))
        self.hint = pg.TextItem("Press Train to watch the loss fall",
                                color="#78909c", anchor=(0.5, 0.5))
        self.loss_plot.addItem(self.hint, ignoreBounds=True)
        self.hint.setPos(0.5, 0.5)
        for curve in (self.raw_curve, self.smooth_curve, self.lr_curve, self.previous_loss):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            curve.setSkipFiniteCheck(False)
        self.steps_per_epoch = 1
        self.total_epochs = 0
        self._shown_epochs = 0.0
        self.metric_name = "accuracy"
        self.raw = Series()
        self.smooth = Series()
        self.val_loss = Series(64)
        self.train_metric = Series(64)
        self.val_metric = Series(64)
        self.lr = Series()
        self._smoother = Smoother()
        self._dirty = False
        self.redraw_count = 0

    def _plot(self, title: str, row: int) -> pg.PlotItem:
        plot = self.addPlot(row=row, col=0)
        self._set_title(plot, title)
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setMenuEnabled(True)
        plot.getAxis("left").setWidth(44)
        return plot

    def _set_title(self, plot: pg.PlotItem, title: str) -> None:
        # A colour key in the title instead of a legend box, which would cover the curves of small plots.
        key = ""
        if title != "Learning rate":
            key = (f" &nbsp;<span style='color:{TRAIN_COLOR}'>━ train</span>"
                   f" &nbsp;<span style='color:{VAL_COLOR}'>━● validation</span>")
            if getattr(self, "has_previous", False):
                key += " &nbsp;<span style='color:#b0bec5'>━ previous run</span>"
        plot.setTitle(f"<span style='color:#37474f;font-size:9pt'><b>{title}</b>{key}</span>")

    # -- feeding ---------------------------------------------------------------------------------

    def begin_run(self, steps_per_epoch: int, task: str, total_epochs: int | None = None) -> None:
        """Fade the last run into the background and start empty curves."""
        self.has_previous = len(self.smooth) > 0
        if self.has_previous:
            self._set_title(self.loss_plot, "Loss")
            self.previous_loss.setData(self.smooth.x.copy(), self.smooth.y.copy())
            self.previous_val.setData(self.val_loss.x.copy(), self.val_loss.y.copy())
            self.previous_metric.setData(self.val_metric.x.copy(), self.val_metric.y.copy())
        for series in (self.raw, self.smooth, self.val_loss, self.train_metric, self.val_metric, self.lr):
            series.clear()
        self._smoother.reset()
        self.hint.setVisible(False)
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.total_epochs = total_epochs or 0
        self._shown_epochs = 0.0
        self._extend_x_range(1.0)
        self.metric_name = "accuracy" if task == "classification" else "r2"
        self._set_title(self.metric_plot, "Accuracy" if task == "classification" else "R² (1 = perfect fit)")
        self._dirty = True

    def _extend_x_range(self, x: float) -> None:
        """Grow the x axis in doublings (not every frame: rebuilding axis labels is costly)."""
        if x <= self._shown_epochs:
            return
        span = max(5.0, 2.0 * x)
        if self.total_epochs:
            span = min(span, float(self.total_epochs))
        self._shown_epochs = span
        self.loss_plot.setXRange(0, span, padding=0.01)  # linked: all three plots follow

    def add_batch(self, step: int, loss: float, lr: float) -> None:
        x = step / self.steps_per_epoch
        if x > self._shown_epochs:
            self._extend_x_range(x)
        if math.isfinite(loss):
            self.raw.append(x, loss)
            self.smooth.append(x, self._smoother(loss))
        self.lr.append(x, lr)
        self._dirty = True

    def add_epoch(self, epoch: int, train: dict, val: dict) -> None:
        if "loss" in val and math.isfinite(val["loss"]):
            self.val_loss.append(epoch, val["loss"])
        for series, metrics in ((self.train_metric, train), (self.val_metric, val)):
            value = metrics.get(self.metric_name)
            if value is not None and math.isfinite(value):
                series.append(epoch, value)
        self._dirty = True

    def clear_previous(self) -> None:
        """Forget both the previous and the current run (another project was opened)."""
        for curve in (self.previous_loss, self.previous_val, self.previous_metric):
            curve.setData([], [])
        for series in (self.raw, self.smooth, self.val_loss, self.train_metric, self.val_metric, self.lr):
            series.clear()
        self.has_previous = False
        self._set_title(self.loss_plot, "Loss")
        self.hint.setVisible(True)
        self._dirty = True

    # -- drawing ---------------------------------------------------------------------------------

    def redraw_if_dirty(self) -> bool:
        if not self._dirty:
            return False
        self._dirty = False
        self.redraw_count += 1
        self.raw_curve.setData(self.raw.x, self.raw.y)
        self.smooth_curve.setData(self.smooth.x, self.smooth.y)
        self.val_curve.setData(self.val_loss.x, self.val_loss.y)
        self.train_metric_curve.setData(self.train_metric.x, self.train_metric.y)
        self.val_metric_curve.setData(self.val_metric.x, self.val_metric.y)
        self.lr_curve.setData(self.lr.x, self.lr.y)
        if len(self.lr):
            top = float(np.nanmax(self.lr.y)) if np.isfinite(self.lr.y).any() else 1.0
            self.lr_plot.setYRange(0.0, top * 1.15 if top > 0 else 1.0, padding=0)
        return True

    def loss_points(self) -> tuple[np.ndarray, np.ndarray]:
        """The raw training loss handed to the chart so far (x in epochs), before downsampling for display."""
        x, y = self.raw_curve.xData, self.raw_curve.yData
        return (np.asarray([]), np.asarray([])) if x is None else (x, y)
