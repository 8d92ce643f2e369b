"""What a running Trainer reports, as plain data (numbers, strings, host numpy arrays).

The listener is called from the training thread, in this order: ``RunStarted``, a
``PredictionSnapshot`` of the untrained model (epoch 0), then per batch ``BatchEnd`` and per
epoch ``EpochEnd`` (plus a ``PredictionSnapshot`` every ``snapshot_every`` epochs), and finally
exactly one of ``RunFinished``, ``RunStopped`` or ``RunFailed``. Every ``HEALTH_EVERY`` steps (and
at the first and the run's last) a ``LayerHealth`` follows that step's ``BatchEnd``. A GUI worker turns each into a
Qt signal; nothing here knows about Qt.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

SNAPSHOT_KINDS = ("curve1d", "boundary2d", "images", "sequence", "table", "reconstruction")


@dataclass
class RunStarted:
    total_epochs: int
    steps_per_epoch: int
    device: str
    device_reason: str
    n_train: int
    n_val: int
    n_test: int = 0
    task: str = "classification"
    class_names: list = field(default_factory=list)
    param_count: int = 0
    step_flops: int = 0      # one batch's forward pass, as Model > Analyze counts it (0: not known)


@dataclass
class BatchEnd:
    epoch: int   # 1-based
    step: int    # global step, 1-based, counted over the whole run
    loss: float
    lr: float
    x: float = 0.0   # where on the epoch axis: epoch - 1 + the share of its batches done


@dataclass
class SettingsApplied:
    """Settings changed while the run trained, taken up before batch ``step + 1`` (at ``x`` on the
    epoch axis). ``changes``: (name, old, new) per value; ``text``: "lr 0.01 -> 0.003"."""

    epoch: int
    step: int
    x: float
    changes: tuple
    text: str

    def to_dict(self) -> dict:
        return {"epoch": self.epoch, "step": self.step, "x": self.x, "text": self.text,
                "changes": [[name, old, new] for name, old, new in self.changes]}

    @classmethod
    def from_dict(cls, data: dict) -> "SettingsApplied":
        return cls(int(data["epoch"]), int(data["step"]), float(data["x"]),
                   tuple(tuple(change) for change in data.get("changes", ())), str(data["text"]))


@dataclass
class EpochEnd:
    """Metrics of one epoch. ``train`` / ``val`` map metric names to floats: always "loss";
    "accuracy" for classification; "mae" and "r2" for regression. ``val`` is empty when there is
    no validation split. ``confusion`` (classification only) is counts[true, predicted] on the
    validation split (the training split when there is none)."""

    epoch: int
    train: dict
    val: dict
    lr: float
    elapsed_s: float
    eta_s: float
    confusion: np.ndarray | None = None
    total_epochs: int = 0
    best_epoch: int = 0


@dataclass
class PredictionSnapshot:
    """Predictions of the model at the end of ``epoch`` (0: before training), ready to plot.

    kind "curve1d": x_grid (G,), y_pred (G,) or (G, outputs), x_data (N,), y_data (N,) or (N, outputs).
    kind "boundary2d": xx, yy (H, W) meshgrid; grid (H, W) predicted class index (also under
        "grid_labels"), confidence (H, W) its probability, probs (H, W, C); the data points x (N, 2)
        with their true labels (N,) and pred (N,); class_names (C,).
    kind "images": images (K, H, W) or (K, C, H, W), true (K,), pred (K,), confidence (K,), class_names.
    kind "sequence": a few input sequences (K, T, F) (at most 4 features kept), true (K,), pred (K,),
        confidence (K,), class_names (regression: true/pred are (K, outputs) values).
    kind "table": classification: rows x (K, F), feature_names (F,) (may be empty), true (K,), pred (K,),
        confidence (K,), class_names; regression: true and pred (R, outputs) of up to 2000 rows
        (read as predicted against actual).
    kind "reconstruction": images (K, ...) inputs and reconstructions (K, ...) outputs, same shape.
    All arrays are host numpy arrays in the data's own units (standardisation undone).
    """

    epoch: int
    kind: str
    data: dict[str, Any]


@dataclass
class RunFinished:
    reason: str        # "completed" or "early_stopping"
    epochs_run: int
    best_epoch: int
    final: dict        # {"train": {...}, "val": {...}, "test": {...}} metrics of the weights kept


@dataclass
class RunStopped:
    epoch: int
    step: int


@dataclass
class RunFailed:
    """``reason`` says what happened and what to do; ``kind`` lets a view pick its advice:
    "diverged" (the learning rate), "out_of_memory" (smaller layers or batches), "error"."""

    reason: str
    epoch: int
    step: int
    kind: str = "error"


@dataclass
class Histogram:
    """``counts[i]`` values fell in [edges[i], edges[i + 1]); ``edges`` has one more entry than ``counts``."""

    counts: np.ndarray
    edges: np.ndarray


@dataclass
class LayerReport:
    """How one layer fared in a training step (see :mod:`layerforge.training.health`).

    ``verdict``: "ok", "vanishing" (gradients), "exploding" (gradients), "dead" (most units output 0
    on every sample) or "saturated" (most tanh / sigmoid units pinned at their limits); ``text``: one
    sentence saying what it means and what to try ("" when ok); ``severity``: "ok", "warning" or
    "error". ``grad_norm`` and ``update_ratio`` (the norm of this step's change of the weights over
    the norm of the weights) are None for a layer without parameters; ``dead_share`` and
    ``saturated_share`` (of its units) None where they do not apply. ``activations``: a histogram of
    the layer's outputs over the batch; ``gradients``: of its parameters' gradients (of its
    outputs' gradients for a layer without parameters), None when none reached it. ``unit_maps``
    (units, G, G): for a model whose input is a row of numbers and a layer of at most 16 units, each
    unit's output over a G x G grid of the plane of two input features (the settings' view_features,
    else the first two; the others at their training means) (row: second feature, column: first feature, both
    ascending over ``LayerHealth.plane``), as TensorFlow Playground draws its neurons; else None."""

    node_id: str
    name: str
    layer_type: str
    verdict: str
    text: str
    severity: str
    grad_norm: float | None = None
    weight_norm: float | None = None
    update_ratio: float | None = None
    dead_share: float | None = None
    saturated_share: float | None = None
    activations: Histogram | None = None
    gradients: Histogram | None = None
    unit_maps: np.ndarray | None = None

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"


@dataclass
class LayerHealth:
    """The health of every layer with parameters or an activation, measured at ``step``; ``layers``
    maps node ids to :class:`LayerReport`. ``plane``: (x min, x max, y min, y max) of the input plane
    the unit maps cover, in the data's units, and ``plane_features`` the names of its two features
    (across, up); None and () without unit maps."""

    epoch: int
    step: int
    layers: dict
    plane: tuple | None = None
    plane_features: tuple = ()

    @property
    def unhealthy(self) -> list:
        """The reports whose verdict is not "ok", in the model's order."""
        return [report for report in self.layers.values() if not report.ok]


Event = Union[RunStarted, BatchEnd, SettingsApplied, EpochEnd, PredictionSnapshot, RunFinished, RunStopped,
              RunFailed, LayerHealth]
