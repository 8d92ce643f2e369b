"""pyqtgraph plots in the theme's colours: the background, the axes and their tick labels.

pyqtgraph's own defaults (a grey that reads at about 3:1 on white) and a background fixed when the plot
is made do not follow a theme; ``follow_plot_widget(widget)`` sets them now and at each theme change.
"""
from __future__ import annotations

import pyqtgraph as pg

from . import theme

AXES = ("left", "bottom", "right", "top")


def style_plot(plot: pg.PlotItem) -> None:
    """Axis lines and tick labels (and the axes' own labels) in the theme's chart colours."""
    line, text = theme.color("chart.axis"), theme.color("chart.text")
    for name in AXES:
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(line))
        axis.setTextPen(pg.mkPen(text))
        if axis.labelText:   # the axis title ("epoch") takes its colour when it is set again
            axis.setLabel(axis.labelText, units=axis.labelUnits or None, color=theme.hex_color("chart.text"))


def style_plot_widget(widget: pg.PlotWidget) -> None:
    widget.setBackground(theme.color("chart.background"))
    style_plot(widget.getPlotItem())


def follow_plot_widget(widget: pg.PlotWidget) -> None:
    """Keep a PlotWidget in the theme's colours for as long as it lives."""
    theme.follow(widget, style_plot_widget)
