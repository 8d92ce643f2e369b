"""Starting, steering and recording a run: the Workspace's half that talks to the Trainer.

``start_run`` builds the Trainer (refusing, with the reason, what cannot train) and hands a runner a
job; the Trainer's events come back through ``_on_events`` and the job's outcome through
``_on_done``, which update the :class:`Run` record and announce it. Mixed into ``Workspace``.
"""
from __future__ import annotations

import logging
from contextlib import nullcontext
import time
from dataclasses import dataclass, field

from ..training import (BatchEnd, EpochEnd, PredictionSnapshot, RunFailed, RunFinished, RunStarted,
                        RunStopped, SettingsApplied, Trainer, TrainingError)
from ..training.trainer import RunResult
from ..training.weights_evaluation import WeightsEvaluation, evaluate_weights
from . import events as ev
from .run_record import keep_snapshot
from .runs import ENDED_STATE, FAILED, FINISHED, PAUSED, RUNNING, STOPPING, Run, model_structure

log = logging.getLogger(__name__)



@dataclass
class RunOutcome:
    """What the job hands back after ``Trainer.run()``: how it ended and what it keeps."""

    result: object                      # training.RunResult
    weights: dict | None
    normalization: dict | None
    data_info: dict
    kept_epoch: int
    kept_why: str
    evaluation: WeightsEvaluation | None = None
    evaluation_error: str = ""
    history: dict = field(default_factory=dict)
    resume: object = None               # training.ResumeState, to continue from


def kept_weights_of(result, trainer: Trainer, has_val: bool) -> tuple[int, str]:
    """Which epoch's weights the Trainer kept, and why (see ``Trainer._keep_best``)."""
    best = "best validation loss" if has_val else "best training loss"
    keeps_best = trainer.settings.keep_best and result.best_epoch > 0
    if result.status in ("completed", "early_stopping"):
        return (result.best_epoch, best) if keeps_best else (result.epochs_run, "last epoch")
    if result.status == "stopped":
        if keeps_best:
            return result.best_epoch, best
        return result.epochs_run, f"as stopped at step {trainer.step}, during epoch {trainer.epoch}"
    return result.epochs_run, "last good epoch" if result.epochs_run else "initial weights"


def _failed_unexpectedly(trainer: Trainer, error: Exception, listener) -> RunResult:
    """A RunFailed event and a failed result for an exception the Trainer did not handle itself."""
    epoch, step = getattr(trainer, "epoch", 0), getattr(trainer, "step", 0)
    reason = f"the run stopped unexpectedly at epoch {epoch}, step {step}: {type(error).__name__}: {error}"
    kind = "error"
    if isinstance(error, MemoryError):
        reason, kind = reason + "; use a smaller batch size or smaller layers", "out_of_memory"
    listener(RunFailed(reason, epoch, step, kind))
    return RunResult("failed", reason, epoch - 1 if epoch > 0 else 0, 0,
                     {k: list(v) for k, v in getattr(trainer, "history", {}).items()}, error=error)


class RunOperations:
    """start_run / pause / resume / stop / wait_for_run, and the handling of the Trainer's events."""

    def start_run(self, runner=None, continue_from: str | None = None) -> Run:
        """Train the model on the data with the settings; returns the new run (already ended with a
        synchronous runner). ``continue_from`` "last" or "kept": carry the current run on from its
        last weights (or its kept epoch's), with its optimizer and schedule state, step count and
        curves. WorkspaceError says why a run cannot start."""
        with self._lock:
            operation = "continue training" if continue_from else "start training"
            self._require_idle(operation)
            if self.dataset is None:
                self._refuse(operation, self.data_unavailable or "choose a dataset first")
            if not self.report.ok:
                error = self.report.errors[0]
                more = f" (and {len(self.report.errors) - 1} more problem(s))" if len(self.report.errors) > 1 else ""
                self._refuse(operation, f"the model is not valid: {error.message}{more}")
            dataset, settings = self.dataset, self.settings
            resume, previous = None, self.run
            if continue_from is not None:
                resume = self._resume_point(operation, continue_from)
            try:
                # The data's arrays and the model are built in the run's thread (Trainer.prepare):
                # here only what can be checked at once, so Train answers at once at any data size.
                trainer = Trainer(self.spec.copy(), dataset, settings, resume=resume, defer=True)
            except MemoryError as error:
                self._refuse(operation, f"out of memory while building the model: {error}")
            except (TrainingError, ValueError) as error:
                self._refuse(operation, str(error))
            self._run_count += 1
            run = Run(self._run_count, model_structure(self.spec), settings, task=trainer.problem.task,
                      total_epochs=trainer.total_epochs, steps_per_epoch=trainer.steps_per_epoch)
            if resume is not None:   # the curves and the changes go on from where the run was
                run.history = {key: list(values) for key, values in trainer.history.items()}
                run.step_lr = list(previous.step_lr)
                run.changes = [dict(change) for change in previous.changes]
                run.step, run.best_epoch, run.continued_from = trainer.step, trainer.best_epoch, previous.number
            self.run, self._trainer = run, trainer
            run.spec_data, run.source, run.started_at = self.spec.to_dict(), dict(self.source), time.time()
            if resume is not None:   # the same run going on: what it showed so far stays with it
                run.snapshots, run.confusions = dict(previous.snapshots), dict(previous.confusions)
            self._record_started(run, previous if resume is not None else None)
            self._runner_in_use = runner or self.runner
            self._emit(ev.RunReplaced(run, f"run {previous.number} continued" if resume is not None
                                      else "a new run started"))
            self._move(RUNNING, f"Continuing from epoch {trainer.start_epoch} to {trainer.total_epochs}…"
                       if resume is not None else "Training started…")
            has_val = trainer.problem.sizes[1] > 0

            def job(listener) -> RunOutcome:
                trainer.listener = listener
                try:
                    result = trainer.run()
                except Exception as error:  # the Trainer reports its own failures; this is a last resort  # noqa: BLE001
                    log.exception("the Trainer raised")
                    result = _failed_unexpectedly(trainer, error, listener)
                return self._outcome(trainer, result, dataset, settings, has_val)

            self._runner_in_use.start(job, lambda events: self._on_events(run, events),
                                      lambda outcome: self._on_done(run, outcome))
            return run

    def _resume_point(self, operation: str, which: str):
        """The state to continue the current run from: its last weights or its kept epoch's."""
        run = self.run
        if which not in ("last", "kept"):
            raise ValueError(f"continue from 'last' or 'kept', not {which!r}")
        if run is None or not run.ended:
            self._refuse(operation, "there is no ended run to continue; press Train to start one")
        if run.stale or not run.fits(self.spec):
            self._refuse(operation, "the model was changed since the run; restart to train it afresh")
        if run.resume is None:
            why = ("it failed" if run.status in ("failed", "diverged") else
                   "the project was saved before Layerforge kept the optimizer's state")
            self._refuse(operation, f"run {run.number} cannot be continued ({why}); restart instead")
        if which == "kept" and run.weights is not None:
            return run.resume.with_weights(run.weights)
        return run.resume

    def change_settings_live(self, new) -> None:
        """The settings changed during a run: the Trainer takes them up at its next batch. Called by
        ``set_settings``; WorkspaceError for what a run cannot change."""
        trainer = self._trainer
        if trainer is None:
            return
        try:
            trainer.change_settings(new)
        except TrainingError as error:
            self._refuse("change the settings", str(error))

    @staticmethod
    def _outcome(trainer, result, dataset, settings, has_val) -> RunOutcome:
        """In the training thread: the kept weights and their predictions, so the GUI thread never
        computes them."""
        kept_epoch, kept_why = kept_weights_of(result, trainer, has_val)
        weights = trainer.state_dict() if trainer.step > 0 and trainer.prepared else None
        outcome = RunOutcome(result, weights, trainer.normalization, trainer.data_info, kept_epoch, kept_why,
                             history={k: list(v) for k, v in result.history.items()},
                             resume=trainer.resume_state)
        if weights is not None:
            try:
                outcome.evaluation = evaluate_weights(trainer.spec, dataset, settings, weights, kept_epoch)
            except Exception as error:  # the run's own results stand; only the kept predictions are missing  # noqa: BLE001
                log.exception("evaluating the kept weights failed")
                outcome.evaluation_error = f"{type(error).__name__}: {error}"
        return outcome

    def refresh_kept_predictions(self) -> None:
        """Predict again with the current run's kept weights (the views' settings changed, e.g. the two
        features a table's boundary is drawn over): a SnapshotReady of the kept epoch follows."""
        with self._lock:
            run = self.run
            if run is None or self.busy or not run.usable or self.dataset is None:
                return
            try:
                evaluation = evaluate_weights(self.spec, self.dataset, self.settings, run.weights, run.kept_epoch)
            except (TrainingError, ValueError) as error:
                self._refuse("show the kept weights' predictions", str(error))
            if evaluation.snapshot is not None:
                run.kept_snapshot = evaluation.snapshot
                self._emit(ev.SnapshotReady(run, evaluation.snapshot, True))

    def pause(self) -> None:
        with self._lock:
            if self.run_state != RUNNING:
                self._refuse("pause", "no run is training" if self.run_state != PAUSED else "the run is already paused")
            self._trainer.pause()
            self.run.status = PAUSED
            self._move(PAUSED, "Paused: resume to continue, or stop to end the run.")

    def resume(self) -> None:
        with self._lock:
            if self.run_state != PAUSED:
                self._refuse("resume", "no run is paused")
            self._trainer.resume()
            self.run.status = RUNNING
            self._move(RUNNING, "Training resumed.")

    def stop(self) -> None:
        with self._lock:
            if self.run_state not in (RUNNING, PAUSED):
                self._refuse("stop", "the run is already stopping" if self.run_state == STOPPING
                             else "no run is training")
            self._trainer.stop()
            self.run.status = STOPPING
            self._move(STOPPING, "Stopping after the current batch…")

    @property
    def trainer_step(self) -> int:
        """The step the Trainer has reached now (0 when nothing trains). The run record's ``step`` may
        lag behind it: it hears of batches when the runner hands them over (the window: per frame)."""
        trainer = self._trainer
        return trainer.step if trainer is not None else 0

    def live_weights(self):
        """The running Trainer's weights as they are now (CPU copies taken between two batches), or
        None when no run trains."""
        trainer = self._trainer
        return trainer.state_dict() if trainer is not None and self.busy and trainer.prepared else None

    def between_batches(self):
        """A context for work on this thread that draws the engine's random numbers while a run
        trains: it runs between two of the run's batches and leaves the run's random stream as it
        was (:meth:`Trainer.between_batches`). Without a run it guards nothing."""
        trainer = self._trainer
        return trainer.between_batches() if trainer is not None and self.busy else nullcontext()

    def wait_for_run(self, timeout: float | None = None) -> bool:
        """Block until the run's job has ended and been recorded; True when it has."""
        runner = getattr(self, "_runner_in_use", None)
        return True if runner is None else runner.join(timeout)

    # -- the Trainer's events ----------------------------------------------------------------------

    def _on_events(self, run: Run, events: list) -> None:
        with self._lock:
            if run is not self.run:
                log.warning("events of run %d arrived after it was replaced", run.number)
                return
            batches: list = []
            for event in events:
                if isinstance(event, BatchEnd):
                    batches.append(event)
                    continue
                self._flush_batches(run, batches)
                batches = []
                if isinstance(event, RunStarted):
                    run.device, run.device_reason = event.device, event.device_reason
                    run.total_epochs, run.steps_per_epoch = event.total_epochs, max(1, event.steps_per_epoch)
                    run.sizes = {"train": event.n_train, "val": event.n_val, "test": event.n_test}
                    run.class_names, run.param_count = list(event.class_names), event.param_count
                    self._emit(ev.RunBegan(run))
                elif isinstance(event, EpochEnd):
                    self._record_epoch(run, event)
                elif isinstance(event, SettingsApplied):
                    change = event.to_dict()
                    run.changes.append(change)
                    self._emit(ev.RunSteered(run, change))
                elif isinstance(event, PredictionSnapshot):
                    run.latest_snapshot = event
                    keep_snapshot(run, event)
                    kept = event.epoch > 0 and event.epoch == run.best_epoch
                    if kept:
                        run.kept_snapshot = event
                    self._emit(ev.SnapshotReady(run, event, kept))
                elif isinstance(event, RunFinished):
                    run.status, run.reason, run.final = "finished", event.reason, dict(event.final)
                elif isinstance(event, RunStopped):
                    run.status, run.reason = "stopped", f"stopped at epoch {event.epoch}, step {event.step}"
                elif isinstance(event, RunFailed):
                    run.status = "diverged" if event.kind == "diverged" else "failed"
                    run.reason, run.failure_kind = event.reason, event.kind
                else:
                    self._emit(ev.TrainerReport(run, event))
            self._flush_batches(run, batches)

    def _flush_batches(self, run: Run, batches: list) -> None:
        if not batches:
            return
        run.history["step_loss"].extend(b.loss for b in batches)
        run.history.setdefault("step_x", []).extend(b.x for b in batches)
        run.step_lr.extend(b.lr for b in batches)
        run.step = batches[-1].step
        self._emit(ev.RunProgress(run, batches[-1].epoch, tuple(b.step for b in batches),
                                  tuple(b.loss for b in batches), tuple(b.lr for b in batches), run.total_steps,
                                  tuple(b.x for b in batches)))

    def _record_epoch(self, run: Run, event: EpochEnd) -> None:
        history = run.history
        history["epoch"].append(event.epoch)
        history["lr"].append(event.lr)
        history["elapsed_s"].append(event.elapsed_s)
        for prefix, metrics in (("train", event.train), ("val", event.val)):
            for name, value in metrics.items():
                history.setdefault(f"{prefix}_{name}", []).append(value)
        run.best_epoch, run.eta_s, run.total_epochs = event.best_epoch, event.eta_s, event.total_epochs
        if event.confusion is not None:
            run.confusion, run.confusion_epoch = event.confusion, event.epoch
            run.confusions[event.epoch] = event.confusion
        self._emit(ev.EpochEnded(run, event.epoch, dict(event.train), dict(event.val), event.lr, event.eta_s,
                                 event.best_epoch, event.total_epochs, event.confusion))

    def _on_done(self, run: Run, outcome: RunOutcome) -> None:
        with self._lock:
            if run is not self.run:
                log.warning("the end of run %d arrived after it was replaced", run.number)
                return
            result = outcome.result
            if not run.ended:   # the Trainer always sends its end; this covers a job that died without one
                run.status, run.reason = ("failed", result.reason) if result.status == "failed" else \
                    ("stopped" if result.status == "stopped" else "finished", result.reason)
            if outcome.history:
                run.history = outcome.history
            run.weights, run.normalization, run.data_info = outcome.weights, outcome.normalization, outcome.data_info
            run.kept_epoch, run.kept_why = outcome.kept_epoch, outcome.kept_why
            run.resume = outcome.resume
            elapsed = run.history.get("elapsed_s") or []
            run.duration_s = float(elapsed[-1]) if elapsed else time.time() - run.started_at
            evaluation = outcome.evaluation
            if evaluation is not None:
                if not run.final:
                    run.final = dict(evaluation.metrics)
                run.kept_confusion = evaluation.confusion
                if evaluation.snapshot is not None:
                    run.kept_snapshot = evaluation.snapshot
            run.stale = not run.fits(self.spec)
            run.stale_reason = "the model was edited during the run" if run.stale else ""
            self._trainer = None
            self._other_dirty = True
            if run.kept_snapshot is not None:
                self._emit(ev.SnapshotReady(run, run.kept_snapshot, True))
            self._emit(ev.RunEnded(run))
            self._drop_old_weights()
            self._history_changed()
            self._move(ENDED_STATE[run.status], run.summary())
            self._announce_dirty()
            if outcome.evaluation_error:
                self._emit(ev.Refused("show the kept weights' predictions", outcome.evaluation_error))


__all__ = ["RunOperations", "RunOutcome", "FAILED", "FINISHED"]
