"""Seeded, stratified splits, and standardisation fitted on the training split only."""
import json

import numpy as np
import pytest

from layerforge.data import (ArrayDataset, DataError, Normalization, SplitSettings, Standardizer,
                             load_dataset, prepare, split_dataset, split_indices)


def test_split_is_a_deterministic_partition():
    ds = load_dataset("digits")
    first = split_indices(ds, val_fraction=0.15, test_fraction=0.1, seed=3)
    again = split_indices(ds, val_fraction=0.15, test_fraction=0.1, seed=3)
    other = split_indices(ds, val_fraction=0.15, test_fraction=0.1, seed=4)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], other[1])
    everything = np.concatenate(first)
    assert len(everything) == len(ds) and len(np.unique(everything)) == len(ds)
    assert [len(part) for part in first] == [1347, 270, 180]   # round(1797 * 0.15), round(1797 * 0.1)


def test_stratified_split_keeps_class_proportions():
    ds = load_dataset("iris")
    train, val, test = split_dataset(ds, val_fraction=0.2, test_fraction=0.2, seed=0)
    assert val.class_counts() == {"setosa": 10, "versicolor": 10, "virginica": 10}
    assert test.class_counts() == val.class_counts()
    assert train.class_counts() == {"setosa": 30, "versicolor": 30, "virginica": 30}
    assert train.class_names == ds.class_names and train.task == "classification"


def test_unbalanced_classes_stay_represented():
    y = np.array([0] * 90 + [1] * 10)
    ds = ArrayDataset("rare", "classification", np.arange(100.0)[:, None], y)
    _, val, _ = split_dataset(ds, val_fraction=0.2, seed=1)
    assert val.class_counts() == {"0": 18, "1": 2}
    _, unstratified, _ = split_dataset(ds, val_fraction=0.2, seed=1, stratify=False)
    assert len(unstratified) == 20


def test_split_carries_the_right_samples():
    ds = load_dataset("sine")
    train, val, test = split_dataset(ds, val_fraction=0.25, seed=0)
    assert len(test) == 0 and test.x.shape == (0, 1) and len(val) == 50
    index = split_indices(ds, val_fraction=0.25, seed=0)[1]
    np.testing.assert_array_equal(val.x, ds.x[index])
    np.testing.assert_array_equal(val.y, ds.y[index])


@pytest.mark.parametrize("val, test, expected", [
    (1.0, 0.0, "val_fraction must lie in"), (-0.1, 0.0, "val_fraction must lie in"),
    (0.6, 0.4, "must leave samples to train on"),
])
def test_bad_fractions(val, test, expected):
    with pytest.raises(DataError, match=expected):
        split_dataset(load_dataset("iris"), val_fraction=val, test_fraction=test)


def test_regression_cannot_be_stratified():
    with pytest.raises(DataError, match="cannot be stratified"):
        split_dataset(load_dataset("sine"), stratify=True)


def test_standardizer_uses_training_statistics_only():
    ds = load_dataset("iris")
    train, val, _ = split_dataset(ds, val_fraction=0.3, seed=0)
    scaler = Standardizer.fit(train.x)
    np.testing.assert_allclose(scaler.mean, train.x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(scaler.std, train.x.std(axis=0), rtol=1e-5)
    assert not np.allclose(scaler.mean, ds.x.mean(axis=0), rtol=1e-4)   # val not peeked at
    scaled = scaler.transform(train.x)
    np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(scaled.std(axis=0), 1, atol=1e-4)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(val.x)), val.x, atol=1e-5)


def test_constant_feature_is_centred_not_blown_up():
    x = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]], np.float32)
    scaler = Standardizer.fit(x)
    assert scaler.std[1] == 1.0
    np.testing.assert_allclose(scaler.transform(np.array([[2.0, 6.0]])), [[0.0, 1.0]], atol=1e-6)


def test_per_channel_statistics_for_images():
    x = np.stack([np.zeros((4, 3, 3)), np.ones((4, 3, 3)) * 2], axis=1)   # (4, 2, 3, 3)
    x[::2, 1] += 1
    scaler = Standardizer.fit(x, per_channel=True)
    assert scaler.mean.shape == (2, 1, 1)
    np.testing.assert_allclose(scaler.mean.ravel(), [0.0, 2.5])
    assert scaler.transform(x).shape == x.shape


def test_stored_statistics_are_plain_json_and_round_trip():
    train = load_dataset("digits")
    norm = Normalization.fit(train)
    assert norm.inputs.per_channel   # images default to per-channel statistics
    stored = json.loads(json.dumps(norm.to_dict()))
    restored = Normalization.from_dict(stored)
    np.testing.assert_array_equal(restored.apply(train).x, norm.apply(train).x)
    assert Normalization.from_dict(None).inputs is None


def test_regression_targets_can_be_standardised_and_inverted():
    train = load_dataset("polynomial", noise=0.0)
    norm = Normalization.fit(train, targets=True)
    scaled = norm.apply(train)
    assert abs(float(scaled.y.mean())) < 1e-5 and abs(float(scaled.y.std()) - 1) < 1e-4
    np.testing.assert_allclose(norm.inverse_targets(scaled.y), train.y, atol=1e-5)
    with pytest.raises(DataError, match="only regression targets"):
        Normalization.fit(load_dataset("iris"), targets=True)


def test_shape_mismatch_and_bad_stored_statistics():
    scaler = Standardizer.fit(np.ones((3, 4)))
    with pytest.raises(DataError, match=r"fitted on samples of shape \(4,\), got .*\(3,\)"):
        scaler.transform(np.ones((2, 3)))
    with pytest.raises(DataError, match="needs 'mean' and 'std'"):
        Standardizer.from_dict({"mean": [0.0]})
    with pytest.raises(DataError, match="std > 0"):
        Standardizer.from_dict({"mean": [0.0], "std": [0.0]})
    with pytest.raises(DataError, match="empty"):
        Standardizer.fit(np.zeros((0, 3)))


def test_prepare_splits_then_standardises_with_training_statistics():
    ds = load_dataset("sine")
    settings = SplitSettings(val_fraction=0.25, seed=2, standardize_targets=True)
    prepared = prepare(ds, settings)
    train_index, val_index, _ = split_indices(ds, val_fraction=0.25, seed=2)
    raw_train_x = ds.x[train_index]
    np.testing.assert_allclose(prepared.normalization.inputs.mean, raw_train_x.mean(axis=0),
                               rtol=1e-5)
    np.testing.assert_allclose(prepared.splits.train.x.mean(), 0.0, atol=1e-5)
    np.testing.assert_allclose(prepared.splits.val.x,
                               prepared.normalization.transform_inputs(ds.x[val_index]), atol=1e-6)
    np.testing.assert_allclose(prepared.normalization.inverse_targets(prepared.splits.val.y),
                               ds.y[val_index], atol=1e-5)
    plain = prepare(ds, {"standardize": False})
    assert plain.normalization.inputs is None
    np.testing.assert_array_equal(plain.splits.train.x, ds.x[split_indices(ds)[0]])


def test_split_settings_round_trip_and_validation():
    settings = SplitSettings(val_fraction=0.1, test_fraction=0.1, seed=5, stratify=False)
    assert SplitSettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings
    assert SplitSettings.from_dict(None) == SplitSettings()
    with pytest.raises(DataError, match="unknown key.*'val_frac'"):
        SplitSettings.from_dict({"val_frac": 0.1})
    with pytest.raises(DataError, match="'val_fraction' must be a number in"):
        SplitSettings.from_dict({"val_fraction": "0.1"})
    with pytest.raises(DataError, match="'seed' must be a whole number"):
        SplitSettings(seed=-1)


def test_fitting_a_large_split_takes_no_float64_copy_of_it():
    """MNIST's 60,000 images are 188 MiB in float32; a float64 copy to fit the statistics would be
    376 MiB more. Fitting works over chunks, and the statistics equal numpy's two-pass ones."""
    import tracemalloc

    x = np.random.default_rng(0).random((8000, 784), dtype=np.float32)   # 24 MiB
    tracemalloc.start()
    try:
        fitted = Standardizer.fit(x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 * 2**20, f"fitting 24 MiB of float32 peaked at {peak / 2**20:.0f} MiB"
    np.testing.assert_allclose(fitted.mean, x.astype(np.float64).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(fitted.std, x.astype(np.float64).std(axis=0), rtol=1e-6)
