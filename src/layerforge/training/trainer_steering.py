"""The Trainer's steering half (issue #15): settings taken up between batches, the marks they leave,
and the state a run continues from. Mixed into :class:`~layerforge.training.trainer.Trainer`; the
rules themselves (which settings, how they reach the optimizer) are ``steering``'s."""
from __future__ import annotations

import logging
from collections import OrderedDict

from layerforge import engine

from .build import Schedule
from .errors import TrainingError
from .events import SettingsApplied
from .settings import TrainingSettings
from .steering import ResumeState, apply_to_optimizer, change_text, refused_live, setting_changes

log = logging.getLogger("layerforge.training.trainer")


class TrainerSteering:
    """change_settings / resume_state, and the Trainer's side of them."""

    def change_settings(self, settings: TrainingSettings) -> None:
        """Steer the run: the new settings take effect before the next batch (a batch size at the
        next epoch). TrainingError for a change a running Trainer cannot take up (the loss, the
        optimizer, the device, ...)."""
        with self._pending_lock:
            base = self._pending or self.settings
            refused = refused_live(base, settings)
            if refused:
                raise TrainingError(f"{', '.join(refused)} cannot change while the model trains; stop the run "
                                    f"and train again to change {'it' if len(refused) == 1 else 'them'}")
            self._pending = settings

    def _resume_from(self, resume: ResumeState) -> None:
        """Carry on the optimizer's and the schedule's state (the counts and the curves are
        ``_resume_counts``'). Settings a person changed since the run ended (the learning rate, a
        momentum) win over the saved ones."""
        try:
            self.optimizer.load_state_dict(resume.optimizer)
        except (KeyError, TypeError, ValueError) as error:
            raise TrainingError(f"the optimizer state to continue from does not fit this model and optimizer "
                                f"({error}); restart instead") from None
        try:
            ended = TrainingSettings.from_dict(resume.settings) if resume.settings else self.settings
        except TrainingError:
            ended = self.settings
        same_schedule = resume.scheduler is not None and resume.schedule == self.settings.schedule
        if same_schedule and self.schedule.scheduler is not None:
            self.schedule.scheduler.load_state_dict(resume.scheduler)
        else:
            self._start_schedule(self.settings)
        self._steer_optimizer(ended, self.settings)

    def _resume_counts(self, resume: ResumeState) -> None:
        """The epoch and step counts and the curves a continued run goes on from (known before its
        model is built, see ``_resume_from`` for the optimizer's and schedule's state)."""
        self.epoch = self.start_epoch = resume.epoch
        self.step, self.best_epoch = resume.step, resume.best_epoch
        for key, values in resume.history.items():
            self.history[key] = list(values)
        self.history.setdefault("step_x", [])

    def _start_schedule(self, settings: TrainingSettings) -> None:
        """A schedule (another one, or none) starts now, from the learning-rate setting."""
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"] = settings.learning_rate
        self.schedule = Schedule(self.optimizer, settings, self.steps_per_epoch)

    def _steer_optimizer(self, old: TrainingSettings, new: TrainingSettings) -> None:
        """The learning rate and the optimizer's settings that changed from ``old`` into every group."""
        if new.learning_rate != old.learning_rate or new.optimizer_params != old.optimizer_params:
            apply_to_optimizer(self.optimizer, new, self.schedule.scheduler if self.schedule.per_batch else None)

    def _total_epochs(self, settings: TrainingSettings) -> int:
        """The last epoch: ``settings.epochs``, or that many more for a run continued past it."""
        return settings.epochs if settings.epochs > self.start_epoch else self.start_epoch + settings.epochs

    def _apply_pending(self) -> None:
        """In the training thread, between batches: take up settings changed since the last batch.
        A new batch size waits for the next epoch, and is marked where it takes effect."""
        with self._pending_lock:
            new, self._pending = self._pending, None
        if new is None:
            return
        old = self.settings
        changes = setting_changes(old, new)
        with self._lock:
            self.settings = new
            if new.schedule != old.schedule:
                self._start_schedule(new)
            self._steer_optimizer(old, new)
        self.total_epochs = max(self.epoch, self._total_epochs(new))
        mid_epoch = 0 < self._batch < self.steps_per_epoch
        if mid_epoch and new.batch_size != old.batch_size:   # marked at the next epoch, from the first size
            before = self._batch_change[1] if self._batch_change else old.batch_size
            self._batch_change = ("batch_size", before, new.batch_size)
            changes = [change for change in changes if change[0] != "batch_size"]
        self._mark(changes)

    def _mark(self, changes) -> None:
        """A SettingsApplied event (kept in ``changes``) at the point on the epoch axis reached now."""
        if not changes:
            return
        x = self.epoch - 1 + self._batch / max(1, self.steps_per_epoch) if self.epoch else 0.0
        event = SettingsApplied(self.epoch, self.step, x, tuple(changes), change_text(changes))
        self.changes.append(event)
        self._emit(event)

    def _capture_resume(self) -> None:
        """The last weights and the optimizer's and schedule's state, before the kept epoch's
        weights (maybe an earlier one's) are put back: continuing starts where training was. Copied
        on the device here; to the host only when ``resume_state`` is asked for (a GPU run's end
        waits for no copy nobody needs)."""
        try:
            scheduler = self.schedule.scheduler
            with self._lock:
                self._resume_parts = (
                    _clone(self.model.state_dict()), _copy_state(self.optimizer.state_dict(), _device_copy),
                    _copy_state(scheduler.state_dict(), _device_copy) if scheduler is not None else None,
                    self.settings.schedule, self.epoch, self.step, self.best_epoch,
                    {key: list(values) for key, values in self.history.items()}, self.settings.to_dict())
        except Exception:   # continuing is a convenience: a run's own end must not fail for it  # noqa: BLE001
            log.exception("keeping the state to continue from failed")
            self._resume_parts = None

    @property
    def resume_state(self) -> ResumeState | None:
        """Where the run ended (stopped or finished), to continue from, on the host; None before the
        end or after a failure."""
        if self._resume_state is None and self._resume_parts is not None:
            weights, optimizer, scheduler, *rest = self._resume_parts
            self._resume_state = ResumeState(_to_cpu(weights), _copy_state(optimizer, _host_copy),
                                             _copy_state(scheduler, _host_copy) if scheduler is not None else None,
                                             *rest)
            self._resume_parts = None
        return self._resume_state


def _clone(state) -> OrderedDict:
    return OrderedDict((key, value.detach().clone()) for key, value in state.items())


def _copy_state(value, copy):
    """An optimizer's or scheduler's state dict with ``copy`` applied to each of its tensors."""
    if isinstance(value, engine.Tensor):
        return copy(value)
    if isinstance(value, dict):
        return {key: _copy_state(item, copy) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state(item, copy) for item in value)
    return value


def _device_copy(tensor):
    return tensor.detach().clone()


def _host_copy(tensor):
    return tensor.detach().cpu().clone()


def _to_cpu(state) -> OrderedDict:
    return OrderedDict((key, value.detach().cpu().clone()) for key, value in state.items())
