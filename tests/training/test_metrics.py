"""Metrics as a person reads them: accuracy, MAE and R^2 in the data's units, confusion counts."""
import numpy as np
import pytest

from layerforge.training.metrics import (TOP_CLASS_ROWS, accuracy, class_columns, class_probabilities,
                                         confusion_matrix, mean_absolute_error, predicted_classes, r2_score,
                                         top_class)


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


@pytest.mark.parametrize("loss", ["cross_entropy", "nll", "bce_with_logits"])
@pytest.mark.parametrize("classes", [1, 3, 12])
def test_class_columns_are_the_probabilities_classes_first_to_the_bit(loss, classes):
    rng = np.random.default_rng(classes)
    outputs = (rng.standard_normal((257, classes)) * 4).astype(np.float32)
    if loss == "nll":
        outputs = np.log(class_probabilities(outputs, "cross_entropy")).astype(np.float32)
    columns = class_columns(outputs, loss)
    assert columns.shape == (max(classes, 2), 257) and columns.flags.c_contiguous
    assert columns.tobytes() == np.ascontiguousarray(class_probabilities(outputs, loss).T).tobytes()


@pytest.mark.parametrize("classes", [1, 2, 3, 5, TOP_CLASS_ROWS, TOP_CLASS_ROWS + 1])
def test_top_class_is_argmax_first_of_ties_and_its_value(classes):
    """Each point's class and probability as numpy's argmax picks them, ties to the first class, on
    both sides of the row-by-row limit."""
    rng = np.random.default_rng(classes)
    columns = rng.random((classes, 500))
    columns[:, :40] = 0.25                       # every class tied
    columns[-1, 40:80] = columns[0, 40:80]       # the last tied with the first
    columns[:, 80:90] = 0.0
    labels, best = top_class(columns)
    expected = np.argmax(columns, axis=0)
    assert labels.dtype == np.int64 and labels.tolist() == expected.tolist()
    assert best.tobytes() == columns[expected, np.arange(500)].tobytes()
    assert labels[:40].tolist() == [0] * 40


def test_top_class_gives_argmax_answer_where_a_probability_is_nan():
    """A model whose outputs overflowed gives NaN probabilities: the labels are argmax's (the first
    NaN wins), not a class that a comparison with NaN happened to leave."""
    columns = np.array([[0.2, np.nan, 0.5, 0.1],
                        [0.7, 0.3, np.nan, 0.1],
                        [0.1, 0.6, 0.4, np.nan]])
    labels, best = top_class(columns)
    assert labels.tolist() == np.argmax(columns, axis=0).tolist() == [1, 0, 1, 2]
    assert best[0] == 0.7 and np.isnan(best[1:]).all()


def test_top_class_of_no_points():
    labels, best = top_class(np.zeros((3, 0)))
    assert labels.shape == best.shape == (0,) and labels.dtype == np.int64
