"""Standardisation with statistics from the training split only, storable as plain JSON."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .dataset import ArrayDataset, DataError

# A feature whose spread is below this is constant in training; dividing by its tiny std would
# blow up any variation seen later, so it is only centred.
MIN_STD = 1e-6
FIT_CHUNK_BYTES = 16 * 2**20   # the float64 working set of one chunk while fitting


def _chunks(x: np.ndarray):
    """``x`` in slices along its first axis, each about FIT_CHUNK_BYTES once in float64."""
    per_sample = max(1, int(np.prod(x.shape[1:])) * 8)
    step = max(1, FIT_CHUNK_BYTES // per_sample)
    for start in range(0, x.shape[0], step):
        yield x[start:start + step]


def _squared_deviations(chunk: np.ndarray, mean: np.ndarray, axes: tuple) -> np.ndarray:
    deviations = chunk.astype(np.float64)   # the chunk's one float64 copy, worked on in place
    deviations -= mean
    np.square(deviations, out=deviations)
    return deviations.sum(axis=axes, keepdims=True)


class Standardizer:
    """(x - mean) / std per feature (every element of a sample), or per channel for images."""

    def __init__(self, mean, std, per_channel: bool = False):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.per_channel = bool(per_channel)
        if self.mean.shape != self.std.shape:
            raise DataError(f"standardizer mean {self.mean.shape} and std {self.std.shape} "
                            "have different shapes")
        if not (np.all(np.isfinite(self.mean)) and np.all(np.isfinite(self.std))
                and np.all(self.std > 0)):
            raise DataError("standardizer statistics must be finite, with std > 0: the data holds NaN or "
                            "infinite values, or a stored normalisation is damaged (fix the data, or "
                            "retrain to compute the statistics again)")

    @classmethod
    def fit(cls, x, per_channel: bool = False) -> "Standardizer":
        """Statistics of ``x`` (N, *sample_shape); per_channel pools all but axis 1 (N, C, ...)."""
        x = np.asarray(x)
        if x.ndim < 2 or x.shape[0] == 0:
            raise DataError(f"cannot fit a standardizer on an empty array of shape {x.shape}")
        if per_channel and x.ndim < 3:
            raise DataError(f"per-channel statistics need inputs (N, C, ...), got {x.shape}")
        axes = (0, *range(2, x.ndim)) if per_channel else (0,)
        # Two passes in float64, as numpy's mean and std compute them, but over chunks of samples:
        # a float64 copy of all of MNIST's training images would be 4x their float32 size.
        count = x.size // int(np.prod([x.shape[a] for a in range(x.ndim) if a not in axes]))
        total = sum(chunk.sum(axis=axes, keepdims=True, dtype=np.float64) for chunk in _chunks(x))
        mean = total / count
        squares = sum(_squared_deviations(chunk, mean, axes) for chunk in _chunks(x))
        std = np.sqrt(squares / count)[0]
        std = np.where(std < MIN_STD, 1.0, std)
        return cls(mean[0], std, per_channel)

    def _checked(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        try:
            np.broadcast_shapes(x.shape[1:], self.mean.shape)
        except ValueError:
            raise DataError(f"standardizer was fitted on samples of shape {self.mean.shape}, "
                            f"got samples of shape {x.shape[1:]}") from None
        if x.ndim - 1 != self.mean.ndim:
            raise DataError(f"standardizer was fitted on samples of shape {self.mean.shape}, "
                            f"got samples of shape {x.shape[1:]}")
        return x

    def transform(self, x) -> np.ndarray:
        out = np.subtract(self._checked(x), self.mean)   # one new float32 array, divided in place
        out /= self.std
        return out

    def inverse_transform(self, x) -> np.ndarray:
        return (self._checked(x) * self.std + self.mean).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist(),
                "per_channel": self.per_channel}

    @classmethod
    def from_dict(cls, data: dict) -> "Standardizer":
        if not isinstance(data, dict) or not {"mean", "std"} <= set(data):
            found = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise DataError(f"stored standardizer needs 'mean' and 'std', found {found}")
        try:
            return cls(data["mean"], data["std"], data.get("per_channel", False))
        except (TypeError, ValueError) as error:
            if isinstance(error, DataError):
                raise
            raise DataError(f"stored standardizer is malformed ({error})") from None


@dataclass
class Normalization:
    """What was fitted on the training split: inputs, and optionally regression targets."""

    inputs: Standardizer | None = None
    targets: Standardizer | None = None

    @classmethod
    def fit(cls, train: ArrayDataset, inputs: bool = True, targets: bool = False,
            per_channel: bool | None = None) -> "Normalization":
        """Fit on ``train`` only. per_channel defaults to True for images."""
        if targets and train.task != "regression":
            raise DataError("only regression targets can be standardised; class indices stay as "
                            "they are")
        if per_channel is None:
            per_channel = train.kind == "images"
        return cls(Standardizer.fit(train.x, per_channel) if inputs else None,
                   Standardizer.fit(train.y) if targets else None)

    def apply(self, ds: ArrayDataset) -> ArrayDataset:
        """A copy of ``ds`` with inputs (and regression targets) standardised."""
        x = self.inputs.transform(ds.x) if self.inputs else ds.x
        y = self.targets.transform(ds.y) if self.targets else ds.y
        return replace(ds, x=x, y=y, class_names=list(ds.class_names),
                       feature_names=list(ds.feature_names), notes=list(ds.notes))

    def transform_inputs(self, x) -> np.ndarray:
        return self.inputs.transform(x) if self.inputs else np.asarray(x, dtype=np.float32)

    def inverse_targets(self, y) -> np.ndarray:
        """Model outputs back in the units of the original targets."""
        return self.targets.inverse_transform(y) if self.targets else np.asarray(y, np.float32)

    def to_dict(self) -> dict:
        return {"inputs": self.inputs.to_dict() if self.inputs else None,
                "targets": self.targets.to_dict() if self.targets else None}

    @classmethod
    def from_dict(cls, data: dict | None) -> "Normalization":
        if data is None:
            return cls()
        if not isinstance(data, dict) or not set(data) <= {"inputs", "targets"}:
            found = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise DataError(f"stored normalisation must be a dict with 'inputs' and 'targets', found {found}")
        return cls(*(Standardizer.from_dict(data[k]) if data.get(k) is not None else None
                     for k in ("inputs", "targets")))
