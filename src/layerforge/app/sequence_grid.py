"""Sequences as small plots, one per sample [sequenceGrid]: each wave over its own time steps.

- classified: the input wave in the colour of its predicted class, titled with the prediction and
  the true class (green when right, red when wrong);
- regressed: the input in grey, the true target sequence dashed, the predicted one in orange; a
  target as long as the input is drawn over the same steps (one value per step), any other length
  after the input's end (what comes next);
- before training: the data alone (the wave in its class's colour, or with its target).
"""
from __future__ import annotations

import html
import re

import numpy as np
import pyqtgraph as pg

from . import theme
from .charts import cache_painting
from .class_colors import class_color
from .plot_theme import style_plot

COLUMNS, ROWS = 4, 2          # at most; fewer where the view is small
CELL_WIDTH, CELL_HEIGHT = 125, 115   # the least a cell needs for its title, ticks and a readable wave
FEATURES_DRAWN = 4            # the first features of a step; the first is drawn boldest
PRED_COLOR = "#e65100"        # the model's line, as on the fitted curve (the input and truth take the theme's)
MARKED_TARGETS = 32           # targets this short get a marker per value (a single value is a dot)


def plain(text: str) -> str:
    """A title's words without its markup."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


class SequenceCell:
    """One small plot: up to FEATURES_DRAWN input curves, a true and a predicted target curve."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.showGrid(x=True, y=True, alpha=0.15)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setStyle(tickFont=pg.QtGui.QFont(axis.font().family(), 7), tickLength=-3)
            cache_painting(axis)
        plot.getAxis("left").setWidth(28)
        self.inputs = [plot.plot() for _ in range(FEATURES_DRAWN)]
        self.truth = plot.plot()
        self.predicted = plot.plot()
        self.title_html = ""
        self._title_theme = ""
        self.tooltip = ""
        self._range = None

    def clear(self) -> None:
        for curve in self.inputs + [self.truth, self.predicted]:
            curve.setData([], [])
        self.set_title("", "")

    def set_title(self, text: str, tooltip: str) -> None:
        if (text, theme.name()) != (self.title_html, self._title_theme):
            self.plot.setTitle(text or None, size="8pt", color=theme.hex_color("chart.text"))
            self.title_html, self._title_theme = text, theme.name()
        if tooltip != self.tooltip:
            self.plot.setToolTip(tooltip)
            self.tooltip = tooltip

    def draw_inputs(self, sequence: np.ndarray, color) -> None:
        steps = np.arange(len(sequence), dtype=np.float64)
        features = sequence.reshape(len(sequence), -1)
        for index, curve in enumerate(self.inputs):
            if index < features.shape[1]:
                pen_color = pg.mkColor(color)
                if index:                      # further features: thinner and paler than the first
                    pen_color.setAlpha(110)
                curve.setData(steps, features[:, index], pen=pg.mkPen(pen_color, width=2.0 if index == 0 else 1.0))
            else:
                curve.setData([], [])

    def draw_targets(self, steps: int, true: np.ndarray | None, pred: np.ndarray | None) -> None:
        for curve, values, style in ((self.truth, true, "true"), (self.predicted, pred, "pred")):
            if values is None:
                curve.setData([], [])
                continue
            values = np.asarray(values, dtype=np.float64).ravel()
            x = target_steps(steps, len(values))
            marked = len(values) <= MARKED_TARGETS
            if style == "true":
                truth = theme.color("chart.text")
                curve.setData(x, values, pen=pg.mkPen(truth, width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine),
                              symbol="o" if marked else None, symbolSize=6, symbolPen=pg.mkPen(truth),
                              symbolBrush=None)
            else:
                curve.setData(x, values, pen=pg.mkPen(PRED_COLOR, width=2.0), symbol="o" if marked else None,
                              symbolSize=4, symbolPen=None, symbolBrush=pg.mkBrush(PRED_COLOR))

    def fit_range(self) -> None:
        """x over the sequence's own steps (and its targets'), y over everything drawn."""
        xs, ys = [], []
        for curve in self.inputs + [self.truth, self.predicted]:
            x, y = curve.getData()
            if x is not None and len(x):
                xs.append(x)
                ys.append(y)
        if not xs:
            return
        x, y = np.concatenate(xs), np.concatenate(ys)
        y = y[np.isfinite(y)]
        if not len(y):
            return
        wanted = (float(x.min()), float(x.max()), float(y.min()), float(y.max()))
        if wanted != self._range:
            low_y, high_y = wanted[2:]
            if high_y - low_y < 1e-9:
                low_y, high_y = low_y - 1.0, high_y + 1.0
            self.plot.setRange(xRange=wanted[:2], yRange=(low_y, high_y), padding=0.04)
            self._range = wanted


def target_steps(steps: int, count: int) -> np.ndarray:
    """Where a target of ``count`` values goes on a plot of a ``steps``-long input."""
    start = 0 if count == steps else steps
    return np.arange(start, start + count, dtype=np.float64)


class SequenceGrid(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("sequenceGrid")
        self.setAccessibleName("Sequences")
        self.ci.setSpacing(4)
        self.cells = [SequenceCell(pg.PlotItem()) for _ in range(COLUMNS * ROWS)]
        self.shown = 0          # cells holding a sequence
        self.grid = (0, 0)      # (columns, rows) laid out now
        self._drawn = None      # (method, arguments) of the last drawing, drawn again in a new theme
        self._arrange()
        theme.follow(self, SequenceGrid._restyle)

    def _restyle(self) -> None:
        self.setBackground(theme.color("chart.background"))
        for cell in self.cells:
            style_plot(cell.plot)
        if self._drawn is not None:
            method, args = self._drawn
            method(self, *args)

    @property
    def capacity(self) -> int:
        return len(self.cells)

    def visible_cells(self) -> list[SequenceCell]:
        """The cells a person sees: those holding a sequence, as many as the view has room for."""
        columns, rows = self.grid
        return self.cells[:min(self.shown, columns * rows)]

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if hasattr(self, "cells"):   # GraphicsView's own __init__ resizes before the cells exist
            self._arrange()

    def _arrange(self) -> None:
        """As many columns and rows of cells as the view's size gives each its least size (at least one)."""
        columns = max(1, min(COLUMNS, self.width() // CELL_WIDTH))
        rows = max(1, min(ROWS, self.height() // CELL_HEIGHT, -(-max(self.shown, 1) // columns)))
        if (columns, rows) == self.grid and len(self.ci.items) == min(self.shown, columns * rows):
            return
        self.grid = (columns, rows)
        self.ci.clear()
        for index, cell in enumerate(self.cells[:min(self.shown, columns * rows)]):
            self.ci.addItem(cell.plot, row=index // columns, col=index % columns)

    # -- what each use draws ---------------------------------------------------------------------

    def show_classified(self, sequences, pred, true, class_names, confidence=None) -> None:
        """Each wave in its predicted class's colour; the title names the prediction and the truth."""
        self._drawn = (SequenceGrid.show_classified, (sequences, pred, true, class_names, confidence))
        sequences, names = np.asarray(sequences), [str(n) for n in class_names]

        def name(index) -> str:
            return names[int(index)] if 0 <= int(index) < len(names) else str(int(index))

        def draw(cell, index):
            guess, truth = int(pred[index]), int(true[index])
            right = guess == truth
            sure = "" if confidence is None else f" ({100 * float(confidence[index]):.0f}% sure)"
            verdict = (f"<span style='color:{theme.hex_color('label.right')}'>right</span>" if right else
                       f"<span style='color:{theme.hex_color('label.wrong')}'><b>is {html.escape(name(truth))}</b></span>")
            # The wave carries the class's colour; its name keeps the text colour (a class colour as text
            # reads at under 4.5:1 on either theme's background: #e53935 on white is 4.2:1).
            cell.set_title(f"<b>{html.escape(name(guess))}</b>"
                           f"<br>{verdict}", f"predicted {name(guess)}{sure}, true class {name(truth)}")
            cell.draw_inputs(sequences[index], class_color(guess))
            cell.draw_targets(len(sequences[index]), None, None)

        self._show(len(sequences), draw)

    def show_labelled(self, sequences, labels, class_names) -> None:
        """The data alone: each wave in its class's colour, titled with the class."""
        self._drawn = (SequenceGrid.show_labelled, (sequences, labels, class_names))
        sequences, names = np.asarray(sequences), [str(n) for n in class_names]

        def draw(cell, index):
            label = int(labels[index])
            text = names[label] if label < len(names) else str(label)
            cell.set_title(f"<b>{html.escape(text)}</b>",
                           f"class {text}")
            cell.draw_inputs(sequences[index], class_color(label))
            cell.draw_targets(len(sequences[index]), None, None)

        self._show(len(sequences), draw)

    def show_regressed(self, sequences, true, pred=None) -> None:
        """Each input in grey with its true target sequence (dashed) and, after training starts, the
        predicted one; the title gives the sample's mean absolute error."""
        self._drawn = (SequenceGrid.show_regressed, (sequences, true, pred))
        sequences = np.asarray(sequences)
        true = np.asarray(true).reshape(len(sequences), -1)
        pred = None if pred is None else np.asarray(pred).reshape(len(sequences), -1)

        def draw(cell, index):
            if pred is None:
                cell.set_title(f"sample {index + 1}", "grey: input, dashed: its true target")
            else:
                error = float(np.mean(np.abs(pred[index] - true[index])))
                cell.set_title(f"error {error:.3g}", f"mean absolute error of this sample's predictions: {error:.4g}")
            cell.draw_inputs(sequences[index], theme.color("chart.data"))
            cell.draw_targets(len(sequences[index]), true[index], None if pred is None else pred[index])

        self._show(len(sequences), draw)

    def _show(self, count: int, draw) -> None:
        count = min(count, self.capacity)
        for index, cell in enumerate(self.cells):
            if index < count:
                draw(cell, index)
                cell.fit_range()
            else:
                cell.clear()
        self.shown = count
        self._arrange()

    # -- what tests and tooltips read ------------------------------------------------------------

    def titles(self) -> list[str]:
        return [plain(cell.title_html) for cell in self.visible_cells()]
