"""Seeded train / validation / test splits, stratified by class for classification."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .dataset import ArrayDataset, DataError


class Splits(NamedTuple):
    train: ArrayDataset
    val: ArrayDataset
    test: ArrayDataset


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    for label, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise DataError(f"{label} must lie in [0, 1), got {value!r}")
    if val_fraction + test_fraction >= 1.0:
        raise DataError(f"val_fraction + test_fraction must leave samples to train on; got "
                        f"{val_fraction} + {test_fraction}")


def _allocate(sizes: np.ndarray, fraction: float, total: int) -> np.ndarray:
    """Split ``total`` across groups in proportion to ``sizes`` (largest remainder), so the
    overall count is exact while each group gets its share."""
    quotas = sizes * fraction
    counts = np.floor(quotas).astype(np.int64)
    short = total - counts.sum()
    if short > 0:
        order = np.argsort(-(quotas - counts), kind="stable")
        counts[order[:short]] += 1
    return np.minimum(counts, sizes)


def split_indices(ds: ArrayDataset, val_fraction: float = 0.2, test_fraction: float = 0.0,
                  seed: int = 0, stratify: bool | None = None):
    """(train, val, test) index arrays, each sorted; the same arguments give the same split.

    A dataset with its own held-out part (``ds.held_out``: its last samples, e.g. MNIST's official
    test images) validates on exactly that part, whatever ``val_fraction`` says; a test fraction is
    then taken from the rest as usual."""
    _check_fractions(val_fraction, test_fraction)
    held = int(getattr(ds, "held_out", 0) or 0)
    if held:
        rest = len(ds) - held
        train, _, test = _split(ds.y[:rest], ds, 0.0, test_fraction, seed, stratify)
        return train, np.arange(rest, len(ds), dtype=np.int64), test
    return _split(ds.y, ds, val_fraction, test_fraction, seed, stratify)


def _split(y: np.ndarray, ds: ArrayDataset, val_fraction: float, test_fraction: float, seed: int,
           stratify: bool | None):
    n = len(y)
    if stratify is None:
        stratify = ds.task == "classification"
    if stratify and ds.task != "classification":
        raise DataError(f"dataset '{ds.name}' is a regression dataset; it cannot be stratified")
    groups = ([np.flatnonzero(y == k) for k in range(ds.output_dim)] if stratify
              else [np.arange(n)])
    groups = [g for g in groups if len(g)]
    sizes = np.array([len(g) for g in groups], dtype=np.int64)

    def wanted(fraction):   # at least one sample whenever a fraction is asked for
        return 0 if fraction == 0 else max(1, int(round(n * fraction)))

    n_test = _allocate(sizes, test_fraction, wanted(test_fraction))
    n_val = np.minimum(_allocate(sizes, val_fraction, wanted(val_fraction)), sizes - n_test)
    rng = np.random.default_rng(seed)
    train, val, test = [], [], []
    for group, t, v in zip(groups, n_test, n_val):
        shuffled = rng.permutation(group)
        test.append(shuffled[:t])
        val.append(shuffled[t:t + v])
        train.append(shuffled[t + v:])
    train, val, test = (np.sort(np.concatenate(part)) if part else np.zeros(0, np.int64)
                        for part in (train, val, test))
    if len(train) == 0:
        raise DataError(f"dataset '{ds.name}' has {n} samples: too few to keep any for training "
                        f"after val_fraction={val_fraction}, test_fraction={test_fraction}")
    return train, val, test


def split_dataset(ds: ArrayDataset, val_fraction: float = 0.2, test_fraction: float = 0.0,
                  seed: int = 0, stratify: bool | None = None) -> Splits:
    """Train / validation / test datasets (``stratify`` defaults to True for classification, so
    every split keeps the class proportions). An unused split is an empty dataset."""
    return subsets(ds, split_indices(ds, val_fraction, test_fraction, seed, stratify))


def subsets(ds: ArrayDataset, indices) -> Splits:
    """The train / validation / test datasets of ``split_indices``' (train, val, test) arrays."""
    train, val, test = indices
    return Splits(ds.subset(train, f"{ds.name} (train)"), ds.subset(val, f"{ds.name} (validation)"),
                  ds.subset(test, f"{ds.name} (test)"))
