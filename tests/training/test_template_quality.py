"""Every template trains headless on its built-in dataset to a stated quality.

Sizes and epochs are small enough for CI on two cores; the bars are what a user would call
"it learned", stated in each test's name.
"""
import numpy as np
import pytest

from layerforge.data import load_dataset
from layerforge.training import Trainer


def _train(spec, dataset, settings):
    result = Trainer(spec, dataset, settings).run()
    assert result.status == "completed", result.reason
    return result


def test_spiral_mlp_reaches_95_percent_validation_accuracy(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, snapshot_every=0)
    result = _train(spec, spiral, settings)
    assert result.final["val"]["accuracy"] >= 0.95


def test_sine_mlp_regressor_reaches_r2_of_0_98(sine, template_run):
    spec, settings = template_run("mlp_regressor", sine, snapshot_every=0)
    result = _train(spec, sine, settings)
    assert result.final["val"]["r2"] >= 0.98
    assert result.final["val"]["mae"] < 0.1   # in the data's units: the noise is 0.05


def test_digits_lenet_reaches_97_percent_validation_accuracy(digits, template_run):
    spec, settings = template_run("lenet", digits, epochs=20, batch_size=32, optimizer="adamw", learning_rate=0.01,
                                  schedule={"type": "cosine"}, snapshot_every=0)
    result = _train(spec, digits, settings)
    assert result.final["val"]["accuracy"] >= 0.97


def test_residual_cnn_learns_digits_in_three_epochs(digits, template_run):
    spec, settings = template_run("residual_cnn", digits, epochs=3, snapshot_every=0)
    result = _train(spec, digits, settings)
    losses = result.history["val_loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert result.final["val"]["accuracy"] >= 0.85   # chance is 0.10


def test_lstm_tells_waveforms_apart_with_90_percent_accuracy(template_run):
    waveforms = load_dataset("waveforms")
    spec, settings = template_run("lstm_classifier", waveforms, epochs=15, grad_clip_norm=1.0, snapshot_every=0)
    result = _train(spec, waveforms, settings)
    assert result.final["val"]["accuracy"] >= 0.90   # chance is 0.25


def test_autoencoder_reconstructs_digits_far_better_than_the_mean_image(digits, template_run):
    spec, settings = template_run("autoencoder", digits, epochs=30, snapshot_every=0)
    assert settings.target == "input"
    result = _train(spec, digits, settings)
    mean_image_mse = float(((digits.x - digits.x.mean(axis=0)) ** 2).mean())
    assert result.history["val_loss"][-1] < result.history["val_loss"][0]
    assert result.final["val"]["loss"] < 0.5 * mean_image_mse


def test_regression_targets_are_standardised_for_training_but_reported_in_data_units(sine, template_run):
    scaled = load_dataset("sine")
    scaled.y = scaled.y * 1000.0 + 5000.0
    spec, settings = template_run("mlp_regressor", scaled, epochs=60, snapshot_every=0)
    trainer = Trainer(spec, scaled, settings)
    result = trainer.run()
    assert result.final["val"]["r2"] > 0.9
    predictions = trainer.predict(scaled.x[:20])
    assert np.abs(predictions - scaled.y[:20]).mean() < 0.2 * 1000.0
    assert trainer.normalization["targets"]["mean"][0] == pytest.approx(5000.0, rel=0.01)
