"""Live training charts [lossPlot]: loss per step (raw and smoothed) and per epoch on validation,
accuracy or R² per epoch, and the learning rate. The previous run stays on the plots, faded.

Events only append to buffers (:class:`~layerforge.app.buffers.Series`); the window's frame clock
(:mod:`~layerforge.app.frames`) calls ``redraw_if_dirty`` at most 30 times a second, so a fast run never
floods the GUI thread. Downsampling and clip-to-view keep 100,000 points smooth; during a run the
x axis spans the whole run, so its labels are not rebuilt at every frame.

However small the window, each plot keeps MIN_VIEW_HEIGHT for its curves, its axis labels never
crowd into each other (:class:`ReadableAxis`), and a colour key too long for the width wraps under
its title instead of pushing the plots past the right edge.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from . import theme
from .buffers import Series, Smoother
from .chart_markers import SettingMarkers
from .chart_overlay import RunOverlay
from .plot_theme import style_plot

# The curves' colours read on the light and the dark theme's chart background alike.
TRAIN_COLOR, VAL_COLOR, LR_COLOR = "#1e88e5", "#e65100", "#ab47bc"
# Per-epoch curves mark each epoch with a dot while there are few; past this many the dots would
# merge into a thick line (and re-laying a few hundred symbols costs every frame ~1 ms).
MAX_EPOCH_DOTS = 60
MIN_VIEW_HEIGHT = 44   # px each plot keeps for its curves: room for two labels on its y axis
LABEL_GAP = 1.15       # major tick labels at least this many lines of text apart (on the x axis a
                       # label's width and half a line)


class ReadableAxis(pg.AxisItem):
    """An axis that spaces its major ticks by the room its labels need: pyqtgraph's spacing follows
    the axis length only, so a short axis (a plot in a small window) drew 0.2, 0.4, 0.6 and 0.8 on top
    of each other. Where its spacing would crowd them, the next of 1, 2, 5 (times ten to a power)
    that gives them room is used, majors only (while one still falls inside the axis)."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float):
        levels = super().tickSpacing(minVal, maxVal, size)
        span = abs(maxVal - minVal)
        if not levels or size <= 0 or span <= 0 or self._tickSpacing is not None:
            return levels
        major = levels[0][0]
        spacing = major
        # Wider, but never so wide that no tick is left inside the axis (one at each end is not drawn).
        while (spacing * size / span < self._label_room(minVal, maxVal, spacing)
               and _next_nice(spacing) <= span / 2):
            spacing = _next_nice(spacing)
        return levels if spacing == major else [(spacing, 0.0)]

    def _label_room(self, low: float, high: float, spacing: float) -> float:
        """Pixels one major label needs along the axis."""
        metrics = pg.QtGui.QFontMetricsF(self.style["tickFont"] or self.font())
        if self.orientation in ("left", "right"):
            return LABEL_GAP * metrics.height()
        widest = max(metrics.horizontalAdvance(text) for text in self.tickStrings([low, high], 1.0, spacing))
        return widest + (LABEL_GAP - 0.75) * metrics.height()


def _key_entry(color: str, sample: str, text: str) -> str:
    """One entry of a title's colour key: the line sample in the curve's colour, then its name, kept
    on one line."""
    return f" &nbsp;<span style='white-space:nowrap'><span style='color:{color}'>{sample}</span> {text}</span>"


def _next_nice(value: float) -> float:
    """The next of 1, 2, 5, 10, 20, ... (times a power of ten) above ``value``."""
    power = 10.0 ** math.floor(math.log10(value))
    for step in (2.0, 5.0, 10.0):
        if step * power > value * (1 + 1e-9):
            return step * power
    return 20.0 * power


def cache_painting(*items) -> None:
    """Let Qt keep what these items painted as a pixmap, repainted only when the item itself changes.

    Axes (with their grid lines and labels) and static scatter points are painted by Python code
    that holds the interpreter lock the training thread needs; a curve updating beside them would
    otherwise make them paint again at every frame."""
    for item in items:
        item.setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)


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
        self._titles: dict[pg.PlotItem, str] = {}   # each plot's title, drawn again in another theme
        self.ci.setSpacing(2)
        self.loss_plot = self._plot("Loss", 0)
        self.metric_plot = self._plot("Accuracy", 1)
        self.lr_plot = self._plot("Learning rate", 2)
        for plot in (self.loss_plot, self.metric_plot, self.lr_plot):
            plot.disableAutoRange()
        self.metric_plot.setXLink(self.loss_plot)
        self.lr_plot.setXLink(self.loss_plot)
        self.lr_plot.setLabel("bottom", "epoch")
        # The three plots share their x axis: only the lowest labels it. The others keep their ticks
        # and grid, and have no numbers to lay out again each time the run outgrows the axis.
        for plot in (self.loss_plot, self.metric_plot):
            plot.getAxis("bottom").setStyle(showValues=False)
        self.ci.layout.setRowStretchFactor(0, 5)
        self.ci.layout.setRowStretchFactor(1, 3)
        self.ci.layout.setRowStretchFactor(2, 2)
        for plot in (self.loss_plot, self.metric_plot, self.lr_plot):
            plot.vb.setMinimumHeight(MIN_VIEW_HEIGHT)
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
        self.hint = pg.TextItem("Press Train to watch the loss fall", anchor=(0.5, 0.5))
        self.loss_plot.addItem(self.hint, ignoreBounds=True)
        self.hint.setPos(0.5, 0.5)
        theme.follow(self, TrainingCharts._follow_theme)
        for curve in (self.previous_loss, self.previous_val, self.previous_metric, self.raw_curve, self.smooth_curve,
                      self.val_curve, self.train_metric_curve, self.val_metric_curve, self.lr_curve):
            # One stroked path per curve: Qt draws it in about 2/3 of the time the default (one
            # segment per pair of points, for pens wider than a pixel) takes.
            curve.curve.setSegmentedLineMode("off")
        # The previous run stays put for the whole run: Qt repaints it from a pixmap.
        cache_painting(*(curve.curve for curve in (self.previous_loss, self.previous_val, self.previous_metric)))
        for curve in (self.raw_curve, self.smooth_curve, self.lr_curve, self.previous_loss):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            # add_batches keeps only finite losses; the learning rate may be anything a schedule makes.
            curve.setSkipFiniteCheck(curve is not self.lr_curve)
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
        self.markers = SettingMarkers((self.loss_plot, self.metric_plot, self.lr_plot))
        self.overlay = RunOverlay(self.loss_plot, self.metric_plot)
        self._dirty = False
        self.redraw_count = 0
        self._fit_titles()

    def _plot(self, title: str, row: int) -> pg.PlotItem:
        plot = self.addPlot(row=row, col=0, axisItems={side: ReadableAxis(side) for side in ("left", "bottom")})
        centred = pg.QtGui.QTextOption(pg.QtCore.Qt.AlignmentFlag.AlignHCenter)
        plot.titleLabel.item.document().setDefaultTextOption(centred)   # a title wrapped onto two lines
        self._set_title(plot, title)
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setMenuEnabled(True)
        plot.getAxis("left").setWidth(44)
        cache_painting(plot.getAxis("left"), plot.getAxis("bottom"), plot.titleLabel)
        return plot

    def _set_title(self, plot: pg.PlotItem, title: str) -> None:
        # A colour key in the title instead of a legend box, which would cover the curves of small plots.
        # Where it is too long for the width it wraps between its entries, never inside one.
        key = ""
        if title != "Learning rate":
            # Only the line samples take the curves' colours; the words keep the text colour.
            key = _key_entry(TRAIN_COLOR, "━", "train") + _key_entry(VAL_COLOR, "━●", "validation")
            if getattr(self, "has_previous", False):
                key += _key_entry(theme.hex_color("chart.previous"), "━", "previous run")
        self._titles[plot] = title
        plot.setTitle(f"<span style='color:{theme.hex_color('chart.text')};font-size:9pt'><b>{title}</b>{key}</span>")
        self._fit_titles()

    def _follow_theme(self) -> None:
        self.setBackground(theme.color("chart.background"))
        self.hint.setColor(theme.color("chart.muted"))
        for plot, title in self._titles.items():
            style_plot(plot)
            self._set_title(plot, title)

    # -- size ------------------------------------------------------------------------------------

    def resizeEvent(self, event) -> None:
        self._fit_titles()
        super().resizeEvent(event)

    def _fit_titles(self) -> None:
        if not hasattr(self, "lr_plot") or getattr(self, "closed", False):
            return   # pyqtgraph resizes the view while it builds it, and as it closes it
        for plot in (self.loss_plot, self.metric_plot, self.lr_plot):
            self._fit_title(plot)
        # The plots' own minimums (titles, axes, MIN_VIEW_HEIGHT of curves) make the widget's.
        for plot in (self.loss_plot, self.metric_plot, self.lr_plot):
            plot.layout.invalidate()
            plot.updateGeometry()
        self.ci.layout.invalidate()
        self.ci.updateGeometry()
        minimum = self.ci.effectiveSizeHint(pg.QtCore.Qt.SizeHint.MinimumSize).height()
        self.setMinimumHeight(math.ceil(minimum) + 2 * self.frameWidth())

    def _fit_title(self, plot: pg.PlotItem) -> None:
        """One line where the title and its colour key fit the plot's width, else the key wraps: the
        title row grows a line instead of widening the plot past the chart's right edge."""
        label = plot.titleLabel
        # The title sits above the curves, right of the y axis, inside the layout's margins.
        margins = self.ci.layout.getContentsMargins()
        room = max(80.0, self.viewport().width() - margins[0] - margins[2] - plot.getAxis("left").width() - 6)
        label.item.setTextWidth(-1)
        if label.item.boundingRect().width() > room:
            label.item.setTextWidth(room)
        height = math.ceil(label.item.boundingRect().height()) + 2
        label.setMaximumHeight(height)
        plot.layout.setRowFixedHeight(0, height)
        label.updateMin()
        label.resizeEvent(None)

    # -- feeding ---------------------------------------------------------------------------------

    def begin_run(self, steps_per_epoch: int, task: str, total_epochs: int | None = None) -> None:
        """Fade the last run into the background (only when it measured the same metric: an
        accuracy curve under an R² plot would mean nothing) and start empty curves."""
        metric_name = "accuracy" if task == "classification" else "r2"
        self.has_previous = len(self.smooth) > 0 and metric_name == self.metric_name
        for curve in (self.previous_loss, self.previous_val, self.previous_metric):
            curve.setData([], [])
        if self.has_previous:
            self.previous_loss.setData(self.smooth.x.copy(), self.smooth.y.copy())
            self.previous_val.setData(self.val_loss.x.copy(), self.val_loss.y.copy())
            self.previous_metric.setData(self.val_metric.x.copy(), self.val_metric.y.copy())
        self._set_title(self.loss_plot, "Loss")
        for series in (self.raw, self.smooth, self.val_loss, self.train_metric, self.val_metric, self.lr):
            series.clear()
        self._smoother.reset()
        self.markers.clear()
        self.hint.setVisible(False)
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.total_epochs = total_epochs or 0
        self._shown_epochs = 0.0
        self._extend_x_range(1.0)
        self._set_metric(metric_name)
        self._dirty = True

    def _set_metric(self, metric_name: str) -> None:
        self.metric_name = metric_name
        self._set_title(self.metric_plot, "Accuracy" if metric_name == "accuracy" else "R² (1 = perfect fit)")

    def _extend_x_range(self, x: float) -> None:
        """Grow the x axis in doublings (not every frame: rebuilding axis labels is costly), from a
        quarter of the run: a 200-epoch run shows 50, 100, then 200 epochs."""
        if x <= self._shown_epochs:
            return
        span = max(5.0, self.total_epochs / 4, 2.0 * x)
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

    def add_batches(self, steps: np.ndarray, losses: np.ndarray, lrs: np.ndarray, xs=None) -> None:
        """Many batch ends at once (what arrived since the last delivery). ``xs``: their places on the
        epoch axis (else step / steps per epoch, which a batch size changed mid-run would skew)."""
        if not len(steps):
            return
        if xs is None or len(xs) != len(steps):
            xs = np.asarray(steps, dtype=np.float64) / self.steps_per_epoch
        xs = np.asarray(xs, dtype=np.float64)
        if xs[-1] > self._shown_epochs:
            self._extend_x_range(float(xs[-1]))
        losses = np.asarray(losses, dtype=np.float64)
        finite = np.isfinite(losses)
        self.raw.extend(xs[finite], losses[finite])
        self.smooth.extend(xs[finite], self._smoother.many(losses[finite]))
        self.lr.extend(xs, np.asarray(lrs, dtype=np.float64))
        self._dirty = True

    def add_epoch(self, epoch: int, train: dict, val: dict) -> None:
        if "loss" in val and math.isfinite(val["loss"]):
            self.val_loss.append(epoch, val["loss"])
        for series, metrics in ((self.train_metric, train), (self.val_metric, val)):
            value = metrics.get(self.metric_name)
            if value is not None and math.isfinite(value):
                series.append(epoch, value)
        self._dirty = True

    def clear_run(self, task: str = "classification") -> None:
        """No run at all (a new or another project, other data): no curves, no "previous run", the
        axes back to their empty ranges, the metric of ``task`` and the hint in the middle."""
        for curve in (self.previous_loss, self.previous_val, self.previous_metric):
            curve.setData([], [])
        for series in (self.raw, self.smooth, self.val_loss, self.train_metric, self.val_metric, self.lr):
            series.clear()
        self._smoother.reset()
        self.markers.clear()
        self.has_previous = False
        self._set_title(self.loss_plot, "Loss")
        self._set_metric("accuracy" if task == "classification" else "r2")
        self.steps_per_epoch, self.total_epochs, self._shown_epochs = 1, 0, 0.0
        self.loss_plot.setXRange(0, 1, padding=0.01)   # linked: all three plots follow
        for plot in (self.loss_plot, self.metric_plot, self.lr_plot):
            plot._layerforge_y = None
            plot.setYRange(0, 1, padding=0.03)
        self.hint.setPos(0.5, 0.5)
        self.hint.setVisible(True)
        self._dirty = True
        self.redraw_if_dirty()   # at once: another project must not show the old curves for a frame

    def show_history(self, history: dict, task: str, steps_per_epoch: int, changes=(),
                     total_epochs: int | None = None) -> None:
        """Draw a stored run's curves and setting changes (a reopened project, or a run being
        continued: then the axis spans ``total_epochs``) as if it had just run."""
        epochs = list(history.get("epoch") or [])
        steps = list(history.get("step_loss") or [])
        self.clear_run(task)
        if not epochs and not steps:
            return
        self.begin_run(steps_per_epoch, task, total_epochs or len(epochs))
        rates = list(history.get("lr") or [])
        xs = np.arange(1, len(steps) + 1, dtype=np.float64)
        stored_x = list(history.get("step_x") or [])
        lrs = [rates[min(len(rates) - 1, (step - 1) // steps_per_epoch)] if rates else math.nan
               for step in range(1, len(steps) + 1)]
        self.add_batches(xs, _floats(steps), _floats(lrs), _floats(stored_x) if len(stored_x) == len(steps) else None)
        for i, epoch in enumerate(epochs):
            train = {k[6:]: float(_floats([v[i]])[0]) for k, v in history.items() if k.startswith("train_") and i < len(v)}
            val = {k[4:]: float(_floats([v[i]])[0]) for k, v in history.items() if k.startswith("val_") and i < len(v)}
            self.add_epoch(int(epoch), train, val)
        self.markers.show(changes)
        self.redraw_if_dirty()   # a reopened project's curves are there at once, not a frame later

    def compare(self, runs) -> None:
        """Overlay runs to compare (name, history, metric name each), each in its colour, with a
        legend; [] takes them away."""
        self.overlay.show(runs)
        last_x = self.overlay.extent()[0]
        if last_x > self._shown_epochs:
            self.total_epochs = max(self.total_epochs, int(math.ceil(last_x)))
            self._extend_x_range(last_x)
        self._dirty = True
        self.redraw_if_dirty()

    # -- drawing ---------------------------------------------------------------------------------

    def redraw_if_dirty(self) -> bool:
        if not self._dirty:
            return False
        self._dirty = False
        self.redraw_count += 1
        self.raw_curve.setData(self.raw.x, self.raw.y)
        self.smooth_curve.setData(self.smooth.x, self.smooth.y)
        _set_epoch_curve(self.val_curve, self.val_loss)
        self.train_metric_curve.setData(self.train_metric.x, self.train_metric.y)
        _set_epoch_curve(self.val_metric_curve, self.val_metric)
        self.lr_curve.setData(self.lr.x, self.lr.y)
        self._fit_y_ranges()
        if self.markers.lines:
            self.markers.fit_labels()
        return True

    def _fit_y_ranges(self) -> None:
        """Set each y range ourselves, rounded up to a "nice" number, instead of pyqtgraph's auto-range:
        the range (and with it the axis labels, costly to rebuild) then changes only now and then,
        and a frame is painted once instead of twice (auto-range repaints after adjusting)."""
        losses = [self.raw.y, self.val_loss.y, _data(self.previous_loss), _data(self.previous_val),
                  np.asarray([self.overlay.extent()[1]])]
        self._set_y(self.loss_plot, 0.0, nice_ceiling(_finite_max(losses, 1.0)))
        if self.metric_name == "accuracy":
            self._set_y(self.metric_plot, 0.0, 1.0)
        else:
            lowest = min(_finite_min([self.train_metric.y, self.val_metric.y], 0.0), 0.0)
            self._set_y(self.metric_plot, -nice_ceiling(min(1.0, -lowest)) if lowest < 0 else 0.0, 1.0)
        self._set_y(self.lr_plot, 0.0, nice_ceiling(_finite_max([self.lr.y], 1.0)))

    @staticmethod
    def _set_y(plot: pg.PlotItem, low: float, high: float) -> None:
        if getattr(plot, "_layerforge_y", None) != (low, high):
            plot._layerforge_y = (low, high)
            plot.setYRange(low, high, padding=0.03)

    def loss_points(self) -> tuple[np.ndarray, np.ndarray]:
        """The raw training loss handed to the chart so far (x in epochs), before downsampling for display."""
        x, y = self.raw_curve.xData, self.raw_curve.yData
        return (np.asarray([]), np.asarray([])) if x is None else (x, y)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 (times a power of ten) that is >= value."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if step * power >= value * (1 - 1e-9):
            return step * power
    return 10.0 * power


def _set_epoch_curve(curve, series: Series) -> None:
    """A per-epoch curve, dotted at each epoch while there are at most MAX_EPOCH_DOTS."""
    dotted = series.size <= MAX_EPOCH_DOTS
    if dotted != (curve.opts["symbol"] is not None):
        curve.setSymbol("o" if dotted else None)
    curve.setData(series.x, series.y)


def _data(curve) -> np.ndarray:
    return np.asarray([]) if curve.yData is None else curve.yData


def _finite_max(arrays, default: float) -> float:
    values = [float(np.max(a[np.isfinite(a)])) for a in arrays if len(a) and np.isfinite(a).any()]
    return max(values) if values else default


def _finite_min(arrays, default: float) -> float:
    values = [float(np.min(a[np.isfinite(a)])) for a in arrays if len(a) and np.isfinite(a).any()]
    return min(values) if values else default


def _floats(values) -> np.ndarray:
    """Numbers from a stored history (None or text where a value was not finite become NaN)."""
    out = np.empty(len(values), dtype=np.float64)
    for index, value in enumerate(values):
        try:
            out[index] = float(value)
        except (TypeError, ValueError):
            out[index] = math.nan
    return out
