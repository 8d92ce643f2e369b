"""Starting, steering and reporting a training run: between the training panel, the Trainer (in its
worker thread) and the charts, predictions, progress bar, banner and status bar."""
from __future__ import annotations

import math

import numpy as np

from PySide6.QtCore import QObject, Signal

from ..training import RunFailed, RunFinished, RunStopped, Trainer, TrainingError
from .examples import model_fit_problem
from .session import PAUSED, RUNNING, TrainingSession


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class RunController(QObject):
    """``start()`` refuses (with the reason in the banner) an invalid model or bad settings."""

    # Status-bar text.
    status = Signal(str)
    # The run began (True) or its thread has ended (False): the window locks and unlocks editing.
    runningChanged = Signal(bool)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.session = TrainingSession(self)
        self.total_epochs = 0
        self.steps_per_epoch = 1
        self.task = "classification"
        self.last_epoch_metrics: dict = {}
        self.runs_started = 0
        self.run_info = None  # the RunStarted event of the latest run
        self._progress_value: int | None = None
        self._progress_text: str | None = None
        s = self.session
        s.stateChanged.connect(self._state_changed)
        s.runStarted.connect(self._run_started)
        s.batchesEnded.connect(self._batches)
        s.epochEnded.connect(self._epoch)
        s.snapshot.connect(window.predictions.set_snapshot)
        s.runEnded.connect(self._run_ended)
        s.threadFinished.connect(lambda: self.runningChanged.emit(False))

    @property
    def running(self) -> bool:
        return self.session.active

    # -- commands from the panel -----------------------------------------------------------------

    def start(self) -> bool:
        window = self.window
        if self.session.active:
            return False
        report = window.document.report
        if not report.ok:
            error = report.errors[0]
            more = f" (and {len(report.errors) - 1} more problem(s))" if len(report.errors) > 1 else ""
            self._refuse(f"Cannot train yet: {error.message}{more}. The layer in red on the canvas shows where.")
            if error.node_id is not None:
                window.canvas.model_scene.select_nodes([error.node_id])
            return False
        dataset = window.dataset_panel.dataset
        if dataset is None:
            self._refuse("Cannot train yet: choose a dataset first.")
            return False
        try:
            settings = window.training_panel.settings()
        except (TrainingError, ValueError) as error:
            self._refuse(f"Cannot train: {error}")
            return False
        try:
            trainer = Trainer(window.document.spec.copy(), dataset, settings)
        except MemoryError as error:   # the Trainer reports its own; this keeps the window usable regardless
            self._refuse(f"Cannot train: out of memory while building the model: {error}")
            return False
        except (TrainingError, ValueError) as error:
            self._refuse(f"Cannot train: {error}")
            if model_fit_problem(report, dataset, settings.target) is not None:  # offer the same way out as the warning did
                window.banner.show_message("error", f"Cannot train: {error}", "Use a matching model",
                                           window.use_matching_model)
            return False
        window.banner.clear()
        # What the charts show: accuracy for labels, R² for values (an autoencoder rebuilds values).
        self.task = "regression" if settings.target in ("values", "input") else dataset.task
        self.total_epochs = settings.epochs
        self.runs_started += 1
        self.runningChanged.emit(True)
        self.session.start(trainer)
        self.status.emit("Training started…")
        return True

    def toggle_pause(self) -> None:
        if self.session.state == RUNNING:
            self.session.pause()
            self.status.emit("Paused: press Resume to continue, or Stop to end the run.")
        elif self.session.state == PAUSED:
            self.session.resume()
            self.status.emit("Training resumed.")

    def stop(self) -> None:
        if self.session.state in (RUNNING, PAUSED):
            self.session.stop()
            self.status.emit("Stopping after the current batch…")

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop a run and join its thread (window closing). True when nothing is left running."""
        if not self.session.active:
            return True
        self.session.stop()
        return self.session.wait(timeout_ms)

    def _refuse(self, text: str) -> None:
        self.window.banner.show_message("error", text)
        self.status.emit(text)

    # -- events from the worker ------------------------------------------------------------------

    def _state_changed(self, state: str) -> None:
        self.window.training_panel.set_state(state)

    def _run_started(self, event) -> None:
        self.run_info = event
        self.total_epochs = event.total_epochs
        self.steps_per_epoch = max(1, event.steps_per_epoch)
        self.window.charts.begin_run(self.steps_per_epoch, self.task, event.total_epochs)
        progress = self.window.training_panel.progress
        progress.setRange(0, max(1, event.total_epochs * self.steps_per_epoch))
        progress.setValue(0)
        progress.setFormat(f"Epoch 1 / {event.total_epochs} · starting")
        reason = f" ({event.device_reason})" if event.device_reason else ""
        self.status.emit(f"Training on {event.device.upper()}{reason}: {event.n_train:,} training and "
                         f"{event.n_val:,} validation samples.")
        self.window.device_label.setText(f"Device: {event.device}")

    def _batches(self, events: list) -> None:
        steps = np.fromiter((e.step for e in events), dtype=np.float64, count=len(events))
        losses = np.fromiter((e.loss for e in events), dtype=np.float64, count=len(events))
        lrs = np.fromiter((e.lr for e in events), dtype=np.float64, count=len(events))
        self.window.charts.add_batches(steps, losses, lrs)
        self._progress_value = events[-1].step

    def _epoch(self, event) -> None:
        self.window.charts.add_epoch(event.epoch, event.train, event.val)
        self.last_epoch_metrics = {"train": dict(event.train), "val": dict(event.val), "epoch": event.epoch}
        metric = _metric_text(event.val or event.train, self.task)
        self._progress_text = (f"Epoch {event.epoch} / {self.total_epochs} · {format_duration(event.eta_s)} left"
                               f" · {metric}")
        self._progress_value = event.epoch * self.steps_per_epoch
        if event.confusion is not None:
            self.window.predictions.set_confusion(event.confusion, self.window.dataset_panel.dataset.class_names)

    def update_progress(self) -> bool:
        """Frame-clock job: show the latest step and epoch text (a progress bar repaint is not free)."""
        progress = self.window.training_panel.progress
        changed = False
        if self._progress_value is not None:
            progress.setValue(self._progress_value)
            self._progress_value, changed = None, True
        if self._progress_text is not None:
            progress.setFormat(self._progress_text)
            self._progress_text, changed = None, True
        return changed

    def _run_ended(self, event) -> None:
        self.update_progress()
        window = self.window
        progress = window.training_panel.progress
        if isinstance(event, RunFinished):
            how = "stopped early (validation loss stopped improving)" if event.reason == "early_stopping" else "finished"
            metric = _final_text(event.final, self.task)
            best = f"; kept the weights of epoch {event.best_epoch} (best validation loss)" if event.best_epoch else ""
            text = f"Training {how} after {event.epochs_run} epoch(s){best}. {metric}"
            window.banner.show_message("success", text)
            progress.setValue(progress.maximum())
            progress.setFormat(f"Done · {event.epochs_run} epochs · {metric}")
        elif isinstance(event, RunStopped):
            text = f"Training stopped at epoch {event.epoch}, step {event.step}; the weights learned so far are kept."
            window.banner.show_message("info", text)
            progress.setFormat(f"Stopped at epoch {event.epoch} / {self.total_epochs}")
        elif isinstance(event, RunFailed):
            reason = event.reason.rstrip()
            reason += "" if reason.endswith((".", "!", "?")) else "."
            # An out-of-memory reason already says what to change; a learning rate would not help.
            advice = "" if event.kind == "out_of_memory" else " Try a smaller learning rate, or check the data."
            text = f"Training failed: {reason}{advice}"   # each reason says where in the run it happened
            window.banner.show_message("error", text)
            progress.setFormat(f"Failed at epoch {event.epoch}")
        else:
            return
        self.status.emit(text)


def _metric_text(metrics: dict, task: str) -> str:
    if task == "classification" and "accuracy" in metrics:
        return f"accuracy {metrics['accuracy']:.1%}"
    if "r2" in metrics:
        return f"R² {metrics['r2']:.3f}"
    return f"loss {metrics.get('loss', float('nan')):.4g}"


def _final_text(final: dict, task: str) -> str:
    for split, label in (("test", "test"), ("val", "validation"), ("train", "training")):
        metrics = (final or {}).get(split) or {}
        if metrics:
            return f"{label.capitalize()} {_metric_text(metrics, task)}."
    return ""
