"""The run as the window shows it: charts, progress bar, predictions and confusion matrix, banner,
status bar and the training panel's buttons, each following the workspace's events.

Nothing here starts or stops anything itself: the buttons call ``Workspace.start_run`` / ``pause``
/ ``resume`` / ``stop``, and whatever the workspace then announces (RunReplaced, RunBegan,
RunProgress, EpochEnded, SnapshotReady, RunEnded, ResultsStale, RunStateChanged, Refused) is drawn
here. Every number shown names its epoch; by default the kept epoch's (the banner, the predictions
and the confusion matrix agree). Batch ends and epoch texts only set what the next frame draws
(the window's frame clock calls ``update_progress``).
"""
from __future__ import annotations

import math

import numpy as np

from ..training import TrainingError
from ..workspace import BUSY, PAUSED, RUNNING, WorkspaceError
from ..workspace import events as ev
from ..workspace.runs import headline_metric

NO_RUN_TEXT = "Not trained yet: press Train"


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def chart_task(run) -> str:
    """What the charts measure: accuracy for labels, R² for values (an autoencoder rebuilds values)."""
    return "classification" if run.task == "classification" else "regression"


class RunViews:
    """Subscribes the run's views to ``window.workspace``; ``start`` / ``toggle_pause`` / ``stop``
    are the Train, Pause/Resume and Stop buttons (and F5, F6, Shift+F5)."""

    def __init__(self, window):
        self.window = window
        self.workspace = window.workspace
        self.banner_about = ""   # what the banner shows: "run", "fit", "refused", "stale", "notes" or ""
        self.runs_started = 0
        self._progress_value: int | None = None
        self._progress_text: str | None = None
        hub = self.workspace.events
        for kind, handler in ((ev.RunReplaced, self._run_replaced), (ev.RunBegan, self._run_began),
                              (ev.RunProgress, self._progress), (ev.EpochEnded, self._epoch_ended),
                              (ev.SnapshotReady, self._snapshot), (ev.RunEnded, self._run_ended),
                              (ev.ResultsStale, self._results_stale), (ev.RunStateChanged, self._state_changed),
                              (ev.Refused, self._refused), (ev.ModelChanged, self._fit_changed),
                              (ev.DataChanged, self._data_changed), (ev.RunSteered, self._steered)):
            hub.connect(handler, kind)

    @property
    def running(self) -> bool:
        """A run is training, paused or stopping (its end not yet handed to the workspace)."""
        return self.workspace.busy

    # -- commands --------------------------------------------------------------------------------

    def start(self) -> bool:
        """Train with the settings shown: Continue where the Train button offers it (after a run that
        can go on), else a fresh run. Refused (the reason in the banner and the status bar) when a
        run is in progress, the model is invalid or does not fit the data, or a setting is bad."""
        return self._start(self.window.training_panel.continue_from)

    def restart(self) -> bool:
        """Train afresh (new initial weights, the curves start over) even where Continue is offered."""
        return self._start(None)

    def continue_from_kept(self) -> bool:
        """Continue the run from its kept epoch's weights (the best), with its optimizer state."""
        return self._start("kept")

    def _start(self, continue_from: str | None) -> bool:
        window = self.window
        reason = window.training_panel.focus_invalid()
        if reason is not None:
            window.show_status(f"Cannot train yet: a setting is not valid ({reason}); correct it or press Esc")
            return False
        try:
            window.commit_settings()
        except (TrainingError, ValueError) as error:
            if not isinstance(error, WorkspaceError):
                self._show_banner("refused", "error", f"Cannot train: {error}")
                window.show_status(f"Cannot train: {error}")
            return False
        try:
            self.workspace.start_run(continue_from=continue_from)
        except WorkspaceError:
            return False
        self.runs_started += 1
        return True

    def offer_continue(self) -> None:
        """Train reads Continue (and Restart appears) while the last run can go on."""
        run, workspace = self.workspace.run, self.workspace
        if run is not None and run.can_continue and run.fits(workspace.spec) and not workspace.busy:
            text = (f"Continue run {run.number} from epoch {run.resume.epoch} (step {run.resume.step}) with its "
                    f"optimizer state, to epoch {self._continue_target(run)}; Restart trains afresh (F5)")
            self.window.training_panel.offer_continue("last", text)
        else:
            self.window.training_panel.offer_continue(None)

    def _continue_target(self, run) -> int:
        epochs = self.workspace.settings.epochs
        return epochs if epochs > run.resume.epoch else run.resume.epoch + epochs

    def toggle_pause(self) -> None:
        try:
            if self.workspace.run_state == PAUSED:
                self.workspace.resume()
            else:
                self.workspace.pause()
        except WorkspaceError:
            pass   # the Refused event says why

    def stop(self) -> None:
        try:
            self.workspace.stop()
        except WorkspaceError:
            pass

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Stop a run and wait for its thread (the window closes). True when nothing is left running."""
        if not self.workspace.busy:
            return True
        if self.workspace.run_state in (RUNNING, PAUSED):
            self.workspace.stop()
        return self.workspace.wait_for_run(timeout_s) and not self.workspace.busy

    # -- the run record --------------------------------------------------------------------------

    def _run_replaced(self, event: ev.RunReplaced) -> None:
        self.offer_continue()
        window, run = self.window, event.run
        progress = window.training_panel.progress
        self._progress_value = self._progress_text = None
        window.predictions.set_snapshot(None)
        if run is None:
            dataset = self.workspace.dataset
            window.charts.clear_run(dataset.task if dataset is not None else "classification")
            progress.setRange(0, 1)
            progress.setValue(0)
            progress.setFormat(NO_RUN_TEXT)
            self._show_data()
            if self.banner_about in ("run", "stale", "refused"):
                self._clear_banner()
            # No run: the label names where the next one will go, not where the last one went.
            window.device_label.setText(f"Device: {device_label(self.workspace.settings.device)}")
            return
        if not run.ended and run.continued_from:   # continued: its curves so far stay, and go on
            window.charts.show_history(run.history, chart_task(run), run.steps_per_epoch, run.changes,
                                       run.total_epochs)
            progress.setRange(0, run.total_steps)
            progress.setValue(run.step)
            progress.setFormat(f"Epoch {run.last_epoch} / {run.total_epochs} · continuing")
            if self.banner_about != "notes":
                self._clear_banner()
            return
        if not run.ended:   # a run starting: its curves replace the last run's, which fade behind them
            window.charts.begin_run(run.steps_per_epoch, chart_task(run), run.total_epochs)
            progress.setRange(0, run.total_steps)
            progress.setValue(0)
            progress.setFormat(f"Epoch 1 / {run.total_epochs} · starting")
            if self.banner_about != "notes":
                self._clear_banner()
            return
        # A finished run opened with its project: curves, the kept weights' predictions, the banner.
        window.charts.show_history(run.history, chart_task(run), run.steps_per_epoch, run.changes)
        self._show_ended(run)

    def _run_began(self, event: ev.RunBegan) -> None:
        run = event.run
        reason = f" ({run.device_reason})" if run.device_reason else ""
        sizes = run.sizes
        self.window.show_status(f"Training on {run.device.upper()}{reason}: {sizes.get('train', 0):,} training and "
                                f"{sizes.get('val', 0):,} validation samples.")
        self.window.device_label.setText(f"Device: {device_label(run.device)}")
        self.window.training_panel.progress.setRange(0, run.total_steps)

    def _progress(self, event: ev.RunProgress) -> None:
        self.window.charts.add_batches(np.asarray(event.steps, dtype=np.float64),
                                       np.asarray(event.losses, dtype=np.float64),
                                       np.asarray(event.lrs, dtype=np.float64), event.xs or None)
        self._progress_value = event.steps[-1]

    def _steered(self, event: ev.RunSteered) -> None:
        """A setting changed mid-run was taken up: marked on the curves where it took effect."""
        self.window.charts.markers.add(event.change)
        self.window.show_status(f"Changed during the run: {event.change['text']} (from step {event.change['step'] + 1})")

    def _epoch_ended(self, event: ev.EpochEnded) -> None:
        run = event.run
        self.window.charts.add_epoch(event.epoch, event.train, event.val)
        metric = headline_metric({"train": event.train, "val": event.val}, run.task)
        self._progress_text = (f"Epoch {event.epoch} / {event.total_epochs} · {format_duration(event.eta_s)} left"
                               + (f" · {metric}" if metric else ""))
        self._progress_value = event.epoch * run.steps_per_epoch
        self.window.training_panel.progress.setRange(0, run.total_steps)   # the epochs may have been changed
        if event.confusion is not None and not self._view_held():
            self.window.predictions.set_confusion(event.confusion, run.class_names, event.epoch)

    def _view_held(self) -> bool:
        """The person moved the epoch slider: live epochs must not take the predictions from them."""
        replay = getattr(self.window, "replay", None)
        return replay is not None and replay.holds_view

    def _snapshot(self, event: ev.SnapshotReady) -> None:
        if not event.run.stale and not self._view_held():
            self.window.predictions.set_snapshot(event.snapshot, event.kept)

    def _run_ended(self, event: ev.RunEnded) -> None:
        self.update_progress()
        self.offer_continue()
        self._show_ended(event.run)
        self.window.frames.flush()

    def _show_ended(self, run) -> None:
        """A run that is over: progress, banner and status say how it ended and which weights are
        kept; the predictions and the confusion matrix show the kept epoch's."""
        window = self.window
        progress = window.training_panel.progress
        progress.setRange(0, run.total_steps)
        summary = run.summary()
        # Short enough for the bar: the banner beside it says which weights are kept and their metric.
        kept = f" · kept {run.kept_epoch}" if run.kept_epoch else ""
        if run.status == "finished":
            progress.setValue(progress.maximum())
            progress.setFormat(f"Done · {run.last_epoch} epochs{kept}")
            level, text = "success", summary + "."
        elif run.status == "stopped":
            progress.setValue(min(progress.maximum(), run.step or run.last_epoch * run.steps_per_epoch))
            progress.setFormat(f"Stopped at epoch {run.last_epoch} / {run.total_epochs}{kept}")
            level, text = "info", summary + ". The weights learned so far are kept."
        else:
            progress.setFormat(f"Failed at epoch {run.last_epoch + 1}")
            level, text = "error", self._failure_text(run)
        if run.stale:
            self._results_stale(ev.ResultsStale(run, True, run.stale_reason))
        else:
            self._show_banner("run", level, text)
            if self._view_held():
                pass   # the person is looking at another epoch; the slider's Live button brings the kept one
            elif run.kept_snapshot is not None:
                window.predictions.set_snapshot(run.kept_snapshot, True)
            confusion = run.kept_confusion if run.kept_confusion is not None else run.confusion
            if confusion is not None and not self._view_held():
                epoch = run.kept_epoch if run.kept_confusion is not None else run.confusion_epoch
                window.predictions.set_confusion(confusion, run.class_names, epoch, run.kept_confusion is not None)
        window.show_status(text)

    @staticmethod
    def _failure_text(run) -> str:
        reason = (run.reason or "").rstrip()
        reason += "" if reason.endswith((".", "!", "?")) else "."
        # An out-of-memory reason already says what to change; a learning rate would not help.
        advice = "" if run.failure_kind == "out_of_memory" else " Try a smaller learning rate, or check the data."
        kept = (f" The weights of epoch {run.kept_epoch} are kept." if run.kept_epoch and run.has_weights else "")
        return f"Training failed: {reason}{advice}{kept}"

    def _results_stale(self, event: ev.ResultsStale) -> None:
        window, run = self.window, event.run
        if event.stale:
            window.predictions.set_snapshot(None)
            window.predictions.show_stale(self.workspace.dataset, event.reason)
            self._show_banner("stale", "warning", f"{run.summary()}")
        elif run.ended:
            self._show_ended(run)

    # -- run state -------------------------------------------------------------------------------

    def _state_changed(self, event: ev.RunStateChanged) -> None:
        window = self.window
        busy = event.state in BUSY
        window.training_panel.set_state(event.state)
        self.offer_continue()
        window.set_editing_locked(busy)
        if event.message and event.state in (RUNNING, PAUSED, "stopping"):
            window.show_status(event.message)

    def _refused(self, event: ev.Refused) -> None:
        text = f"Cannot {event.operation}: {event.reason}"
        if event.operation == "start training":
            self._refused_to_train(event.reason)
            return
        self.window.show_status(text[0].upper() + text[1:])

    def _refused_to_train(self, reason: str) -> None:
        window = self.window
        report = self.workspace.report
        if reason.startswith("the model is not valid: ") and not report.ok:
            error = report.errors[0]
            more = f" (and {len(report.errors) - 1} more problem(s))" if len(report.errors) > 1 else ""
            text = f"Cannot train yet: {error.message}{more}. The layer in red on the canvas shows where."
            if error.node_id is not None:
                window.canvas.model_scene.select_nodes([error.node_id])
        elif reason in (self.workspace.data_unavailable, "choose a dataset first"):
            text = f"Cannot train yet: {reason[0].upper() + reason[1:]}" if reason else "Cannot train yet."
        elif reason.startswith("the model is training"):
            window.show_status(f"Cannot start training: {reason}")
            return
        else:
            text = f"Cannot train: {reason}"
        fix = self.workspace.fit_problem is not None
        self._show_banner("refused", "error", text, "Use a matching model" if fix else "",
                          window.use_matching_model if fix else None)
        window.show_status(text)

    # -- whether the model fits the data ---------------------------------------------------------

    def _fit_changed(self, event) -> None:
        if self.workspace.busy:
            return
        self.offer_continue()   # a model changed since the run can only restart
        problem = event.fit_problem
        if problem is not None:
            self._show_banner("fit", "warning", problem + " Edit the Input/last layer, or use a model made for it.",
                              "Use a matching model", self.window.use_matching_model)
        elif self.banner_about == "fit" or (self.banner_about == "refused" and self.workspace.report.ok):
            # The quick fix (or an edit) made the model trainable: the warning has done its job.
            run = self.workspace.run
            if run is not None and run.ended and not run.stale:
                self._show_ended(run)
            else:
                self._clear_banner()

    def _data_changed(self, event: ev.DataChanged) -> None:
        if self.workspace.run is None:
            self._show_data()
        self._fit_changed(event)

    def _show_data(self) -> None:
        dataset, predictions = self.workspace.dataset, self.window.predictions
        if dataset is not None:
            predictions.show_dataset(dataset)
        else:
            why = self.workspace.data_unavailable or "no data is chosen"
            predictions.show_nothing(f"<b>No data to show</b>: {why}")

    # -- the banner ------------------------------------------------------------------------------

    def _show_banner(self, about: str, level: str, text: str, action_text: str = "", action=None) -> None:
        self.banner_about = about
        self.window.banner.show_message(level, text, action_text, action)

    def _clear_banner(self) -> None:
        self.banner_about = ""
        self.window.banner.clear()

    def show_notes(self, notes) -> None:
        """What the person should read after opening a project (data not found, weights missing)."""
        if notes:
            self._show_banner("notes", "warning", " ".join(notes))

    # -- drawn by the frame clock ----------------------------------------------------------------

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


def device_label(device: str) -> str:
    """How the status bar names a device: "CPU", "GPU 1", "Auto"."""
    kind, _, index = device.partition(":")
    if kind == "cuda":
        return f"GPU {index or 0}"
    return "Auto" if device == "auto" else device.upper()
