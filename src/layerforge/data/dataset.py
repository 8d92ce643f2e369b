"""The dataset value type every loader returns, and the one error type they raise."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

TASKS = ("classification", "regression")
# How a view should plot the inputs: scatter of 2-D points, a fitted curve over one input,
# an image grid, traces of a sequence, or a plain table.
KINDS = ("points2d", "curve1d", "images", "sequence", "table")
# Far above any classifier trained here (ImageNet-21k has 21,841 classes), far below a label
# such as 1e9 that would build a billion class names and an output layer to match.
MAX_CLASSES = 100_000


class DataError(ValueError):
    """Bad or unreadable data. The message names the file, line and column where it can."""


def infer_kind(x: np.ndarray, task: str) -> str:
    """Guess the plot kind from the input shape (batch dimension included)."""
    sample_shape = x.shape[1:]
    if len(sample_shape) == 3:
        return "images"
    if len(sample_shape) == 2:
        return "sequence"
    if sample_shape == (2,) and task == "classification":
        return "points2d"
    if sample_shape == (1,) and task == "regression":
        return "curve1d"
    return "table"


@dataclass(repr=False)
class ArrayDataset:
    """Inputs and targets in memory, with what a model and a view need to know about them.

    ``x`` is float32 of shape (N, *input_shape). ``y`` is int64 class indices of shape (N,) for
    classification, float32 of shape (N, output_dim) for regression. Values are coerced and checked
    on construction, so a dataset that exists is consistent.
    """

    name: str
    task: str
    x: np.ndarray
    y: np.ndarray
    input_shape: tuple = None
    class_names: list = field(default_factory=list)
    output_dim: int = None
    description: str = ""
    source: str = ""
    kind: str = None
    feature_names: list = field(default_factory=list)
    # Things the user should see about how the data was read (rows skipped, images resized, ...).
    notes: list = field(default_factory=list)
    # Augmentation of training batches the data source asks for ({"crop_padding": 4, "hflip": True}).
    augment: dict = field(default_factory=dict)
    # The last ``held_out`` samples are the dataset's own held-out part (MNIST's official 10,000 test
    # images): validation is exactly those (see split.split_indices), so accuracies compare with
    # published ones. 0: split at random by the settings' fractions.
    held_out: int = 0

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise DataError(f"dataset '{self.name}': task must be one of {TASKS}, got {self.task!r}")
        self.held_out = int(self.held_out)
        if self.held_out and not 0 < self.held_out < len(self.x):
            raise DataError(f"dataset '{self.name}': held_out must leave samples to train on, got "
                            f"{self.held_out} of {len(self.x)}")
        self.x = np.ascontiguousarray(self.x, dtype=np.float32)
        if self.x.ndim < 2:
            raise DataError(
                f"dataset '{self.name}': inputs need shape (N, features...), got {self.x.shape}")
        n = self.x.shape[0]
        if self.input_shape is None:
            self.input_shape = tuple(int(d) for d in self.x.shape[1:])
        self.input_shape = tuple(int(d) for d in self.input_shape)
        if self.input_shape != self.x.shape[1:]:
            raise DataError(f"dataset '{self.name}': input_shape {self.input_shape} does not match "
                            f"inputs of shape {self.x.shape}")
        self.class_names = [str(c) for c in self.class_names]
        self.feature_names = [str(c) for c in self.feature_names]
        self.notes = [str(c) for c in self.notes]
        if self.task == "classification":
            self._check_classification_targets(n)
        else:
            self._check_regression_targets(n)
        if self.kind is None:
            self.kind = infer_kind(self.x, self.task)
        if self.kind not in KINDS:
            raise DataError(f"dataset '{self.name}': kind must be one of {KINDS}, got {self.kind!r}")

    def _check_classification_targets(self, n: int) -> None:
        y = np.asarray(self.y)
        if y.ndim != 1 or y.shape[0] != n:
            raise DataError(f"dataset '{self.name}': classification targets need shape ({n},), "
                            f"got {y.shape}")
        if y.size and not np.issubdtype(y.dtype, np.integer):
            if not np.all(np.equal(np.mod(y, 1), 0)):
                raise DataError(f"dataset '{self.name}': class targets must be whole numbers")
        if y.size and np.issubdtype(y.dtype, np.number) and y.max() >= MAX_CLASSES and not (
                self.class_names or self.output_dim):
            raise DataError(f"dataset '{self.name}': the largest class index is {y.max():,.0f}, "
                            f"more than the {MAX_CLASSES:,} classes Layerforge trains; class "
                            "indices must be 0..K-1: relabel them")
        self.y = np.ascontiguousarray(y, dtype=np.int64)
        if self.output_dim is None:
            if not n and not self.class_names:
                raise DataError(f"dataset '{self.name}' has no samples; it needs at least one "
                                "sample per class")
            self.output_dim = len(self.class_names) or int(self.y.max()) + 1
        self.output_dim = int(self.output_dim)
        if self.output_dim > MAX_CLASSES or len(self.class_names) > MAX_CLASSES:
            raise DataError(f"dataset '{self.name}': {max(self.output_dim, len(self.class_names)):,} "
                            f"classes, more than the {MAX_CLASSES:,} Layerforge trains")
        if not self.class_names:
            self.class_names = [str(i) for i in range(self.output_dim)]
        if len(self.class_names) != self.output_dim:
            raise DataError(f"dataset '{self.name}': {len(self.class_names)} class names for "
                            f"{self.output_dim} classes")
        if n and (self.y.min() < 0 or self.y.max() >= self.output_dim):
            raise DataError(f"dataset '{self.name}': class indices must lie in 0..{self.output_dim - 1}, "
                            f"found {int(self.y.min())}..{int(self.y.max())}")

    def _check_regression_targets(self, n: int) -> None:
        y = np.asarray(self.y, dtype=np.float32)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if y.ndim != 2 or y.shape[0] != n:
            raise DataError(f"dataset '{self.name}': regression targets need shape ({n}, outputs), "
                            f"got {np.shape(self.y)}")
        self.y = np.ascontiguousarray(y)
        if self.output_dim is None:
            self.output_dim = y.shape[1]
        if int(self.output_dim) != y.shape[1]:
            raise DataError(f"dataset '{self.name}': output_dim {self.output_dim} does not match "
                            f"targets of width {y.shape[1]}")
        self.output_dim = int(self.output_dim)
        if self.class_names:
            raise DataError(f"dataset '{self.name}': a regression dataset has no class names")

    def __repr__(self) -> str:   # arrays by dtype and shape, not by value
        return (f"ArrayDataset(name={self.name!r}, task={self.task!r}, kind={self.kind!r}, "
                f"x={self.x.dtype}{self.x.shape}, y={self.y.dtype}{self.y.shape}, "
                f"output_dim={self.output_dim})")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def subset(self, indices, name: str | None = None) -> "ArrayDataset":
        """The samples at ``indices`` (in that order), everything else kept."""
        indices = np.asarray(indices, dtype=np.int64)
        return replace(self, name=name or self.name, x=self.x[indices], y=self.y[indices],
                       class_names=list(self.class_names), feature_names=list(self.feature_names),
                       notes=list(self.notes), augment=dict(self.augment), held_out=0)

    def class_counts(self) -> dict:
        """Samples per class name (classification only), in class order."""
        if self.task != "classification":
            raise DataError(f"dataset '{self.name}' is a regression dataset; it has no classes")
        counts = np.bincount(self.y, minlength=self.output_dim)
        return {name: int(c) for name, c in zip(self.class_names, counts)}

    def summary(self) -> str:
        """One line for a status bar or the CLI."""
        what = (f"{self.output_dim} classes" if self.task == "classification"
                else f"{self.output_dim} output{'s' if self.output_dim != 1 else ''}")
        return f"{self.name}: {len(self)} samples, input {self.input_shape}, {self.task} ({what})"
