"""Marks on the training charts where settings changed during a run (issue #15): a dashed vertical
line through the loss, metric and learning-rate plots at the step the change took effect, labelled
on the loss plot ("lr 0.01 -> 0.003"); its tooltip says the epoch and step as well. Drawn again
from a run's record, so a reopened project shows them too."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from . import theme

LABEL_HEIGHTS = (0.88, 0.55, 0.22)   # of the plot's height: the labels of changes close together do not overlap
MARKER_COLOR = "#f9a825"   # amber: reads on the light and the dark chart background, and is no curve's colour


class SettingMarkers:
    """The marks of one run's setting changes, on ``plots`` (the first one carries the labels)."""

    def __init__(self, plots):
        self.plots = list(plots)
        self.lines: list[list[pg.InfiniteLine]] = []   # per change: one line per plot
        self.texts: list[str] = []
        theme.follow(self, SettingMarkers._follow_theme)

    def add(self, change: dict) -> None:
        """Mark ``change`` (a run's record of it: x on the epoch axis, text, epoch and step)."""
        x, text = float(change["x"]), str(change["text"])
        row = []
        for i, plot in enumerate(self.plots):
            line = pg.InfiniteLine(pos=x, angle=90, movable=False, pen=self._pen())
            if i == 0:
                # Labels of changes close together are set at different heights so they do not overlap.
                height = LABEL_HEIGHTS[len(self.lines) % len(LABEL_HEIGHTS)]
                line.label = pg.InfLineLabel(line, text=text, position=height, anchors=[(0, 0.5), (0, 0.5)],
                                             color=theme.color("chart.text"),
                                             fill=theme.color("chart.background", 210))
                line.label.setZValue(20)
                self._place(line)
            line.setToolTip(f"{text} (epoch {change.get('epoch', '?')}, step {change.get('step', '?')})")
            plot.addItem(line, ignoreBounds=True)
            row.append(line)
        self.lines.append(row)
        self.texts.append(text)

    def show(self, changes) -> None:
        self.clear()
        for change in changes:
            self.add(change)

    def clear(self) -> None:
        for row in self.lines:
            for plot, line in zip(self.plots, row):
                plot.removeItem(line)
        self.lines, self.texts = [], []

    def fit_labels(self) -> None:
        """Each label on the side of its line that has room (the right, unless the line is in the
        right half of the plot): a change near the end of a run is not cut by the plot's edge."""
        for row in self.lines:
            self._place(row[0])

    def _place(self, line) -> None:
        (low, high), _ = self.plots[0].vb.viewRange()
        right_half = line.value() > (low + high) / 2
        anchor = (1.0, 0.5) if right_half else (0.0, 0.5)
        if line.label.anchors[0] != anchor:
            line.label.anchors = [anchor, anchor]
            line.label.updatePosition()

    def positions(self) -> list[float]:
        return [row[0].value() for row in self.lines]

    @staticmethod
    def _pen():
        return pg.mkPen(MARKER_COLOR, width=1.5, style=Qt.PenStyle.DashLine)

    def _follow_theme(self) -> None:
        for row in self.lines:
            label = getattr(row[0], "label", None)
            if label is not None:
                label.setColor(theme.color("chart.text"))
                label.fill = pg.mkBrush(theme.color("chart.background", 210))
                label.update()
