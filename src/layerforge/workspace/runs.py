"""A training run as the workspace keeps it, and the run state machine.

:class:`Run` is the record views draw from: the curves (per epoch and per step), how the run ended,
which epoch's weights it keeps and those weights, the data it learned (normalisation, data_info),
the latest predictions and the kept epoch's. Every metric it reports names its epoch: the kept epoch
(the best one, or the last good one) is shown by default, the last epoch beside it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..graph import ModelSpec
from .errors import WorkspaceError

IDLE, RUNNING, PAUSED, STOPPING, FINISHED, FAILED = "idle", "running", "paused", "stopping", "finished", "failed"
STATES = (IDLE, RUNNING, PAUSED, STOPPING, FINISHED, FAILED)
BUSY = (RUNNING, PAUSED, STOPPING)
_MOVES = {
    IDLE: (RUNNING,),
    RUNNING: (PAUSED, STOPPING, FINISHED, FAILED),
    PAUSED: (RUNNING, STOPPING, FINISHED, FAILED),
    STOPPING: (FINISHED, FAILED),
    FINISHED: (RUNNING, IDLE),
    FAILED: (RUNNING, IDLE),
}
# How a run ended -> the state it leaves the workspace in.
ENDED_STATE = {"finished": FINISHED, "stopped": FINISHED, "failed": FAILED, "diverged": FAILED}


class RunStateMachine:
    """idle -> running <-> paused -> stopping -> finished | failed -> running (another run) ..."""

    def __init__(self):
        self.state = IDLE

    @property
    def busy(self) -> bool:
        return self.state in BUSY

    def reset(self, state: str) -> str:
        """Another project: its own state (idle, or finished for a reopened run), whatever came before."""
        previous, self.state = self.state, state
        return previous

    def can_move(self, to: str) -> bool:
        return to == self.state or to in _MOVES[self.state]

    def move(self, to: str) -> str:
        """Go to ``to``; returns the previous state. WorkspaceError for a move the machine lacks."""
        if to not in STATES:
            raise WorkspaceError("run", f"unknown run state {to!r}; the states are {', '.join(STATES)}")
        if not self.can_move(to):
            raise WorkspaceError("run", f"a run cannot go from {self.state} to {to}")
        previous, self.state = self.state, to
        return previous


def model_structure(spec: ModelSpec) -> dict:
    """What decides the weights' names and shapes: the spec without canvas positions."""
    data = spec.to_dict()
    for node in data.get("nodes", []):
        node.pop("position", None)
    return data


@dataclass(repr=False)   # its curves and weights would make a repr of megabytes (a failed assertion prints it)
class Run:
    """One run. ``status``: running, paused, stopping while it trains; then finished, stopped, failed
    or diverged, with ``reason``. ``kept_epoch`` is the epoch whose weights ``weights`` holds (0: the
    initial weights); ``kept_why`` says why that one. ``stale`` is True while the model on the canvas
    is not the one these weights belong to (edited after training)."""

    number: int
    structure: dict
    settings: Any                       # training.TrainingSettings the run used
    task: str = "classification"
    total_epochs: int = 0
    steps_per_epoch: int = 1
    device: str = ""
    device_reason: str = ""
    sizes: dict = field(default_factory=dict)    # train / val / test sample counts
    class_names: list = field(default_factory=list)
    param_count: int = 0
    history: dict = field(default_factory=lambda: {"epoch": [], "lr": [], "elapsed_s": [], "step_loss": []})
    step_lr: list = field(default_factory=list)
    status: str = RUNNING
    reason: str = ""
    failure_kind: str = ""              # a failed run's RunFailed.kind: "diverged", "out_of_memory", "error"
    step: int = 0
    best_epoch: int = 0
    kept_epoch: int = 0
    kept_why: str = ""
    final: dict = field(default_factory=dict)   # metrics of the kept weights, by split
    weights: dict | None = None
    normalization: dict | None = None
    data_info: dict = field(default_factory=dict)
    latest_snapshot: Any = None
    kept_snapshot: Any = None
    confusion: Any = None               # of ``confusion_epoch``
    confusion_epoch: int = 0
    kept_confusion: Any = None
    eta_s: float = math.nan
    reopened: bool = False
    stale: bool = False
    stale_reason: str = ""
    changes: list = field(default_factory=list)   # settings changed while it trained (SettingsApplied dicts)
    resume: Any = None                  # training.ResumeState: where it ended, to continue from
    continued_from: int = 0             # the number of the run this one continues (0: a fresh start)
    # The record of the project's runs (issue #16): what it was, when, and what it showed on the way.
    name: str = ""                      # "Run 3" unless renamed
    note: str = ""
    started_at: float = 0.0             # seconds since the epoch
    duration_s: float = 0.0             # training time (pauses excluded)
    spec_data: dict = field(default_factory=dict)   # the model as drawn (with positions): Restore brings it back
    source: dict = field(default_factory=dict)      # the data source it trained on
    snapshots: dict = field(default_factory=dict)   # epoch -> PredictionSnapshot, within a memory budget
    confusions: dict = field(default_factory=dict)  # epoch -> confusion matrix

    def __post_init__(self) -> None:
        self.name = self.name or f"Run {self.number}"

    def __repr__(self) -> str:
        return (f"Run({self.number}, {self.status}, epoch {self.last_epoch}/{self.total_epochs}, step {self.step}, "
                f"kept epoch {self.kept_epoch}, weights {'yes' if self.has_weights else 'no'}"
                f"{', stale' if self.stale else ''})")

    # -- where it stands -------------------------------------------------------------------------

    @property
    def last_epoch(self) -> int:
        """The last epoch that completed."""
        return len(self.history.get("epoch") or [])

    @property
    def ended(self) -> bool:
        return self.status in ENDED_STATE

    @property
    def has_weights(self) -> bool:
        return self.weights is not None

    @property
    def usable(self) -> bool:
        """Weights that belong to the model as it is now (prediction and export may use them)."""
        return self.weights is not None and not self.stale

    @property
    def total_steps(self) -> int:
        return max(1, self.total_epochs * self.steps_per_epoch)

    def fits(self, spec: ModelSpec) -> bool:
        return model_structure(spec) == self.structure

    @property
    def can_continue(self) -> bool:
        """Whether Continue can carry this run on: it ended (not failed), with the state it needs,
        and the model on the canvas is still the one it trained."""
        return self.ended and self.status in ("finished", "stopped") and self.resume is not None and not self.stale

    # -- metrics that name their epoch -----------------------------------------------------------

    def metrics_at(self, epoch: int) -> dict:
        """{"epoch": epoch, "train": {...}, "val": {...}} from the curves ({} for epoch 0 or unknown)."""
        epochs = list(self.history.get("epoch") or [])
        if epoch not in epochs:
            return {}
        i = epochs.index(epoch)
        result: dict = {"epoch": epoch, "train": {}, "val": {}}
        for key, values in self.history.items():
            for prefix in ("train", "val"):
                if key.startswith(prefix + "_") and i < len(values):
                    result[prefix][key[len(prefix) + 1:]] = _number(values[i])
        return result

    def kept_metrics(self) -> dict:
        """The kept weights' metrics: the curves at the kept epoch, or (when the weights are not an
        epoch's end, e.g. stopped mid-epoch) the ones measured at the end of the run."""
        found = self.metrics_at(self.kept_epoch)
        if self.final:
            found = {"epoch": self.kept_epoch, "train": dict(self.final.get("train") or found.get("train") or {}),
                     "val": dict(self.final.get("val") or found.get("val") or {})}
            if self.final.get("test"):
                found["test"] = dict(self.final["test"])
        return found

    def summary(self) -> str:
        """One line for a banner: how the run ended, which weights are kept, their metric and its epoch."""
        if not self.ended:
            shown = self.metrics_at(self.last_epoch)
            metric = headline_metric(shown, self.task)
            return (f"Training: epoch {self.last_epoch} / {self.total_epochs}"
                    + (f" · {metric} (epoch {self.last_epoch})" if metric else ""))
        how = {"finished": f"Training finished after {self.last_epoch} epoch(s)",
               "stopped": f"Training stopped after {self.last_epoch} complete epoch(s)",
               "failed": "Training failed", "diverged": "Training diverged"}[self.status]
        if self.reopened:
            how = (f"Trained for {self.last_epoch} epoch(s) (opened from the project file)" if self.last_epoch
                   else "Opened from the project file")
        if self.kept_epoch:
            kept = f"; kept the weights of epoch {self.kept_epoch} ({self.kept_why})"
        elif self.has_weights:   # no epoch trained: the initial weights, or ones from elsewhere (imported)
            kept = f"; the weights were {self.kept_why}" if self.kept_why else "; the weights are the initial ones"
        else:
            kept = ""
        metric = headline_metric(self.kept_metrics(), self.task)
        when = f" (epoch {self.kept_epoch})" if self.kept_epoch else ""
        metric_text = f". {metric[0].upper()}{metric[1:]}{when}" if metric else ""
        reason = f": {self.reason}" if self.status in ("failed", "diverged") and self.reason else ""
        stale = f" — {self.stale_reason}" if self.stale else ""
        return f"{how}{reason}{kept}{metric_text}{stale}"


def headline_metric(metrics: dict, task: str) -> str:
    """"validation accuracy 98.3%" / "validation R² 0.991" / "training loss 0.12" (no epoch)."""
    for split, label in (("val", "validation"), ("train", "training")):
        values = (metrics or {}).get(split) or {}
        if not values:
            continue
        if task == "classification" and "accuracy" in values:
            return f"{label} accuracy {values['accuracy']:.1%}"
        if "r2" in values:
            return f"{label} R² {values['r2']:.3f}"
        if "loss" in values:
            return f"{label} loss {values['loss']:.4g}"
    return ""


def kept_epoch_of(history: dict, keep_best: bool) -> tuple[int, str]:
    """The epoch whose weights a run with these curves kept, and why (for a reopened project: the
    file stores the curves, not the epoch)."""
    epochs = list(history.get("epoch") or [])
    if not epochs:
        return 0, ""
    monitored = history.get("val_loss") or history.get("train_loss") or []
    values = [_number(v) for v in monitored]
    finite = [(v, i) for i, v in enumerate(values) if math.isfinite(v)]
    if keep_best and finite:
        best = min(finite)[1]     # the first of equal minima, as the Trainer's strict "<" picks
        what = "best validation loss" if history.get("val_loss") else "best training loss"
        return int(epochs[best]), what
    return int(epochs[-1]), "last epoch"


def _number(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value
