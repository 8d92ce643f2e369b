"""Errors you can click: the confusion matrix's cells open the samples behind them, and the
calibration view under the matrix shows how far the run's confidence can be trusted.

:class:`CellErrors` follows the workspace: when a classification run ends (or a project opens with
one) it measures each sample of the split the matrix counts with the run's kept weights
(``training.errors_by_cell.predict_samples``), in a ``threading.Thread`` that never touches Qt: it
appends the result to a deque that a GUI-thread timer takes (the pattern of ``workspace_runner``).
A click on a cell, or Enter on it, opens :class:`CellSamplesDialog` on that cell at once, saying
"computing…" until the measurement is there. Without a trained run, during a run, or when the model
was edited since, the click says why in the status bar instead.
"""
from __future__ import annotations

import logging
import threading
from collections import deque

from PySide6.QtCore import QTimer

from ..training import TrainingError
from ..training.errors_by_cell import SamplePredictions, predict_samples
from ..workspace import events as ev
from .dialogs.cell_samples_dialog import CellSamplesDialog

log = logging.getLogger(__name__)
DRAIN_MS = 30
CALIBRATION_BINS = 10


class CellErrors:
    """Wires ``window.predictions``' confusion matrix and calibration view to ``window.workspace``."""

    def __init__(self, window):
        self.window = window
        self.workspace = window.workspace
        self.samples: SamplePredictions | None = None   # of the run ``_key`` names
        self.dataset = None                             # the data ``samples`` index into
        self.error = ""                                 # why ``_key``'s samples could not be measured
        self.dialog: CellSamplesDialog | None = None
        self._key = None                                # (run number, id of its weights) measured or measuring
        self._queue: deque = deque()   # the measuring thread appends, the GUI thread pops: both atomic
        self._thread: threading.Thread | None = None
        self._timer = QTimer(window.predictions)   # owned by a view, so it dies with the window
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self.drain)
        window.predictions.confusion.cellActivated.connect(self.open_cell)
        self.workspace.events.connect(self._run_changed, ev.RunEnded, ev.RunReplaced, ev.ResultsStale,
                                      ev.RunStateChanged)
        self._run_changed(None)

    @property
    def measuring(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- following the run -----------------------------------------------------------------------

    def _measurable_run(self):
        """The run whose kept weights the matrix shows now, or None (with nothing to measure)."""
        run, workspace = self.workspace.run, self.workspace
        if (run is None or not run.ended or not run.usable or run.task != "classification"
                or workspace.dataset is None):
            return None
        return run

    def _run_changed(self, _event) -> None:
        run = self._measurable_run()
        if run is None:
            self._forget()
            return
        key = (run.number, id(run.weights))
        if key == self._key:
            if self.samples is not None:
                self._show_calibration()
            return
        self._measure(run, key)

    def _forget(self) -> None:
        self._key, self.samples, self.dataset, self.error = None, None, None, ""
        self.window.predictions.set_calibration(None)

    def _measure(self, run, key) -> None:
        self._key, self.samples, self.dataset, self.error = key, None, None, ""
        self.window.predictions.set_calibration(None)
        spec, dataset, settings, weights = self.workspace.spec.copy(), self.workspace.dataset, run.settings, run.weights

        def measure() -> None:   # the measuring thread: no Qt in here
            try:
                self._queue.append((key, dataset, predict_samples(spec, dataset, settings, weights)))
            except TrainingError as error:
                self._queue.append((key, dataset, str(error)))
            except Exception as error:  # noqa: BLE001  (said in the dialog, never raised into a thread)
                log.exception("measuring the samples of the confusion matrix failed")
                self._queue.append((key, dataset, f"{type(error).__name__}: {error}"))

        self._thread = threading.Thread(target=measure, name="cell-errors", daemon=True)
        self._thread.start()
        self._timer.start()

    def drain(self) -> None:
        """GUI thread: take what the measuring thread left; show it if it is still the run's."""
        for _ in range(len(self._queue)):
            key, dataset, result = self._queue.popleft()
            if key != self._key:
                continue   # a run that has since been replaced
            if isinstance(result, SamplePredictions):
                self.samples, self.dataset = result, dataset
                self._show_calibration()
            else:
                self.error = result
            self._fill_dialog()
        if not self.measuring and not self._queue:
            self._timer.stop()

    def _show_calibration(self) -> None:
        samples, run = self.samples, self.workspace.run
        self.window.predictions.set_calibration(samples.calibration(CALIBRATION_BINS), samples.split,
                                                samples.calibration_error(CALIBRATION_BINS),
                                                run.kept_epoch if run is not None else None)

    # -- a cell clicked --------------------------------------------------------------------------

    def why_not(self) -> str:
        """Why a cell's samples cannot be listed now ("" when they can)."""
        run, workspace = self.workspace.run, self.workspace
        if workspace.busy:
            return "the model is training: its matrix changes every epoch. Click a cell when the run has ended"
        if run is None or not run.has_weights:
            return "there is no trained model yet: train it (F5), then click a cell to see its samples"
        if run.stale:
            return run.stale_reason or "the model was edited since it was trained: train it again"
        if workspace.dataset is None:
            return workspace.data_unavailable or "no data is loaded"
        if run.task != "classification":
            return "the model does not classify"
        return ""

    def open_cell(self, true: int, predicted: int) -> CellSamplesDialog | None:
        """Open the samples of true class ``true`` predicted as ``predicted``; None (and the reason in
        the status bar) when there is no trained run to list them from."""
        reason = self.why_not()
        if reason:
            self.window.show_status(f"Cannot list the samples of this cell: {reason}.")
            return None
        self._run_changed(None)   # measures the run shown if it has not been yet
        dialog = self.dialog
        if dialog is None:
            dialog = self.dialog = CellSamplesDialog(self.window)
        dialog.show_cell(true, predicted, self.workspace.dataset.class_names)
        self._fill_dialog()
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _fill_dialog(self) -> None:
        dialog = self.dialog
        if dialog is None or dialog.cell is None or dialog.ready:
            return
        if self.samples is not None:
            true, predicted = dialog.cell
            records = self.samples.samples_in_cell(true, predicted)
            dialog.show_samples(records, len(records), self.dataset, self.samples.split)
            shown, run = self.window.predictions.confusion, self.workspace.run
            if run is not None and shown.epoch is not None and shown.epoch != run.kept_epoch:
                # The matrix shows another epoch (one replayed, or the last when the kept weights could not
                # be measured): say whose samples these are rather than let the counts disagree unexplained.
                dialog.status.setText(f"The matrix shows epoch {shown.epoch}; these are the samples as the kept "
                                      f"weights (epoch {run.kept_epoch}) predict them. " + dialog.status.text())
        elif self.error:
            dialog.show_error(f"The samples cannot be listed: {self.error}")
