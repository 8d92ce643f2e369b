"""The samples behind each cell of the confusion matrix, and how far the model's confidence can be
trusted (a calibration table, as Neural Network Console's likelihood graph).

The confusion matrix a run shows is measured by :func:`~.weights_evaluation.evaluate_weights` on the
validation split (the training split when there is none). This measures the same samples in the same
order: :class:`~.problem.Problem` splits and standardises the data as the Trainer does, the kept
weights run through a :class:`~.inference.Predictor` on the split's model inputs, and a sample's
predicted class is the one the matrix counts (``metrics.predicted_classes``). So a cell lists exactly
as many samples as it shows, each with its index in the dataset, its classes and the probability the
model gave its prediction. Sorted most confident first, a cell off the diagonal shows the model's
surest mistakes at the top: that is where mislabelled samples are found.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from layerforge.data import ArrayDataset, split_indices
from layerforge.graph import ModelSpec

from .build import valid_shapes
from .errors import TrainingError
from .inference import Predictor
from .metrics import confusion_matrix, predicted_classes
from .problem import Problem
from .project import Project
from .settings import TrainingSettings


@dataclass(frozen=True)
class SampleRecord:
    """One sample of the measured split: ``index`` in the dataset, its ``true`` and ``predicted``
    class, and ``confidence``, the probability the model gave the predicted class."""

    index: int
    true: int
    predicted: int
    confidence: float


@dataclass(frozen=True)
class CalibrationBin:
    """Samples whose confidence lies in [low, high) (the last bin includes 1): how many, their mean
    confidence and the share of them predicted right (both NaN for an empty bin)."""

    low: float
    high: float
    mean_confidence: float
    accuracy: float
    count: int


class SamplePredictions:
    """What the model predicts for each sample of one split; see the module docstring.

    ``split`` is "validation" or "training"; ``indices``, ``true``, ``predicted`` and ``confidence``
    are arrays in the split's order (the order the confusion matrix counted)."""

    def __init__(self, split: str, indices, true, predicted, confidence, class_names):
        self.split = split
        self.indices = np.asarray(indices, dtype=np.int64)
        self.true = np.asarray(true, dtype=np.int64)
        self.predicted = np.asarray(predicted, dtype=np.int64)
        self.confidence = np.asarray(confidence, dtype=np.float64)
        self.class_names = [str(name) for name in class_names]

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def confusion(self) -> np.ndarray:
        """counts[true, predicted], as the run's confusion matrix counts them."""
        return confusion_matrix(self.true, self.predicted, self.n_classes)

    def samples_in_cell(self, true: int, predicted: int) -> list[SampleRecord]:
        """The samples of true class ``true`` predicted as ``predicted``, most confident first (equal
        confidences in dataset order)."""
        for name, value in (("true", true), ("predicted", predicted)):
            if not 0 <= int(value) < self.n_classes:
                raise IndexError(f"{name} class {value} is not one of the {self.n_classes} classes (0..{self.n_classes - 1})")
        members = np.flatnonzero((self.true == int(true)) & (self.predicted == int(predicted)))
        order = members[np.lexsort((self.indices[members], -self.confidence[members]))]
        return [SampleRecord(int(self.indices[i]), int(self.true[i]), int(self.predicted[i]), float(self.confidence[i]))
                for i in order]

    def calibration(self, bins: int = 10) -> list[CalibrationBin]:
        """``bins`` equal-width confidence buckets over [0, 1]; their counts add up to the split's size."""
        if bins < 1:
            raise ValueError(f"bins must be at least 1, got {bins}")
        which = np.minimum((self.confidence * bins).astype(np.int64), bins - 1)
        right = self.true == self.predicted
        result = []
        for b in range(bins):
            member = which == b
            count = int(member.sum())
            mean = float(self.confidence[member].mean()) if count else math.nan
            share = float(right[member].mean()) if count else math.nan
            result.append(CalibrationBin(b / bins, (b + 1) / bins, mean, share, count))
        return result

    def calibration_error(self, bins: int = 10) -> float:
        """Expected calibration error: the count-weighted mean gap between confidence and accuracy
        over the bins (0: the confidence is exactly as often right as it claims)."""
        total = len(self)
        if not total:
            return math.nan
        return sum(b.count * abs(b.accuracy - b.mean_confidence) for b in self.calibration(bins) if b.count) / total


def predict_samples(spec: ModelSpec, dataset: ArrayDataset, settings: TrainingSettings,
                    weights: dict) -> SamplePredictions:
    """Each sample of the split the confusion matrix measures, as ``weights`` predict it.

    TrainingError when the model is not a classifier of this data, or the weights do not fit it."""
    problem = Problem(spec, valid_shapes(spec), dataset, settings)
    if problem.target != "labels":
        raise TrainingError(f"the model is not classifying dataset '{dataset.name}' (it predicts "
                            f"{'values' if problem.target == 'values' else 'its input'}): there are no classes to list")
    use_val = len(problem.val) > 0
    split = problem.val if use_val else problem.train
    # The indices of the split Problem made: split_dataset's, from the same arguments.
    train, val, _ = split_indices(dataset, settings.val_fraction, settings.test_fraction, seed=settings.seed)
    indices = val if use_val else train
    if len(indices) != len(split) or not np.array_equal(dataset.y[indices], split.raw.y):
        raise TrainingError("the split's samples could not be matched to the dataset's")
    # The split's inputs are standardised already: the predictor takes them as they are.
    project = Project(dataset.name, spec, {}, settings,
                      data_info={"target": "labels", "class_names": list(problem.class_names)})
    try:
        predictor = Predictor(project, weights)
        outputs = predictor.outputs(split.x)
    except (RuntimeError, TypeError, ValueError) as error:
        if isinstance(error, TrainingError):
            raise
        raise TrainingError(f"the weights do not fit the model: {' '.join(str(error).split())}") from None
    predicted = predicted_classes(outputs) if len(outputs) else np.zeros(0, np.int64)
    probabilities = problem.probabilities(outputs) if len(outputs) else np.zeros((0, problem.n_classes))
    confidence = probabilities[np.arange(len(predicted)), predicted] if len(predicted) else np.zeros(0)
    return SamplePredictions("validation" if use_val else "training", indices, split.raw.y, predicted, confidence,
                             problem.class_names)
