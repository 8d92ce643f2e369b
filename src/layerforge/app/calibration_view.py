"""How far the model's confidence can be trusted [calibrationView], as Neural Network Console's
likelihood graph: the predictions bucketed by confidence (the probability the model gave its
predicted class), each bucket's bar as high as the share of it predicted right.

On the dashed diagonal a model is as often right as it claims; bars under it are over-confident,
over it under-confident. A dot marks each bucket's mean confidence and accuracy, larger for more
samples; the tooltip gives each bucket in words and the expected calibration error (the samples'
mean gap between confidence and accuracy)."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from . import theme
from .plot_theme import follow_plot_widget

MAX_DOT = 14   # px across the dot of the fullest bucket


class CalibrationView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("calibrationView")
        self.setAccessibleName("Calibration: accuracy against confidence")
        self.caption = QLabel("Calibration")
        self.caption.setObjectName("calibrationCaption")
        self.caption.setWordWrap(True)
        theme.follow(self.caption, lambda caption: caption.setStyleSheet(
            f"color: {theme.hex_color('text.caption')}; font-size: 9pt;"))
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("calibrationPlot")
        self.plot.setMinimumSize(100, 100)
        item = self.plot.getPlotItem()
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        item.setMenuEnabled(False)
        item.setXRange(0, 1, padding=0.02)
        item.setYRange(0, 1, padding=0.04)
        item.setLabel("bottom", "confidence")
        item.setLabel("left", "accuracy")
        for name in ("bottom", "left"):
            item.getAxis(name).setTicks([[(v, f"{v:g}") for v in (0, 0.5, 1)], [(v, "") for v in (0.25, 0.75)]])
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.1)
        self.diagonal = pg.PlotDataItem([0, 1], [0, 1])
        self.dots = pg.ScatterPlotItem()
        for part in (self.bars, self.diagonal, self.dots):
            item.addItem(part)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)
        self.bins: list = []
        self.split = ""
        self.error = math.nan
        follow_plot_widget(self.plot)
        theme.follow(self, CalibrationView._draw)

    @property
    def has_bins(self) -> bool:
        return bool(self.bins)

    def set_bins(self, bins, split: str = "validation", error: float = math.nan, epoch: int | None = None) -> None:
        """Show ``bins`` (training.errors_by_cell.CalibrationBin, one per bucket) of ``split``; None or
        [] empties the view."""
        self.bins, self.split, self.error = list(bins or []), split, error
        count = sum(b.count for b in self.bins)
        which = f" · epoch {epoch}" if epoch is not None else ""
        gap = f", calibration error {error:.1%}" if math.isfinite(error) else ""
        self.caption.setText(f"Calibration ({split}{which}{gap})\nbars: the share right per confidence bucket; "
                             f"on the dashed line the model is as often right as it is sure"
                             if self.bins else "Calibration: shown when a classification run ends")
        self.setToolTip(f"Calibration of the {split} split{which}, {count:,} samples{gap}. Each bar is a confidence "
                        f"bucket, as high as the share of its samples predicted right (the dot: their mean "
                        f"confidence, larger for more samples). On the dashed line the model is as often right "
                        f"as it claims; under it, over-confident.\n" + self.describe())
        self._draw()

    def describe(self) -> str:
        """Each non-empty bucket in words (the tooltip, and what a screen reader gets)."""
        return "\n".join(f"confidence {b.low:.0%}–{b.high:.0%}: {b.count:,} samples, mean confidence "
                         f"{b.mean_confidence:.0%}, {b.accuracy:.0%} right" for b in self.bins if b.count)

    def _draw(self) -> None:
        filled = [b for b in self.bins if b.count]
        accent, muted = theme.color("confusion.right"), theme.color("chart.muted")
        bar_fill = theme.color("confusion.right", 90)
        width = (self.bins[0].high - self.bins[0].low) if self.bins else 0.1
        self.bars.setOpts(x=[(b.low + b.high) / 2 for b in filled], height=[b.accuracy for b in filled],
                          width=width * 0.92, brush=pg.mkBrush(bar_fill), pen=pg.mkPen(accent, width=1))
        self.diagonal.setPen(pg.mkPen(muted, width=1.2, style=pg.QtCore.Qt.PenStyle.DashLine))
        peak = max((b.count for b in filled), default=1)
        sizes = [4 + (MAX_DOT - 4) * math.sqrt(b.count / peak) for b in filled]
        self.dots.setData(x=np.array([b.mean_confidence for b in filled]), y=np.array([b.accuracy for b in filled]),
                          size=sizes, brush=pg.mkBrush(accent), pen=pg.mkPen(theme.color("chart.point.outline")))
