"""Prediction snapshots: what the model predicts, in a form a view can plot at once.

The sample shown (images, sequences, table rows) is chosen once per run, so successive snapshots
show the same items changing. Snapshots are made in the training thread and stay small: a few
sequences, at most ``MAX_POINTS`` regression rows, never a whole split.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .events import PredictionSnapshot
from .metrics import top_class
from .problem import Problem

GRID_SIZE = 100        # boundary grid resolution (per side)
CURVE_POINTS = 200     # points on a fitted curve
MAX_POINTS = 2000      # data points sent with a boundary or curve
SAMPLE_SIZE = 16       # images / table rows shown
SEQUENCE_SAMPLES = 8   # sequences shown, each in a small plot of its own
SEQUENCE_FEATURES = 4  # features kept per step of a shown sequence

Predict = Callable[[np.ndarray], np.ndarray]   # model inputs (standardised) -> outputs


class SnapshotMaker:
    def __init__(self, problem: Problem, seed: int):
        self.problem = problem
        data = problem.dataset
        shown = problem.val if len(problem.val) else problem.train
        rng = np.random.default_rng(seed)
        self.points = _subsample(problem.train.raw.x, problem.train.raw.y, MAX_POINTS, rng)
        if problem.target == "input":
            self.kind = "reconstruction"
        elif data.kind == "points2d" and problem.target == "labels":
            self.kind = "boundary2d"
        elif data.kind == "curve1d" and problem.target == "values":
            self.kind = "curve1d"
        elif data.kind in ("images", "sequence"):
            self.kind = data.kind
        else:
            self.kind = "table"
        # A table's regression is read as predicted against actual: as many rows as a scatter holds.
        wanted = {"sequence": SEQUENCE_SAMPLES}.get(self.kind, SAMPLE_SIZE)
        if self.kind == "table" and problem.target == "values":
            wanted = MAX_POINTS
        count = min(wanted, len(shown))
        picked = np.sort(rng.choice(len(shown), size=count, replace=False)) if count else np.zeros(0, np.int64)
        self.sample_x = shown.raw.x[picked]
        self.sample_y = shown.raw.y[picked]
        self._grid = self._make_grid() if self.kind in ("boundary2d", "curve1d") else None
        self._inputs, self._inputs_of = {}, None   # model-ready forms of the fixed inputs (``make``)
        self._planes = {}   # a table's (xx, yy) boundary planes, by feature pair (``_slice``)

    def _make_grid(self):
        x = self.problem.dataset.x
        low, high = x.min(axis=0), x.max(axis=0)
        margin = 0.1 * np.maximum(high - low, 1e-6)
        low, high = low - margin, high + margin
        if self.kind == "curve1d":
            return np.linspace(low[0], high[0], CURVE_POINTS, dtype=np.float32)
        xs = np.linspace(low[0], high[0], GRID_SIZE, dtype=np.float32)
        ys = np.linspace(low[1], high[1], GRID_SIZE, dtype=np.float32)
        return np.meshgrid(xs, ys)

    def make(self, epoch: int, predict: Predict, view_features=None) -> PredictionSnapshot:
        """The predictions at ``epoch``. ``view_features``: for a table's classes, the two feature
        columns to draw the decision boundary over (the others held at their training means)."""
        problem = self.problem
        if self._inputs_of is not problem.normalization:   # (set once a run; checked all the same)
            self._inputs, self._inputs_of = {}, problem.normalization

        def run(key, x):
            """The model's outputs for the fixed inputs ``x`` (or what ``x()`` makes), named ``key``:
            they are made and standardised for the model once a run, not at every snapshot (a
            boundary grid's 10,000 points)."""
            inputs = self._inputs.get(key)
            if inputs is None:
                inputs = self._inputs[key] = problem.model_inputs(x() if callable(x) else x)
            return predict(inputs)

        pair = self.slice_features(view_features)
        if pair is not None:
            return PredictionSnapshot(epoch, "boundary2d", self._slice(pair, run))
        if self.kind == "curve1d":
            x_data, y_data = self.points
            y_pred = problem.outputs_in_data_units(run("grid", self._grid[:, None]))
            data = {"x_grid": self._grid, "y_pred": _squeeze(y_pred), "x_data": x_data[:, 0],
                    "y_data": _squeeze(y_data)}
        elif self.kind == "boundary2d":
            xx, yy = self._grid
            grid_inputs = lambda: np.stack([xx.ravel(), yy.ravel()], axis=1)  # noqa: E731
            points, truth = self.points
            data = {"xx": xx, "yy": yy, **_grid_classes(problem, run("grid", grid_inputs), xx.shape),
                    "x": points, "labels": truth, "pred": _classes(problem, run("points", points)),
                    "class_names": np.array(problem.class_names)}
        elif self.kind == "reconstruction":
            data = {"images": _images(self.sample_x), "reconstructions": _images(run("sample", self.sample_x))}
        else:
            data = self._sample_predictions(run("sample", self.sample_x))
        return PredictionSnapshot(epoch, self.kind, data)

    def slice_features(self, view_features):
        """``view_features`` where a boundary slice can be drawn (a table of classes with those two
        numeric columns), else None."""
        x = self.problem.dataset.x
        if (view_features is None or self.kind != "table" or self.problem.target != "labels"
                or x.ndim != 2 or max(view_features) >= x.shape[1]):
            return None
        return tuple(view_features)

    def _slice(self, pair, run) -> dict:
        """The decision boundary over two feature columns, the others held at the training split's
        means (as TensorFlow Playground draws its plane), with the data points on that plane."""
        i, j = pair
        x = self.problem.dataset.x
        plane = self._planes.get(pair)
        if plane is None:   # (the data's, fixed for the run: made once per pair)
            axes = []
            for column in (i, j):
                low, high = float(x[:, column].min()), float(x[:, column].max())
                margin = 0.1 * max(high - low, 1e-6)
                axes.append(np.linspace(low - margin, high + margin, GRID_SIZE, dtype=np.float32))
            plane = self._planes[pair] = np.meshgrid(*axes)
        xx, yy = plane

        def grid_inputs():
            means = self.problem.train.raw.x.mean(axis=0).astype(np.float32)
            inputs = np.repeat(means[None, :], xx.size, axis=0)
            inputs[:, i], inputs[:, j] = xx.ravel(), yy.ravel()
            return inputs

        points, truth = self.points
        names = list(self.problem.dataset.feature_names) or [f"feature {k + 1}" for k in range(x.shape[1])]
        return {"xx": xx, "yy": yy, **_grid_classes(self.problem, run(("grid", pair), grid_inputs), xx.shape),
                "x": np.stack([points[:, i], points[:, j]], axis=1), "labels": truth,
                "pred": _classes(self.problem, run("points", points)),
                "class_names": np.array(self.problem.class_names),
                "axes": np.array([names[i], names[j]]), "features": np.array(pair)}

    def _sample_predictions(self, outputs: np.ndarray) -> dict:
        problem = self.problem
        data = {"true": self.sample_y}
        if self.kind == "images":
            data["images"] = _images(self.sample_x)
        elif self.kind == "sequence":
            data["sequences"] = np.asarray(self.sample_x[:, :, :SEQUENCE_FEATURES], dtype=np.float32)
        elif problem.target == "labels":   # the rows a table of predictions lists
            data.update(x=self.sample_x, feature_names=np.array(problem.dataset.feature_names))
        if problem.target == "labels":
            pred, confidence = top_class(problem.class_columns(outputs))
            data.update(pred=pred, confidence=confidence.astype(np.float32),
                        class_names=np.array(problem.class_names))
        else:
            data["pred"] = problem.outputs_in_data_units(outputs).astype(np.float32)
        return data


def _grid_classes(problem, outputs: np.ndarray, shape) -> dict:
    """A boundary grid's predicted classes ("grid", and "grid_labels" the same), each point's
    probability of its class ("confidence", float32) and all its probabilities ("probs", float32),
    in the grid's ``shape``: from the classes-first probabilities (``metrics.top_class``)."""
    columns = problem.class_columns(outputs)
    labels, confidence = top_class(columns)
    labels = labels.reshape(shape)
    return {"grid": labels, "grid_labels": labels, "confidence": confidence.astype(np.float32).reshape(shape),
            "probs": columns.T.astype(np.float32, order="C").reshape(shape + (-1,))}


def _classes(problem, outputs: np.ndarray) -> np.ndarray:
    """The predicted class of each row of ``outputs`` (int64), as the probabilities' argmax."""
    return top_class(problem.class_columns(outputs))[0]


def _subsample(x, y, limit, rng):
    if len(x) <= limit:
        return x, y
    keep = np.sort(rng.choice(len(x), size=limit, replace=False))
    return x[keep], y[keep]


def _squeeze(values: np.ndarray) -> np.ndarray:
    return values[:, 0] if values.ndim == 2 and values.shape[1] == 1 else values


def _images(x: np.ndarray) -> np.ndarray:
    """(K, 1, H, W) -> (K, H, W); colour images stay (K, C, H, W)."""
    x = np.asarray(x, dtype=np.float32)
    return x[:, 0] if x.ndim == 4 and x.shape[1] == 1 else x
