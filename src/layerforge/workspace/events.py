"""What the workspace announces: plain event objects and a small callback registry (no Qt).

A view subscribes with ``workspace.events.connect(callback)`` (every event) or
``connect(callback, ModelChanged, DataChanged)`` (only those kinds) and redraws from the event it
receives; each event carries what its views need, so no view reads another. Callbacks run in the
thread that changed the workspace: the GUI thread for a person's operations, and whichever thread a
runner's ``post`` delivers training events in (the Qt adapter posts them to the GUI thread).

After a project is replaced (new, open, example, recover) the workspace sends ``ProjectReplaced``
and then one event per aspect (ModelChanged, DataChanged, SettingsChanged, RunReplaced,
RunStateChanged, UndoChanged, DirtyChanged), so a view listens only to what it shows.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)


# -- the project as a whole ----------------------------------------------------------------------

@dataclass(frozen=True)
class ProjectReplaced:
    """Another project is open. ``how``: "new", "open", "example" or "recover"."""

    name: str
    path: Path | None
    how: str
    description: str = ""
    notes: tuple = ()          # what the user should read (weights missing, data not found, ...)


@dataclass(frozen=True)
class ProjectSaved:
    """The project was written to ``path`` (its name may have changed with a Save As)."""

    name: str
    path: Path
    with_weights: bool


@dataclass(frozen=True)
class DirtyChanged:
    dirty: bool


@dataclass(frozen=True)
class Refused:
    """An operation that could not run now; ``reason`` says why and what to do."""

    operation: str
    reason: str


# -- the parts of the project --------------------------------------------------------------------

@dataclass(frozen=True)
class ModelChanged:
    """The model spec changed (edit, undo, redo, or another project). ``structure_changed`` is
    False when only canvas positions moved (the trained weights still fit)."""

    spec: Any                  # graph.ModelSpec, the workspace's own: read it, never change it
    report: Any                # graph.ShapeReport
    text: str                  # what happened ("Add Linear", "Undo Add Linear", "Open")
    structure_changed: bool = True
    fit_problem: str | None = None   # why the model does not fit the data (None: it fits)


@dataclass(frozen=True)
class UndoChanged:
    can_undo: bool
    can_redo: bool
    undo_text: str
    redo_text: str


@dataclass(frozen=True)
class DataChanged:
    """The data choice changed. ``dataset`` is None when the source could not be loaded; then
    ``unavailable`` says why (the source is kept, so saving does not lose it)."""

    source: dict
    dataset: Any               # data.ArrayDataset or None
    unavailable: str = ""
    description: str = ""
    fit_problem: str | None = None


@dataclass(frozen=True)
class SettingsChanged:
    settings: Any              # training.TrainingSettings
    changed: tuple = ()        # the names of the fields that changed (all of them for a new project)


# -- runs ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunStateChanged:
    """``state``: idle, running, paused, stopping, finished or failed (see ``runs``)."""

    state: str
    previous: str
    message: str = ""


@dataclass(frozen=True)
class RunReplaced:
    """The run record is now ``run`` (None: there is no run: no curves, no progress, no predictions).
    Sent for a new, opened or recovered project, when other data drops the old run, and when a run
    starts (with the fresh, empty record)."""

    run: Any                   # runs.Run or None
    why: str = ""


@dataclass(frozen=True)
class RunBegan:
    """The Trainer has started: ``run`` now knows its device (and why), sizes and total steps."""

    run: Any


@dataclass(frozen=True)
class RunProgress:
    """Batches trained since the last RunProgress, in order (steps, losses and rates as lists)."""

    run: Any
    epoch: int
    steps: tuple
    losses: tuple
    lrs: tuple
    total_steps: int
    xs: tuple = ()          # where each batch sits on the epoch axis (true across a batch-size change)


@dataclass(frozen=True)
class RunsChanged:
    """The project's record of runs changed (a run began, ended, was renamed, noted, deleted or
    restored); ``runs`` oldest first."""

    runs: tuple


@dataclass(frozen=True)
class TrainerReport:
    """Any other Trainer event of the run (a report a view may draw, e.g. the layers' health), as
    the Trainer sent it."""

    run: Any
    event: Any


@dataclass(frozen=True)
class RunSteered:
    """Settings changed while the run trained were taken up; ``change`` is the run's record of it
    (a SettingsApplied dict: epoch, step, x, text, changes)."""

    run: Any
    change: dict


@dataclass(frozen=True)
class EpochEnded:
    run: Any
    epoch: int
    train: dict
    val: dict
    lr: float
    eta_s: float
    best_epoch: int
    total_epochs: int
    confusion: Any = None      # counts[true, predicted] of this epoch (classification), or None


@dataclass(frozen=True)
class SnapshotReady:
    """Predictions to plot; ``snapshot.epoch`` says which epoch they belong to. ``kept`` is True for
    the predictions of the weights the run keeps (shown by default)."""

    run: Any
    snapshot: Any              # training.PredictionSnapshot
    kept: bool = False


@dataclass(frozen=True)
class RunEnded:
    """The run is over: ``run.status`` (finished, stopped, failed, diverged), ``run.reason``,
    ``run.kept_epoch`` and ``run.last_epoch``; ``run.summary()`` is the text for a banner."""

    run: Any


@dataclass(frozen=True)
class ResultsStale:
    """The run's predictions and metrics no longer describe the model (``stale``) or do again."""

    run: Any
    stale: bool
    reason: str = ""


Callback = Callable[[Any], None]


@dataclass
class _Subscription:
    callback: Callback
    kinds: tuple = field(default_factory=tuple)


class EventHub:
    """Callbacks by event kind. A callback that raises is logged and the others still run: one
    broken view must not leave the rest showing an old state."""

    def __init__(self):
        self._subscriptions: list[_Subscription] = []
        self._lock = threading.Lock()

    def connect(self, callback: Callback, *kinds: type) -> Callback:
        """Call ``callback(event)`` for every event, or only for events of ``kinds``."""
        with self._lock:
            self._subscriptions.append(_Subscription(callback, tuple(kinds)))
        return callback

    def disconnect(self, callback: Callback) -> None:
        with self._lock:
            before = len(self._subscriptions)
            # ==, not is: a bound method is a new object each time it is read (view.show != view.show is False).
            self._subscriptions = [s for s in self._subscriptions if s.callback != callback]
            if len(self._subscriptions) == before:
                raise ValueError(f"{callback!r} is not connected")

    def disconnect_all(self) -> None:
        """Forget every callback: a closing window lets go of the workspace, so reference counting frees
        both at once instead of leaving a cycle of views for the garbage collector to find later."""
        with self._lock:
            self._subscriptions = []

    def emit(self, event: Any) -> None:
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            if subscription.kinds and not isinstance(event, subscription.kinds):
                continue
            try:
                subscription.callback(event)
            except Exception:  # a view's bug; the model and the other views carry on  # noqa: BLE001
                log.exception("workspace event %s: a callback failed", type(event).__name__)


class Recorder:
    """Keeps every event it hears (tests, logs): ``recorder.of(EpochEnded)``."""

    def __init__(self, hub: EventHub | None = None):
        self.events: list = []
        if hub is not None:
            hub.connect(self)

    def __call__(self, event: Any) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def clear(self) -> None:
        self.events.clear()
