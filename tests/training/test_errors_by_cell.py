"""Issue #16, "Errors you can click": a confusion cell lists exactly the samples it counts, the model's
surest first, and the calibration table says how often each confidence is right."""
from __future__ import annotations

import math

import numpy as np
import pytest

from layerforge.data import split_indices
from layerforge.training import Project, Trainer, TrainingError
from layerforge.training.errors_by_cell import SamplePredictions, predict_samples
from layerforge.training.inference import Predictor
from layerforge.training.weights_evaluation import evaluate_weights


def trained(template_run, key, dataset, **changes):
    spec, settings = template_run(key, dataset, epochs=2, **changes)
    trainer = Trainer(spec, dataset, settings)
    trainer.run()
    return spec, settings, trainer


@pytest.fixture(scope="module")
def digits_run(template_run, digits):
    return trained(template_run, "lenet", digits)


def test_each_cell_lists_exactly_the_samples_the_confusion_matrix_counts(digits_run, digits):
    spec, settings, trainer = digits_run
    weights = trainer.state_dict()
    shown = evaluate_weights(spec, digits, settings, weights, 2).confusion
    samples = predict_samples(spec, digits, settings, weights)
    assert samples.split == "validation"
    _, val, _ = split_indices(digits, settings.val_fraction, settings.test_fraction, seed=settings.seed)
    listed = []
    for true in range(10):
        for predicted in range(10):
            cell = samples.samples_in_cell(true, predicted)
            assert len(cell) == shown[true, predicted]
            assert all(r.true == true and r.predicted == predicted and digits.y[r.index] == true for r in cell)
            confidences = [r.confidence for r in cell]
            assert confidences == sorted(confidences, reverse=True)
            listed += [r.index for r in cell]
    assert sorted(listed) == sorted(val.tolist())   # every validation sample in exactly one cell
    assert shown[np.triu_indices(10, 1)].sum() + shown[np.tril_indices(10, -1)].sum() > 0, "a mistake to list"


def test_a_samples_confidence_is_what_the_saved_model_predicts_for_it(digits_run, digits):
    """The same numbers a person gets from Predict on the raw sample, with the run's standardisation."""
    spec, settings, trainer = digits_run
    samples = predict_samples(spec, digits, settings, trainer.state_dict())
    project = Project("digits", spec, {}, settings, normalization=trainer.normalization, data_info=trainer.data_info)
    mistakes = [r for t in range(10) for p in range(10) if t != p for r in samples.samples_in_cell(t, p)]
    picked = mistakes[:5] + samples.samples_in_cell(0, 0)[:3]
    predictions = Predictor(project, trainer.state_dict()).predict(digits.x[[r.index for r in picked]])
    assert predictions.labels.tolist() == [r.predicted for r in picked]
    assert np.allclose(predictions.probabilities.max(axis=1), [r.confidence for r in picked], atol=1e-5)


def test_without_a_validation_split_the_training_split_is_listed(template_run, spiral):
    spec, settings, trainer = trained(template_run, "mlp_classifier", spiral, val_fraction=0.0)
    weights = trainer.state_dict()
    samples = predict_samples(spec, spiral, settings, weights)
    assert samples.split == "training"
    assert len(samples) == len(spiral)
    assert np.array_equal(samples.confusion(), evaluate_weights(spec, spiral, settings, weights, 2).confusion)
    assert sum(b.count for b in samples.calibration()) == len(spiral)


def test_calibration_bins_count_every_sample_and_measure_accuracy_per_bin():
    # true, predicted, confidence: four at 0.95 (three right), two at 0.55 (one right), one sure and right.
    rows = [(0, 0, .95), (1, 1, .95), (2, 2, .95), (0, 2, .95), (1, 1, .55), (2, 0, .55), (2, 2, 1.0)]
    true, predicted, confidence = zip(*rows)
    samples = SamplePredictions("validation", np.arange(10, 17), true, predicted, confidence, ["a", "b", "c"])
    bins = samples.calibration(10)
    assert [b.count for b in bins] == [0, 0, 0, 0, 0, 2, 0, 0, 0, 5]
    assert sum(b.count for b in bins) == len(rows)
    assert bins[5].accuracy == 0.5 and bins[5].mean_confidence == pytest.approx(0.55)
    assert bins[9].accuracy == pytest.approx(4 / 5) and bins[9].mean_confidence == pytest.approx(0.96)
    assert math.isnan(bins[0].accuracy) and (bins[0].low, bins[0].high) == (0.0, 0.1)
    assert samples.calibration_error(10) == pytest.approx((2 * 0.05 + 5 * 0.16) / 7)
    assert [b.count for b in samples.calibration(2)] == [0, 7]
    # The surest mistake first; equal confidences in dataset order.
    assert [(r.index, r.confidence) for r in samples.samples_in_cell(0, 2)] == [(13, .95)]
    assert [r.index for r in samples.samples_in_cell(2, 2)] == [16, 12]
    assert samples.samples_in_cell(1, 0) == []
    with pytest.raises(IndexError, match="3 classes"):
        samples.samples_in_cell(3, 0)


def test_a_regression_has_no_cells_to_list(template_run, sine):
    spec, settings, trainer = trained(template_run, "mlp_regressor", sine)
    with pytest.raises(TrainingError, match="no classes"):
        predict_samples(spec, sine, settings, trainer.state_dict())
