"""Built-in datasets: shapes, dtypes, classes, options and seeds as the GUI and Trainer rely on."""
from importlib import resources

import numpy as np
import pytest

from layerforge.data import DataError, dataset_info, list_datasets, load_dataset

NAMES = [info.name for info in list_datasets()]
GENERATED = [info.name for info in list_datasets() if any(o.name == "seed" for o in info.options)]


def test_every_expected_dataset_is_listed():
    assert set(NAMES) >= {"spiral", "moons", "circles", "xor", "blobs", "sine", "polynomial",
                          "step", "iris", "digits", "waveforms"}


@pytest.mark.parametrize("name", NAMES)
def test_builtin_matches_its_declaration(name):
    info = dataset_info(name)
    ds = load_dataset(name)
    assert ds.task == info.task and ds.kind == info.kind
    assert ds.x.dtype == np.float32 and ds.x.shape == (len(ds), *ds.input_shape)
    assert np.all(np.isfinite(ds.x)) and ds.description and ds.source
    if ds.task == "classification":
        assert ds.y.dtype == np.int64 and ds.y.shape == (len(ds),)
        assert len(ds.class_names) == ds.output_dim >= 2
        assert set(np.unique(ds.y)) == set(range(ds.output_dim))   # every class present
    else:
        assert ds.y.dtype == np.float32 and ds.y.shape == (len(ds), ds.output_dim)
        assert ds.class_names == []


@pytest.mark.parametrize("name", GENERATED)
def test_generated_dataset_is_deterministic_by_seed(name):
    first, again = load_dataset(name, seed=7), load_dataset(name, seed=7)
    other = load_dataset(name, seed=8)
    np.testing.assert_array_equal(first.x, again.x)
    np.testing.assert_array_equal(first.y, again.y)
    assert not np.array_equal(first.x, other.x)


@pytest.mark.parametrize("name", ["spiral", "moons", "circles", "xor", "blobs", "sine",
                                  "polynomial", "step", "waveforms"])
def test_n_samples_option_sets_the_size(name):
    assert len(load_dataset(name, n_samples=51)) == 51


@pytest.mark.parametrize("name", ["spiral", "circles", "blobs"])
def test_n_classes_option_sets_the_classes(name):
    ds = load_dataset(name, n_classes=5, n_samples=100)
    assert ds.output_dim == 5 and len(ds.class_names) == 5
    assert list(ds.class_counts().values()) == [20] * 5


def test_iris_is_the_shipped_table():
    ds = load_dataset("iris")
    assert ds.x.shape == (150, 4) and ds.input_shape == (4,)
    assert ds.class_names == ["setosa", "versicolor", "virginica"]
    assert ds.class_counts() == {"setosa": 50, "versicolor": 50, "virginica": 50}
    np.testing.assert_allclose(ds.x[0], [5.1, 3.5, 1.4, 0.2])
    np.testing.assert_allclose(ds.x.mean(axis=0), [5.843, 3.057, 3.758, 1.199], atol=1e-3)
    assert "CC BY 4.0" in ds.source and len(ds.feature_names) == 4


def test_digits_are_8x8_images_scaled_to_unit_range():
    ds = load_dataset("digits")
    assert ds.x.shape == (1797, 1, 8, 8) and ds.kind == "images"
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0
    assert ds.class_names == [str(d) for d in range(10)]
    assert min(ds.class_counts().values()) >= 170
    assert "CC BY 4.0" in ds.source
    # pixels were counts 0..16, so every scaled value is a multiple of 1/16
    np.testing.assert_allclose(ds.x * 16, np.round(ds.x * 16), atol=1e-5)


def test_shipped_files_name_their_source_and_licence():
    readme = resources.files("layerforge.resources").joinpath("datasets", "README.md").read_text()
    for needed in ("iris.npz", "digits.npz", "CC BY 4.0", "UCI", "Fisher", "Alpaydin"):
        assert needed in readme


def test_waveforms_are_sequences_for_a_recurrent_model():
    ds = load_dataset("waveforms", n_samples=40, seq_len=20)
    assert ds.x.shape == (40, 20, 1) and ds.kind == "sequence"
    assert ds.class_names == ["sine", "square", "rising sawtooth", "falling sawtooth"]
    clean = load_dataset("waveforms", n_samples=40, seq_len=64, noise=0.0)
    square = clean.x[clean.y == 1][:, :, 0]
    # a clean square wave takes exactly two values, +-amplitude
    assert all(len(np.unique(np.abs(row).round(5))) == 1 for row in square)
    # rising and falling ramps differ only in the order of their values
    steps = np.diff(clean.x[:, :, 0], axis=1)
    assert np.all(np.median(steps[clean.y == 2], axis=1) > 0)
    assert np.all(np.median(steps[clean.y == 3], axis=1) < 0)


def test_regression_curves_follow_their_formula_without_noise():
    sine = load_dataset("sine", noise=0.0, frequency=2.0)
    np.testing.assert_allclose(sine.y[:, 0], np.sin(2.0 * sine.x[:, 0]), atol=1e-5)
    cubic = load_dataset("polynomial", noise=0.0, degree=3)
    x = cubic.x[:, 0].astype(np.float64)
    np.testing.assert_allclose(cubic.y[:, 0], 4 * x**3 - 3 * x, atol=1e-5)
    steps = load_dataset("step", noise=0.0, levels=4)
    np.testing.assert_allclose(np.unique(steps.y), [-1, -1 / 3, 1 / 3, 1], atol=1e-6)
    assert sine.x.shape == (200, 1) and sine.y.shape == (200, 1) and sine.kind == "curve1d"


def test_default_spiral_is_separable_enough_for_the_quality_target():
    """The app promises >= 95% validation accuracy on the spiral: the default noise must allow it.
    Leave-one-out 1-nearest-neighbour accuracy is a model-free lower bound on that."""
    ds = load_dataset("spiral")
    distances = ((ds.x[:, None, :] - ds.x[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(distances, np.inf)
    assert (ds.y[distances.argmin(axis=1)] == ds.y).mean() >= 0.97


def test_noise_option_changes_the_spread():
    tight = load_dataset("blobs", noise=0.05)
    loose = load_dataset("blobs", noise=0.5)
    def spread(ds):
        return np.mean([ds.x[ds.y == k].std(axis=0).mean() for k in range(ds.output_dim)])
    assert spread(loose) > 5 * spread(tight)


@pytest.mark.parametrize("name, options, message", [
    ("spirl", {}, "unknown built-in dataset 'spirl'"),
    ("spiral", {"nois": 0.1}, "no option 'nois'"),
    ("spiral", {"noise": -1.0}, "'noise' must lie in"),
    ("spiral", {"n_samples": 10.5}, "whole number"),
    ("spiral", {"noise": "high"}, "must be a number"),
    ("iris", {"seed": 1}, "its options are: none"),
    ("blobs", {"n_samples": 5, "n_classes": 4}, "too few"),
])
def test_bad_name_or_option_is_a_clear_error(name, options, message):
    with pytest.raises(DataError, match=message):
        load_dataset(name, **options)


def test_info_lists_options_with_defaults():
    spiral = dataset_info("spiral")
    defaults = spiral.defaults()
    assert {"n_samples", "noise", "n_classes", "seed"} <= set(defaults)
    ds = load_dataset("spiral", **defaults)
    np.testing.assert_array_equal(ds.x, load_dataset("spiral").x)
    assert all(o.minimum <= o.default <= o.maximum and o.doc for o in spiral.options)


def test_default_sine_noise_leaves_room_for_the_r2_target():
    """The app promises sine regression R^2 >= 0.98; the noise alone must not make that impossible."""
    ds = load_dataset("sine")
    residual = ds.y[:, 0] - np.sin(ds.x[:, 0])
    assert 1.0 - residual.var() / ds.y.var() >= 0.99
