"""Metrics as a person reads them: accuracy, MAE and R^2 in the data's units, confusion counts."""
import numpy as np
import pytest

from layerforge.training.metrics import (accuracy, class_probabilities, confusion_matrix, mean_absolute_error,
                                         predicted_classes, r2_score)


def test_r2_is_one_for_a_perfect_fit_zero_for_the_mean_and_matches_its_definition():
    rng = np.random.default_rng(0)
    true = rng.normal(size=(50, 2))
    assert r2_score(true, true) == 1.0
    assert r2_score(np.broadcast_to(true.mean(axis=0), true.shape), true) == pytest.approx(0.0, abs=1e-12)
    pred = true + rng.normal(scale=0.3, size=true.shape)
    by_hand = np.mean([1 - ((true[:, j] - pred[:, j]) ** 2).sum() / ((true[:, j] - true[:, j].mean()) ** 2).sum()
                       for j in range(2)])
    assert r2_score(pred, true) == pytest.approx(by_hand)
    assert mean_absolute_error(pred, true) == pytest.approx(np.abs(pred - true).mean())


def test_classes_from_logits_single_logits_and_log_probabilities():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 5.0]])
    assert predicted_classes(logits).tolist() == [0, 2]
    assert predicted_classes(np.array([[-1.0], [3.0]])).tolist() == [0, 1]
    probs = class_probabilities(logits, "cross_entropy")
    assert np.allclose(probs.sum(axis=1), 1.0) and np.argmax(probs, axis=1).tolist() == [0, 2]
    log_probs = np.log(probs)
    assert np.allclose(class_probabilities(log_probs, "nll"), probs)
    assert np.allclose(class_probabilities(np.array([[0.0]]), "bce_with_logits"), [[0.5, 0.5]])


def test_softmax_probabilities_are_the_row_by_row_formula_to_the_bit():
    """The classes-first softmax (fast on a boundary grid's 10,000 rows) against the plain formula,
    with large logits, ties and float32 outputs as the model gives them."""
    rng = np.random.default_rng(3)
    outputs = (rng.standard_normal((1000, 3)) * 30).astype(np.float32)
    outputs[:5] = [[700.0, 0.0, -700.0], [1.0, 1.0, 1.0], [-1e4, -1e4, 0.0], [0.0, 0.0, 0.0], [88.0, 89.0, 90.0]]
    wide = outputs.astype(np.float64)
    expected = np.exp(wide - wide.max(axis=1, keepdims=True))
    expected /= np.maximum(expected.sum(axis=1, keepdims=True), 1e-300)
    probs = class_probabilities(outputs, "cross_entropy")
    assert probs.shape == (1000, 3) and probs.flags.c_contiguous and probs.dtype == np.float64
    assert probs.tobytes() == expected.tobytes()


def test_confusion_counts_true_rows_against_predicted_columns():
    true = np.array([0, 0, 1, 2, 2, 2])
    pred = np.array([0, 1, 1, 2, 0, 2])
    counts = confusion_matrix(true, pred, 3)
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert np.trace(counts) / counts.sum() == accuracy(pred, true)
