"""What a run learns: the dataset split, standardised and turned into the arrays the loss reads,
checked against the model's input and output shapes before any weight is touched."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerforge.data import ArrayDataset, DataError, Normalization, split_indices
from layerforge.data.split import subsets
from layerforge.graph import ModelSpec, ShapeReport

from .choices import CLASSIFICATION, RECONSTRUCTION, REGRESSION, get_loss, losses_for
from .errors import TrainingError
from .metrics import (accuracy, class_columns, class_probabilities, confusion_matrix, mean_absolute_error,
                      predicted_classes, r2_score)
from .settings import TrainingSettings


@dataclass
class Split:
    """One split: raw data (for metrics and plots) and the arrays fed to the model and the loss."""

    raw: ArrayDataset
    x: np.ndarray        # model inputs, standardised when asked
    target: np.ndarray   # what the loss compares the outputs with

    def __len__(self) -> int:
        return len(self.raw)


class Problem:
    """The dataset as this model and these settings see it.

    ``target`` is "labels", "values" or "input"; ``task`` is "classification", "regression" or
    "reconstruction". Raises TrainingError when the data, the loss and the model do not fit together.

    The checks and the split's sizes (``sizes``: train, validation, test) come at once; the arrays
    (``train``, ``val``, ``test``, ``normalization``) with ``prepare()``, which the constructor calls
    unless ``prepare=False`` (a run prepares them in its own thread: 60,000 images take a while).
    """

    def __init__(self, spec: ModelSpec, report: ShapeReport, dataset: ArrayDataset, settings: TrainingSettings,
                 prepare: bool = True):
        self.dataset = dataset
        self.settings = settings
        self.loss = settings.loss
        self.target = _resolve_target(settings.target, dataset)
        self.task = {"labels": CLASSIFICATION, "values": REGRESSION, "input": RECONSTRUCTION}[self.target]
        self.class_names = list(dataset.class_names) if self.target == "labels" else []
        self.n_classes = dataset.output_dim if self.target == "labels" else 0
        loss = get_loss(settings.loss)
        if not loss.suits(self.task):
            suited = ", ".join(losses_for(self.task))
            raise TrainingError(f"the loss '{loss.name}' ({loss.label}) does not suit {self.task} "
                                f"(dataset '{dataset.name}'); choose one of: {suited}")
        self._check_shapes(spec, report)
        # Token indices (an Input of dtype int64 feeding an Embedding) are fed as integers, never scaled.
        self.input_dtype = np.int64 if spec.nodes[report.input_id].params.get("dtype") == "int64" else np.float32
        try:
            self._indices = split_indices(dataset, settings.val_fraction, settings.test_fraction, seed=settings.seed)
        except DataError as error:
            raise TrainingError(str(error)) from None
        self.sizes = tuple(len(part) for part in self._indices)
        self.normalization: Normalization | None = None
        self.train = self.val = self.test = None
        if prepare:
            self.prepare()

    @property
    def prepared(self) -> bool:
        return self.train is not None

    def prepare(self) -> None:
        """The splits, the standardisation fitted on the training split, and the arrays the model and
        the loss read (once; TrainingError when the data cannot be standardised)."""
        if self.prepared:
            return
        splits = subsets(self.dataset, self._indices)
        settings = self.settings
        scale_inputs = settings.standardize and self.input_dtype is np.float32
        scale_targets = settings.standardize and self.target == "values"
        if scale_inputs or scale_targets:
            try:
                self.normalization = Normalization.fit(splits.train, inputs=scale_inputs, targets=scale_targets)
            except DataError as error:
                raise TrainingError(f"cannot standardise the data: {error}") from None
        self.train, self.val, self.test = (self._prepare(split) for split in splits)
        self._indices = None

    # -- checks ----------------------------------------------------------------------------------

    def _check_shapes(self, spec: ModelSpec, report: ShapeReport) -> None:
        data = self.dataset
        input_node = spec.nodes[report.input_id]
        if tuple(report.input_shape) != tuple(data.input_shape):
            raise TrainingError(
                f"{input_node.label} has shape {_fmt(report.input_shape)} but dataset '{data.name}' gives "
                f"samples of shape {_fmt(data.input_shape)}: set the Input's shape to {_fmt(data.input_shape)}")
        out = self.output_shape = tuple(report.output_shape)
        output_node = spec.nodes[report.output_id]
        where = f"the model's output ({output_node.label}) gives shape {_fmt(out)} per sample"
        fix = " (set its out_features)" if output_node.type == "Linear" else ""
        if self.target == "labels":
            width_ok = out == (self.n_classes,) or (self.loss == "bce_with_logits" and out == (1,)
                                                   and self.n_classes == 2)
            if not width_ok:
                raise TrainingError(f"{where}, but dataset '{data.name}' has {self.n_classes} classes: the output "
                                    f"must be ({self.n_classes},){fix}")
        elif self.target == "values":
            if out != (data.output_dim,):
                raise TrainingError(f"{where}, but dataset '{data.name}' has {data.output_dim} target value"
                                    f"{'s' if data.output_dim != 1 else ''} per sample: the output must be "
                                    f"({data.output_dim},){fix}")
        elif out != tuple(data.input_shape):
            raise TrainingError(f"{where}, but an autoencoder must rebuild its input of shape "
                                f"{_fmt(data.input_shape)}: end the model with a Reshape to {_fmt(data.input_shape)}")

    # -- arrays ----------------------------------------------------------------------------------

    def model_inputs(self, x: np.ndarray) -> np.ndarray:
        """Raw inputs (the dataset's units) -> what the model reads."""
        if self.input_dtype is np.int64:
            return np.asarray(np.rint(x), dtype=np.int64)
        x = np.asarray(x, dtype=np.float32)
        return self.normalization.transform_inputs(x) if self.normalization else x

    def outputs_in_data_units(self, outputs: np.ndarray) -> np.ndarray:
        """Model outputs -> regression values in the targets' units (other tasks unchanged)."""
        if self.target == "values" and self.normalization is not None:
            return self.normalization.inverse_targets(outputs)
        return outputs

    def _prepare(self, raw: ArrayDataset) -> Split:
        x = self.model_inputs(raw.x)
        if self.target == "input":
            target = raw.x
        elif self.target == "values":
            target = self.normalization.targets.transform(raw.y) if self.normalization else raw.y
        elif self.loss == "bce_with_logits":
            if self.output_shape == (1,):
                target = raw.y.astype(np.float32)[:, None]
            else:
                target = np.eye(self.n_classes, dtype=np.float32)[raw.y]
        else:
            target = raw.y
        return Split(raw, np.ascontiguousarray(x), np.ascontiguousarray(target))

    # -- metrics ---------------------------------------------------------------------------------

    def metrics(self, split: Split, outputs: np.ndarray, loss: float) -> dict[str, float]:
        """Loss plus accuracy (classification), MAE and R^2 (regression), MAE (reconstruction)."""
        result = {"loss": float(loss)}
        if len(split) == 0:
            return result
        if self.target == "labels":
            result["accuracy"] = accuracy(predicted_classes(outputs), split.raw.y)
        elif self.target == "values":
            values = self.outputs_in_data_units(outputs)
            result["mae"] = mean_absolute_error(values, split.raw.y)
            result["r2"] = r2_score(values, split.raw.y)
        else:
            result["mae"] = mean_absolute_error(outputs, split.raw.x)
        return result

    def confusion(self, split: Split, outputs: np.ndarray) -> np.ndarray | None:
        if self.target != "labels" or len(split) == 0:
            return None
        return confusion_matrix(split.raw.y, predicted_classes(outputs), self.n_classes)

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        return class_probabilities(outputs, self.loss)

    def class_columns(self, outputs: np.ndarray) -> np.ndarray:
        """The probabilities classes first, (C, N): for ``metrics.top_class``."""
        return class_columns(outputs, self.loss)


def _resolve_target(target: str, dataset: ArrayDataset) -> str:
    if target == "auto":
        return "labels" if dataset.task == "classification" else "values"
    if target == "labels" and dataset.task != "classification":
        raise TrainingError(f"target 'labels' needs a classification dataset; '{dataset.name}' is regression "
                            f"(use target 'values')")
    if target == "values" and dataset.task != "regression":
        raise TrainingError(f"target 'values' needs a regression dataset; '{dataset.name}' is classification "
                            f"(use target 'labels')")
    return target


def _fmt(shape) -> str:
    shape = tuple(shape)
    return f"({shape[0]},)" if len(shape) == 1 else str(shape)
