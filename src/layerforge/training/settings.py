"""Training settings: one plain, JSON-safe record, checked in one place.

``TrainingSettings.from_dict`` accepts what a project file or the GUI gives and raises
:class:`TrainingError` naming the field and the accepted values; ``to_dict`` gives it back in
canonical form (loss/optimizer/schedule parameters with their defaults filled in).
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Mapping

from .choices import get_loss, get_optimizer, get_schedule
from .errors import TrainingError

TARGETS = ("auto", "labels", "values", "input")
_DEVICE = re.compile(r"cpu|auto|cuda(:\d+)?")


@dataclass
class TrainingSettings:
    """How to train.

    ``schedule`` is None or ``{"type": name, **params}`` (see ``SCHEDULES``). ``target`` says what
    the model learns to output: "auto" (class labels for classification, values for regression),
    "labels", "values", or "input" (an autoencoder rebuilds its input). ``early_stopping_patience``
    counts epochs without a better validation loss; ``snapshot_every`` counts epochs between
    prediction snapshots (0 turns them off). ``grad_clip_norm`` clips the global gradient norm.
    """

    loss: str = "cross_entropy"
    optimizer: str = "adam"
    optimizer_params: dict = field(default_factory=dict)
    learning_rate: float = 0.01
    schedule: dict | None = None
    epochs: int = 50
    batch_size: int = 32
    device: str = "auto"
    seed: int = 0
    val_fraction: float = 0.2
    test_fraction: float = 0.0
    standardize: bool = True
    early_stopping_patience: int | None = None
    keep_best: bool = True
    snapshot_every: int = 1
    loss_params: dict = field(default_factory=dict)
    target: str = "auto"
    grad_clip_norm: float | None = None
    view_features: list | None = None   # two feature columns a table's decision boundary is drawn over

    def __post_init__(self) -> None:
        self._check()

    # -- checking --------------------------------------------------------------------------------

    def _check(self) -> None:
        loss = get_loss(self.loss)
        self.loss = loss.name
        self.loss_params = loss.parse_params(self.loss_params, "loss")
        optimizer = get_optimizer(self.optimizer)
        self.optimizer = optimizer.name
        self.optimizer_params = optimizer.parse_params(
            self.optimizer_params, "optimizer", aliases={"betas": _betas})
        self.schedule = _check_schedule(self.schedule)
        self.learning_rate = _number("learning_rate", self.learning_rate, minimum=0.0, strict=True)
        self.epochs = _integer("epochs", self.epochs, 1)
        self.batch_size = _integer("batch_size", self.batch_size, 1)
        self.seed = _integer("seed", self.seed, 0)
        self.snapshot_every = _integer("snapshot_every", self.snapshot_every, 0)
        if self.early_stopping_patience is not None:
            self.early_stopping_patience = _integer("early_stopping_patience", self.early_stopping_patience, 1)
        self.val_fraction = _number("val_fraction", self.val_fraction, 0.0, 0.95)
        self.test_fraction = _number("test_fraction", self.test_fraction, 0.0, 0.95)
        if self.val_fraction + self.test_fraction >= 1.0:
            raise TrainingError(f"val_fraction + test_fraction = {self.val_fraction + self.test_fraction:g} "
                                f"leaves nothing to train on; keep their sum below 1")
        for name in ("standardize", "keep_best"):
            if not isinstance(getattr(self, name), bool):
                raise TrainingError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if not isinstance(self.device, str) or not _DEVICE.fullmatch(self.device):
            raise TrainingError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {self.device!r}")
        if self.target not in TARGETS:
            raise TrainingError(f"target must be one of {', '.join(TARGETS)}, got {self.target!r}")
        if self.grad_clip_norm is not None:
            self.grad_clip_norm = _number("grad_clip_norm", self.grad_clip_norm, 0.0, strict=True)
        if self.view_features is not None:
            pair = self.view_features
            if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                    or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in pair)
                    or pair[0] == pair[1]):
                raise TrainingError(f"view_features must be two different feature numbers, e.g. [0, 2]; got {pair!r}")
            self.view_features = [int(pair[0]), int(pair[1])]

    # -- conversion ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["loss_params"] = _jsonable(data["loss_params"])
        data["optimizer_params"] = _jsonable(data["optimizer_params"])
        data["schedule"] = _jsonable(data["schedule"])
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainingSettings":
        if not isinstance(data, Mapping):
            raise TrainingError(f"training settings must be an object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainingError(f"unknown training setting(s) {', '.join(map(repr, unknown))}; "
                                f"the settings are: {', '.join(sorted(known))}")
        return cls(**dict(data))

    def replace(self, **changes: Any) -> "TrainingSettings":
        """A checked copy with some fields changed (``settings.replace(epochs=5)``)."""
        return replace(self, **changes)

    @classmethod
    def from_template(cls, template: Any, **changes: Any) -> "TrainingSettings":
        """Settings from a graph template's training defaults (PyTorch names mapped to ours)."""
        defaults = template.training
        target = {"labels": "labels", "values": "values", "input": "input"}.get(defaults.get("target"), "auto")
        values = dict(loss=defaults.get("loss", "cross_entropy"), optimizer=defaults.get("optimizer", "adam"),
                      learning_rate=defaults.get("lr", 0.01), epochs=defaults.get("epochs", 50),
                      batch_size=defaults.get("batch_size", 32), target=target)
        values.update(changes)
        return cls(**values)

    @property
    def schedule_type(self) -> str:
        return "none" if self.schedule is None else self.schedule["type"]


def _betas(value: Any) -> dict[str, float]:
    beta1, beta2 = value
    return {"beta1": float(beta1), "beta2": float(beta2)}


def _check_schedule(schedule: Any) -> dict | None:
    if schedule is None:
        return None
    if isinstance(schedule, str):
        schedule = {"type": schedule}
    if not isinstance(schedule, Mapping) or "type" not in schedule:
        raise TrainingError(f"schedule must be null or an object with a 'type', e.g. "
                            f"{{\"type\": \"step\", \"step_size\": 10}}; got {schedule!r}")
    values = dict(schedule)
    choice = get_schedule(values.pop("type"))
    if choice.name == "none":
        if values:
            raise TrainingError("the constant schedule ('none') takes no parameters")
        return None
    return {"type": choice.name, **choice.parse_params(values, "schedule")}


def _number(name: str, value: Any, minimum: float | None = None, maximum: float | None = None,
            strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TrainingError(f"{name} must be a finite number, got {value!r}")
    value = float(value)
    if minimum is not None and (value < minimum or (strict and value == minimum)):
        raise TrainingError(f"{name} must be {'>' if strict else '>='} {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise TrainingError(f"{name} must be <= {maximum:g}, got {value:g}")
    return value


def _integer(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise TrainingError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise TrainingError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(item) for item in value]
    return value
