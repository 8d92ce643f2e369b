"""Metrics on host numpy arrays: loss bookkeeping, accuracy, MAE, R^2, confusion matrices."""
from __future__ import annotations

import numpy as np


def predicted_classes(outputs: np.ndarray) -> np.ndarray:
    """Class index per row: argmax of the scores, or score > 0 for a single logit (two classes)."""
    if outputs.ndim == 2 and outputs.shape[1] == 1:
        return (outputs[:, 0] > 0).astype(np.int64)
    return np.argmax(outputs, axis=1).astype(np.int64)


def class_probabilities(outputs: np.ndarray, loss: str) -> np.ndarray:
    """(N, C) probabilities from the model's outputs as the loss reads them."""
    if _by_rows(outputs, loss):
        return _row_probabilities(outputs.astype(np.float64), loss)
    return np.ascontiguousarray(class_columns(outputs, loss).T)


def class_columns(outputs: np.ndarray, loss: str) -> np.ndarray:
    """``class_probabilities``' values classes first, (C, N): the layout ``top_class`` reads."""
    if _by_rows(outputs, loss):
        return np.ascontiguousarray(_row_probabilities(outputs.astype(np.float64), loss).T)
    # the softmax on the classes-first layout: a reduction over a few classes then runs along all the
    # rows at once instead of one short loop per row (a boundary grid of 10,000 rows of 3 classes:
    # 0.59 -> 0.09 ms), with the same values
    columns = np.ascontiguousarray(outputs.T, dtype=np.float64)
    columns -= np.maximum.reduce(columns, axis=0)
    np.exp(columns, out=columns)
    columns /= np.maximum(np.add.reduce(columns, axis=0), 1e-300)
    return columns


def _by_rows(outputs: np.ndarray, loss: str) -> bool:
    """Whether the probabilities come row by row (one logit for two classes, log-probabilities, or
    independent logits) rather than from a softmax, which runs classes first."""
    return outputs.shape[1] == 1 or loss in ("nll", "bce_with_logits")


def _row_probabilities(outputs: np.ndarray, loss: str) -> np.ndarray:
    if outputs.shape[1] == 1:  # one logit for two classes
        p = 1.0 / (1.0 + np.exp(-outputs[:, 0]))
        return np.stack([1.0 - p, p], axis=1)
    # nll reads log-probabilities; bce_with_logits one logit per class
    probs = np.exp(outputs) if loss == "nll" else 1.0 / (1.0 + np.exp(-outputs))
    return probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-300)


# Classes up to which ``top_class`` compares whole rows; past it, numpy's argmax per point is quicker.
TOP_CLASS_ROWS = 16


def top_class(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For (C, N) scores, each point's class of the largest score (the first of equal ones, as
    ``argmax``; int64) and that score. Row by row over the classes: numpy's argmax over a short class
    axis loops once per point (a boundary grid of 10,000 points of 3 classes: labels and their
    probabilities 170 -> 38 us). A NaN wins where it stands, as in argmax."""
    count = columns.shape[0]
    if count <= TOP_CLASS_ROWS:
        best = columns[0].copy()
        labels = np.zeros(columns.shape[1], dtype=np.int64)
        for c in range(1, count):
            row = columns[c]
            better = np.greater(row, best)
            np.maximum(best, row, out=best)
            labels += better * (c - labels)   # c where better: arithmetic, which masked stores are not
        if not np.isnan(best).any():   # (a NaN propagates through maximum; there, argmax's answer)
            return labels, best
    labels = np.argmax(columns, axis=0).astype(np.int64)
    return labels, np.take_along_axis(columns, labels[None], axis=0)[0]


def accuracy(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean(pred == true)) if len(true) else float("nan")


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """counts[t, p]: how many samples of true class t were predicted as p."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (true.astype(np.int64), np.clip(pred, 0, n_classes - 1).astype(np.int64)), 1)
    return counts


def mean_absolute_error(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean(np.abs(pred.astype(np.float64) - true))) if true.size else float("nan")


def r2_score(pred: np.ndarray, true: np.ndarray) -> float:
    """Coefficient of determination, averaged over outputs (1 is perfect, 0 predicts the mean)."""
    if len(true) < 2:
        return float("nan")
    true = true.reshape(len(true), -1).astype(np.float64)
    pred = pred.reshape(len(pred), -1).astype(np.float64)
    residual = np.sum((true - pred) ** 2, axis=0)
    total = np.sum((true - true.mean(axis=0)) ** 2, axis=0)
    scores = np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1.0),
                      np.where(residual == 0, 1.0, 0.0))
    return float(np.mean(scores))
