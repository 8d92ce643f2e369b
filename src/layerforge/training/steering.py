"""Steering a run: the settings a running Trainer takes up, and what a run needs to continue.

A PyTorch user steers a run by editing ``optimizer.param_groups``; the Trainer does the same at the
next batch when its settings change (``Trainer.change_settings``): the learning rate and the
optimizer's settings go into every parameter group, the schedule carries on from its state (a new
schedule starts from the learning-rate setting at the step it is chosen), the epochs move the end,
and a new batch size starts with the next epoch. Everything else (the loss, the optimizer itself,
the data split, the device) is fixed for a run.

``ResumeState`` is what continuing needs: the last weights, the optimizer's state, the schedule's
state, the step and epoch reached and the curves so far. ``pack``/``unpack`` turn it into named
tensors plus JSON-safe data, so a project keeps it beside its weights (never pickle).
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from layerforge import engine

from .errors import TrainingError

# The settings a run takes up while it trains (the rest need a new run).
LIVE_SETTINGS = frozenset({"learning_rate", "optimizer_params", "schedule", "epochs", "batch_size",
                           "early_stopping_patience", "grad_clip_norm", "view_features"})
VIEW_SETTINGS = frozenset({"view_features"})   # change what the views show, not the run: never marked
SHORT_NAMES = {"learning_rate": "lr", "batch_size": "batch size", "early_stopping_patience": "patience",
               "grad_clip_norm": "clip", "weight_decay": "weight decay"}
RESUME_PREFIX = "__resume__."   # the resume tensors' names in a project's weights file


def setting_changes(old, new) -> list[tuple[str, Any, Any]]:
    """What differs between two TrainingSettings, one entry per value a person changed: the
    optimizer's and the schedule's parameters one by one, ("epochs", 20, 40)."""
    changes = []
    a, b = old.to_dict(), new.to_dict()
    first = ["learning_rate", "optimizer_params", "schedule", "epochs", "batch_size"]
    for name in first + [name for name in a if name not in first]:
        if a[name] == b[name] or name in VIEW_SETTINGS:
            continue
        if name == "optimizer_params" and isinstance(a[name], dict) and isinstance(b[name], dict):
            changes += [(key, a[name].get(key), b[name].get(key)) for key in b[name]
                        if a[name].get(key) != b[name].get(key)]
        else:
            changes.append((name, a[name], b[name]))
    return changes


def refused_live(old, new) -> list[str]:
    """The changed settings a running Trainer cannot take up."""
    a, b = old.to_dict(), new.to_dict()
    return [name for name in a if a[name] != b[name] and name not in LIVE_SETTINGS]


def change_text(changes) -> str:
    """ "lr 0.01 -> 0.003, momentum 0.9 -> 0.95" """
    return ", ".join(f"{SHORT_NAMES.get(name, name.replace('_', ' '))} {_value(old)} -> {_value(new)}"
                     for name, old, new in changes)


def _value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict):
        kind = value.get("type", "")
        rest = ", ".join(f"{k}={_value(v)}" for k, v in value.items() if k != "type")
        return f"{kind}({rest})" if rest else str(kind)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def apply_to_optimizer(optimizer, settings, scale_schedule=None) -> None:
    """Put the learning rate and the optimizer's settings into every parameter group, as a PyTorch
    user edits ``param_groups``. ``scale_schedule``: a schedule that sets the rate itself each step
    (one cycle): its rates are scaled by the same factor, so the change holds."""
    params = dict(settings.optimizer_params)
    for group in optimizer.param_groups:
        old_lr = float(group["lr"])
        group["lr"] = settings.learning_rate
        if scale_schedule is not None and old_lr > 0:
            factor = settings.learning_rate / old_lr
            for key in ("initial_lr", "max_lr", "min_lr"):
                if key in group:
                    group[key] = float(group[key]) * factor
        if "beta1" in params and "betas" in group:
            group["betas"] = (params["beta1"], params["beta2"])
        for key, value in params.items():
            if key in group and key != "betas":
                group[key] = value
    if scale_schedule is not None and hasattr(scale_schedule, "base_lrs"):
        scale_schedule.base_lrs = [float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]


@dataclass
class ResumeState:
    """Where a run stopped, to continue from: the last weights and optimizer state (not the kept
    epoch's, unless ``with_weights`` swapped them in), the schedule's state, the step and epoch
    reached, and the curves so far."""

    weights: OrderedDict
    optimizer: dict
    scheduler: dict | None
    schedule: dict | None           # the schedule setting the scheduler state belongs to
    epoch: int
    step: int
    best_epoch: int = 0
    history: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)   # the settings the run ended with (to_dict)

    def with_weights(self, weights) -> "ResumeState":
        return ResumeState(OrderedDict(weights), self.optimizer, self.scheduler, self.schedule, self.epoch,
                           self.step, self.best_epoch, self.history, self.settings)

    # -- to and from a project ---------------------------------------------------------------------

    def pack(self) -> tuple[dict, dict]:
        """(named host arrays for the weights file, JSON-safe description)."""
        tensors: dict[str, np.ndarray] = {}
        for key, value in self.weights.items():
            tensors[f"{RESUME_PREFIX}weights.{key}"] = _host(value)
        optimizer = _pack(self.optimizer, f"{RESUME_PREFIX}optimizer", tensors)
        scheduler = _pack(self.scheduler, f"{RESUME_PREFIX}scheduler", tensors)
        data = {"optimizer": optimizer, "scheduler": scheduler, "schedule": self.schedule, "epoch": self.epoch,
                "step": self.step, "best_epoch": self.best_epoch, "weights": list(self.weights),
                "settings": self.settings}
        return tensors, data

    @classmethod
    def unpack(cls, tensors: dict, data: dict, history: dict) -> "ResumeState":
        """The inverse of ``pack``; TrainingError when the two do not belong together."""
        try:
            weights = OrderedDict((key, tensors[f"{RESUME_PREFIX}weights.{key}"]) for key in data["weights"])
            return cls(weights, _unpack(data["optimizer"], tensors), _unpack(data["scheduler"], tensors),
                       data.get("schedule"), int(data["epoch"]), int(data["step"]), int(data.get("best_epoch", 0)),
                       history, dict(data.get("settings") or {}))
        except (KeyError, TypeError, ValueError) as error:
            raise TrainingError(f"the saved state to continue from is incomplete ({type(error).__name__}: "
                                f"{error})") from None


def _host(value) -> np.ndarray:
    if isinstance(value, engine.Tensor):
        return value.detach().cpu().numpy().copy()
    return np.array(value, copy=True)


def _pack(value, path: str, tensors: dict):
    """Tensors become {"tensor": name} (stored in ``tensors``); dicts with other than string keys
    become {"items": [[key, value], ...]}; numbers, strings and lists stay."""
    if isinstance(value, (engine.Tensor, np.ndarray)):
        tensors[path] = _host(value)
        return {"tensor": path}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"dict": {k: _pack(v, f"{path}.{k}", tensors) for k, v in value.items()}}
        return {"items": [[k, _pack(v, f"{path}.{k}", tensors)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return {"list" if isinstance(value, list) else "tuple": [_pack(v, f"{path}.{i}", tensors)
                                                                 for i, v in enumerate(value)]}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    raise TrainingError(f"cannot keep a {type(value).__name__} in the state to continue from ({path})")


def _unpack(data, tensors: dict):
    (kind, value), = data.items()
    if kind == "tensor":
        return engine.from_numpy(np.array(tensors[value], copy=True, order="C"))   # keeps 0-d
    if kind == "dict":
        return {k: _unpack(v, tensors) for k, v in value.items()}
    if kind == "items":
        return {k: _unpack(v, tensors) for k, v in value}
    if kind == "list":
        return [_unpack(v, tensors) for v in value]
    if kind == "tuple":
        return tuple(_unpack(v, tensors) for v in value)
    if kind == "float":
        return float(value)
    if kind == "value":
        return value
    raise ValueError(f"unknown kind {kind!r}")
