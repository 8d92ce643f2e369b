"""What a set of trained weights predicts on a project's data, without a Trainer: the prediction
snapshot and the confusion matrix of the weights a run kept (or a reopened project holds).

A run's own snapshots and confusion matrices belong to the epochs they were made at; the weights it
keeps are often another epoch's (the best one). This gives the views the kept epoch's, and gives a
reopened project its predictions at once, computed the way the Trainer computes them: the same split,
standardisation (fitted on the same training split) and snapshot sample.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from layerforge import engine
from layerforge.data import ArrayDataset
from layerforge.graph import GraphError, ModelSpec, compile_spec

from .build import make_loss, valid_shapes
from .errors import TrainingError
from .events import PredictionSnapshot
from .problem import Problem, Split
from .settings import TrainingSettings
from .snapshots import SnapshotMaker

BATCH = 512


@dataclass
class WeightsEvaluation:
    """``metrics``: {"train": {...}, "val": {...}} (only the splits that have samples);
    ``confusion``: counts[true, predicted] on the validation split (the training split when there is
    none), None unless classifying; ``snapshot``: None when snapshots are off (snapshot_every 0)."""

    epoch: int
    metrics: dict = field(default_factory=dict)
    confusion: np.ndarray | None = None
    snapshot: PredictionSnapshot | None = None


def evaluate_weights(spec: ModelSpec, dataset: ArrayDataset, settings: TrainingSettings, weights: dict,
                     epoch: int) -> WeightsEvaluation:
    """Evaluate ``weights`` (a CPU state dict) on ``dataset``; TrainingError when they cannot be."""
    problem = Problem(spec, valid_shapes(spec), dataset, settings)
    try:
        model = compile_spec(spec)
    except GraphError as error:
        raise TrainingError(f"the model cannot be built: {error}") from None
    try:
        model.load_state_dict(weights)
    except (RuntimeError, TypeError, ValueError) as error:
        raise TrainingError(f"the weights do not fit the model: {' '.join(str(error).split())}") from None
    model.eval()
    loss = make_loss(settings)

    def forward(x: np.ndarray) -> np.ndarray:
        with engine.no_grad():
            chunks = [model(engine.from_numpy(np.ascontiguousarray(x[i:i + BATCH]))).detach().cpu().numpy()
                      for i in range(0, len(x), BATCH)]
        return np.concatenate(chunks) if chunks else np.zeros((0,) + tuple(problem.output_shape), np.float32)

    def measure(split: Split) -> tuple[dict, np.ndarray]:
        outputs = forward(split.x)
        with engine.no_grad():
            value = float(loss(engine.from_numpy(outputs), engine.from_numpy(np.ascontiguousarray(split.target))).item())
        return problem.metrics(split, outputs, value), outputs

    result = WeightsEvaluation(epoch)
    shown = None
    for name, split in (("train", problem.train), ("val", problem.val)):
        if len(split):
            result.metrics[name], outputs = measure(split)
            shown = (split, outputs) if name == "val" or shown is None else shown
    if shown is not None:
        result.confusion = problem.confusion(*shown)
    if settings.snapshot_every:
        result.snapshot = SnapshotMaker(problem, settings.seed).make(epoch, forward, settings.view_features)
    return result
