"""Runs compared on the training charts (issue #16): each selected run's smoothed training loss and
validation loss on the loss plot, and its validation metric on the metric plot, in a colour of its
own, with a legend naming the runs. Drawn over the current run's curves; cleared when fewer than
two runs are selected."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from . import theme
from .buffers import Smoother

RUN_COLORS = ["#00acc1", "#fdd835", "#e91e63", "#7cb342", "#8e24aa", "#ff7043", "#26a69a", "#5c6bc0"]


def run_color(index: int) -> str:
    return RUN_COLORS[index % len(RUN_COLORS)]


class RunOverlay:
    """The compared runs' curves on ``loss_plot`` and ``metric_plot``, with a legend on the first."""

    def __init__(self, loss_plot: pg.PlotItem, metric_plot: pg.PlotItem):
        self.loss_plot, self.metric_plot = loss_plot, metric_plot
        self.items: list[tuple[pg.PlotItem, pg.PlotDataItem]] = []
        self.legend = pg.LegendItem(offset=(-8, 4), labelTextSize="8pt", verSpacing=-6)
        self.legend.setParentItem(loss_plot.vb)
        self.legend.setVisible(False)
        self.names: list[str] = []
        theme.follow(self, RunOverlay._follow_theme)

    def show(self, runs) -> None:
        """Overlay ``runs`` (each: name, history, metric name) in order; [] clears."""
        self.clear()
        for index, (name, history, metric) in enumerate(runs):
            color = run_color(index)
            losses = np.asarray([math.nan if v is None else v for v in history.get("step_loss") or []], dtype=float)
            xs = np.asarray(history.get("step_x") or [], dtype=float)
            if len(xs) != len(losses):
                per_epoch = max(1, len(losses) // max(1, len(history.get("epoch") or [1])))
                xs = np.arange(1, len(losses) + 1, dtype=float) / per_epoch
            finite = np.isfinite(losses)
            smooth = Smoother().many(losses[finite]) if finite.any() else np.empty(0)
            train = self._add(self.loss_plot, xs[finite], smooth, pg.mkPen(color, width=2.0))
            epochs = np.asarray(history.get("epoch") or [], dtype=float)
            val = _floats(history.get("val_loss"), len(epochs))
            if len(val):
                self._add(self.loss_plot, epochs[:len(val)], val, pg.mkPen(color, width=1.6, style=Qt.PenStyle.DashLine))
            values = _floats(history.get(f"val_{metric}") or history.get(f"train_{metric}"), len(epochs))
            if len(values):
                self._add(self.metric_plot, epochs[:len(values)], values, pg.mkPen(color, width=2.0))
            self.legend.addItem(train, name)
            self.names.append(name)
        self.legend.setVisible(bool(self.names))

    def extent(self) -> tuple[float, float]:
        """(last x, highest loss) of the overlaid curves, for the charts' ranges."""
        xs = [float(np.nanmax(item.xData)) for _, item in self.items if item.xData is not None and len(item.xData)]
        ys = [float(np.nanmax(item.yData)) for plot, item in self.items
              if plot is self.loss_plot and item.yData is not None and len(item.yData)]
        return max(xs, default=0.0), max(ys, default=0.0)

    def clear(self) -> None:
        for plot, item in self.items:
            plot.removeItem(item)
        self.items = []
        self.legend.clear()
        self.legend.setVisible(False)
        self.names = []

    def _add(self, plot: pg.PlotItem, xs, ys, pen) -> pg.PlotDataItem:
        item = pg.PlotDataItem(xs, ys, pen=pen)
        item.setZValue(5)
        plot.addItem(item)
        self.items.append((plot, item))
        return item

    def _follow_theme(self) -> None:
        self.legend.setBrush(pg.mkBrush(theme.color("chart.background", 220)))
        self.legend.setPen(pg.mkPen(theme.color("chart.axis")))
        self.legend.setLabelTextColor(theme.color("chart.text"))


def _floats(values, length: int) -> np.ndarray:
    if not values:
        return np.empty(0)
    array = np.asarray([math.nan if v is None else v for v in values][:length], dtype=float)
    return array if np.isfinite(array).any() else np.empty(0)
