"""Find a learning rate [lrFinderDialog]: sweep the rate on a copy of the model and suggest one.

The sweep is :class:`~layerforge.training.lr_finder.LrFinder`'s, run in a ``threading.Thread``. That
thread never calls into Qt: it appends what it reports to a deque, and a timer in the GUI thread
takes the deque every DRAIN_MS and draws (the pattern of :mod:`~layerforge.app.workspace_runner`, for
the same reasons: a signal emitted from a Python thread once raced Qt's teardown, and waking the GUI
thread for every step would slow the sweep). Closing the dialog stops the sweep and waits for it.

[lrFinderPlot] loss against learning rate (log axis): each step's loss faint, the smoothed loss, and a
dashed line at the suggestion. [lrFinderProgress], [lrFinderStatus], [lrFinderSuggestion] and
[lrFinderWhy] say where the sweep is and what it found, [lrFinderError] why there is nothing to show.
[lrFinderStopButton] keeps what was swept; [lrFinderUseButton] hands the suggestion to
``use_learning_rate`` and closes.
"""
from __future__ import annotations

import logging
import math
import threading
from collections import deque
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from ...training import TrainingError
from ...training.build import valid_shapes
from ...training.lr_finder import FinderProgress, FinderResult, LrFinder
from .. import theme
from ..charts import TRAIN_COLOR, VAL_COLOR
from ..plot_theme import follow_plot_widget
from .predict_dialog import error_label

log = logging.getLogger(__name__)
DRAIN_MS = 30          # how often the GUI thread takes what the sweep reported (about 30 frames a second)
STEPS = 100
START_LR, END_LR = 1e-7, 10.0


class LrFinderDialog(QDialog):
    """See the module docstring. ``initial_state``: the weights to sweep from (None: a fresh
    initialisation with the settings' seed); they are never changed."""

    def __init__(self, spec, dataset, settings, initial_state, use_learning_rate: Callable[[float], None],
                 parent=None):
        super().__init__(parent)
        self.setObjectName("lrFinderDialog")
        self.setWindowTitle("Find a learning rate")
        self.use_learning_rate = use_learning_rate
        self.current_lr = settings.learning_rate
        self.result: FinderResult | None = None
        self.error = ""
        self._inputs = (spec.copy(), dataset, settings, initial_state)   # the model as it is now
        self._queue: deque = deque()   # the sweep thread appends, the GUI thread pops: both atomic
        self._finder: LrFinder | None = None
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._lrs: list[float] = []
        self._losses: list[float] = []
        self._smoothed: list[float] = []

        intro = QLabel(f"Trains a copy of the model for {STEPS} steps while the learning rate climbs from "
                       f"{START_LR:g} to {END_LR:g}, and watches the loss. Your model's weights are not changed.")
        intro.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("lrFinderPlot")
        self.plot.setAccessibleName("Loss against learning rate")
        self.plot.setMinimumSize(480, 280)
        item = self.plot.getPlotItem()
        item.setLogMode(x=True, y=False)
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setLabel("bottom", "learning rate")
        item.setLabel("left", "loss")
        item.setTitle(_key())
        self.raw_curve = item.plot(pen=_pen(TRAIN_COLOR, 1.0, 90))
        self.smooth_curve = item.plot(pen=_pen(TRAIN_COLOR, 2.2))
        self.marker = pg.InfiniteLine(angle=90, movable=False, pen=_pen(VAL_COLOR, 1.8, dashed=True),
                                      label="", labelOpts={"position": 0.9, "color": VAL_COLOR, "anchors": [(0, 1), (0, 1)]})
        self.marker.setVisible(False)
        item.addItem(self.marker, ignoreBounds=True)
        follow_plot_widget(self.plot)
        theme.follow(self, LrFinderDialog._follow_theme)

        self.progress = QProgressBar()
        self.progress.setObjectName("lrFinderProgress")
        self.progress.setRange(0, STEPS)
        self.progress.setFormat("step %v of %m")
        self.status = QLabel("Preparing the sweep…")
        self.status.setObjectName("lrFinderStatus")
        self.status.setWordWrap(True)
        self.suggestion_label = QLabel("")
        self.suggestion_label.setObjectName("lrFinderSuggestion")
        self.suggestion_label.setStyleSheet("font-weight: bold;")
        self.why_label = QLabel("")
        self.why_label.setObjectName("lrFinderWhy")
        self.why_label.setWordWrap(True)
        self.error_label = error_label("lrFinderError")

        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("lrFinderStopButton")
        self.stop_button.setToolTip("End the sweep now and keep the curve swept so far")
        self.stop_button.clicked.connect(self.stop)
        self.use_button = QPushButton("Use it")
        self.use_button.setObjectName("lrFinderUseButton")
        self.use_button.setToolTip("Set the training's learning rate to the suggested one")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self.use_suggestion)
        self.close_button = QPushButton("Close")
        self.close_button.setObjectName("lrFinderCloseButton")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.suggestion_label)
        layout.addWidget(self.why_label)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        self.resize(680, 520)

        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self.drain)
        self._start()

    # -- the sweep thread: no Qt in here -----------------------------------------------------------

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._sweep, name="lr-finder", daemon=True)
        self._thread.start()
        self._timer.start()

    def _sweep(self) -> None:
        spec, dataset, settings, initial_state = self._inputs
        try:
            finder = LrFinder(spec, dataset, settings, initial_state, steps=STEPS, start_lr=START_LR,
                              end_lr=END_LR)
            self._finder = finder
            if self._cancel.is_set():   # Stop or Close came while the model was being built
                finder.stop()
            self._queue.append(("result", finder.run(lambda progress: self._queue.append(("progress", progress)))))
        except TrainingError as error:
            self._queue.append(("error", f"Cannot sweep the learning rate: {error}."))
        except Exception as error:  # noqa: BLE001  (shown in the dialog, never raised into a thread)
            log.exception("the learning-rate sweep failed")
            self._queue.append(("error", f"The sweep failed: {str(error) or type(error).__name__}."))

    # -- the GUI thread ---------------------------------------------------------------------------

    @property
    def sweeping(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def drain(self) -> None:
        """Take what the sweep reported since the last call, and draw it once."""
        drawn = False
        for _ in range(len(self._queue)):
            kind, value = self._queue.popleft()
            if kind == "progress":
                self._add(value)
                drawn = True
            elif kind == "result":
                self._finish(value)
            else:
                self._fail(value)
        if drawn and self.result is None:
            self._draw()
        if not self.sweeping and not self._queue:
            self._timer.stop()

    def _add(self, progress: FinderProgress) -> None:
        self._lrs.append(progress.lr)
        self._losses.append(progress.loss)
        self._smoothed.append(progress.smoothed)
        self.progress.setValue(progress.step)
        self.status.setText(f"Sweeping: learning rate {progress.lr:.2g}, smoothed loss {progress.smoothed:.4g}")

    def _finish(self, result: FinderResult) -> None:
        self.result = result
        self._lrs, self._losses, self._smoothed = list(result.lrs), list(result.losses), list(result.smoothed)
        self._draw()
        swept = len(result.lrs)
        if result.stopped:
            self.status.setText(f"Stopped after {swept} of {STEPS} steps; the curve swept so far is kept.")
        elif swept < STEPS:
            self.status.setText(f"Done: the loss blew up after {swept} of {STEPS} steps, so the sweep ended there.")
        else:
            self.status.setText(f"Done: {swept} steps swept.")
        self.progress.setValue(swept)
        self.stop_button.setEnabled(False)
        why = result.why[:1].upper() + result.why[1:] + "."
        self.why_label.setText(why)
        if result.suggestion is None:
            self.suggestion_label.setText("No suggestion")
            return
        self.suggestion_label.setText(f"Suggested learning rate: {result.suggestion:.2g} "
                                      f"(the settings have {self.current_lr:g})")
        self.marker.setVisible(True)   # first: a hidden line's label does not take a new text
        self.marker.setValue(math.log10(result.suggestion))   # the axis is log10 of the rate
        self.marker.label.setFormat(f" {result.suggestion:.2g}")
        self.use_button.setEnabled(True)
        self.use_button.setDefault(True)

    def _fail(self, message: str) -> None:
        self.error = message
        self.error_label.setText(message)
        self.error_label.setVisible(True)
        self.status.setText("Nothing was swept.")
        self.stop_button.setEnabled(False)

    def _draw(self) -> None:
        if not self._lrs:
            return
        lrs, losses, smoothed = (np.asarray(v, dtype=np.float64) for v in (self._lrs, self._losses, self._smoothed))
        self.raw_curve.setData(lrs, losses)
        self.smooth_curve.setData(lrs, smoothed)
        # The y axis spans the steps up to the smoothed loss's lowest point, and half as much again
        # above them for the climb: a blow-up's losses can be many times larger and would flatten the
        # fall this plot is for, so they leave through the top.
        calm = losses[:int(np.argmin(smoothed)) + 1]
        low = min(float(smoothed.min()), float(np.percentile(calm, 2)))
        high = max(float(smoothed[0]), float(np.percentile(calm, 98)))
        span = max(high - low, 1e-3 * max(abs(high), 1.0))
        self.plot.getPlotItem().setYRange(low - 0.05 * span, high + 0.5 * span, padding=0)
        self.plot.getPlotItem().setXRange(math.log10(START_LR), math.log10(END_LR), padding=0.02)

    def _follow_theme(self) -> None:
        self.plot.getPlotItem().setTitle(_key())

    # -- the buttons ------------------------------------------------------------------------------

    def stop(self) -> None:
        """End the sweep before its next step; what was swept stays on the plot."""
        self._cancel.set()
        finder = self._finder
        if finder is not None:
            finder.stop()
        self.stop_button.setEnabled(False)
        if self.sweeping:
            self.status.setText("Stopping…")

    def use_suggestion(self) -> None:
        if self.result is None or self.result.suggestion is None:
            return
        self.use_learning_rate(self.result.suggestion)
        self.accept()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop the sweep and wait for its thread (closing the dialog does this)."""
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout)
        self._timer.stop()

    def done(self, code: int) -> None:   # accept, reject, Escape and the window's close button end here
        self.shutdown()
        super().done(code)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)


def open_lr_finder(window) -> LrFinderDialog | None:
    """Run > Find learning rate on ``window``'s open project: the dialog, shown window-modal, or None
    with the reason in the status bar while a run trains, or when there is no data or the model cannot
    take it."""
    workspace = window.workspace
    if workspace.busy:
        # The sweep would share the CPUs with the run, and reseed the engine's random numbers (one
        # generator per device, as PyTorch's) under it.
        window.show_status("Cannot find a learning rate while a run trains: stop it first.")
        return None
    if workspace.dataset is None:
        why = f" ({workspace.data_unavailable})" if workspace.data_unavailable else ""
        window.show_status(f"No data to find a learning rate on{why}: choose a dataset first.")
        return None
    try:
        valid_shapes(workspace.spec)
    except TrainingError as error:
        window.show_status(f"Cannot find a learning rate: {error}.")
        return None
    if workspace.fit_problem:
        window.show_status(f"Cannot find a learning rate: {workspace.fit_problem}")
        return None
    run = workspace.run
    initial_state = run.weights if run is not None and run.has_weights and run.fits(workspace.spec) else None
    dialog = LrFinderDialog(workspace.spec, workspace.dataset, workspace.settings, initial_state,
                            lambda lr: workspace.set_settings_undoable(f"Use learning rate {lr:.2g}",
                                                                      learning_rate=lr), parent=window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()   # window-modal, without a nested event loop
    return dialog


def _key() -> str:
    """The plot's title with its colour key (as the training charts have it, instead of a legend box)."""
    text = theme.hex_color("chart.text")
    return (f"<span style='color:{text};font-size:9pt'><b>Loss against learning rate</b> &nbsp;"
            f"<span style='color:{TRAIN_COLOR}'>━</span> smoothed &nbsp;"
            f"<span style='color:{_faint_hex(TRAIN_COLOR)}'>━</span> each step &nbsp;"
            f"<span style='color:{VAL_COLOR}'>┅</span> suggested</span>")


def _faint_hex(color: str) -> str:
    """``color`` as its faint curve looks on the chart's background."""
    return theme.mix(pg.mkColor(color), theme.color("chart.background"), 0.45).name()


def _pen(color: str, width: float, alpha: int = 255, dashed: bool = False):
    qcolor = pg.mkColor(color)
    qcolor.setAlpha(alpha)
    style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
    return pg.mkPen(qcolor, width=width, style=style)
